using Dream.Core.Numerics;
using Dream.Kernels.Ilgpu;
using ILGPU.Runtime;
using FsCheck;
using FsCheck.Fluent;
using static Dream.Tests.Ilgpu.IlgpuCheck;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// The tensor-core linear layer (bf16 x and W, f32 accumulation, three epilogues) against Dream.Reference.Linear
/// (and Reference.SwiGlu) on bf16-exact inputs, so the only differences are summation order and rounding. On
/// CUDA this runs the mma.sync kernel and, on an H100/H200, the wgmma kernel (WarpGroupLinear), elsewhere the
/// mma.sync kernel's portable fallback. Shapes cross the 128×128 block edges
/// and the 32-wide In step, including one token, a single step of In (fewer steps than pipeline stages) and
/// feature counts that leave partial warps; split-K with 1–3 slices of In (partials added in slice order by the
/// reduce pass, so the bound below covers it: only the order of the additions changes). x and W sit in buffers with
/// 64 more rows of random values, which the kernels may read but no output may take in, and y between guard values.
///
/// Tolerances: products of two bf16 values are exact in float32, so only the additions round. Tensor cores may
/// truncate instead of rounding to nearest (at most 1 ulp = 2u per addition), so the sum is within
/// γ'_In·Σ|x·w| with γ'_n = n·2u/(1 − n·2u) (Higham §3.1 with unit roundoff 2u); the bias or residual add rounds
/// once more (2u·|result|). SwiGLU's output is rounded to bf16 once (half an ulp: at most 2^-8 relative, bf16
/// keeping 8 significant bits), after silu(g)·u propagated the sum errors of g and u (|silu'| ≤ 1.1) and the
/// float32 evaluation's own: in the wgmma kernel ex2.approx and div.approx (2 ulp each), the add and the final
/// multiply (half an ulp each), 5 ulp = 10u of |silu(g)·u| ≤ |g·u| — 12u allowed.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class TensorCoreLinearTests
{
    /// <param name="YOffset">Elements of y's buffer before the output. SwiGLU: 2 puts y 4- but not 16-byte aligned, where
    /// TMA cannot store, so the epilogue stores from registers. f32: 4 keeps y 16-byte aligned (staged where the tile
    /// stages), 2 puts it 8- but not 16-byte aligned (register stores).</param>
    public sealed record Case(int Tokens, int In, int Out, LinearEpilogue Epilogue, bool Bias, int Splits, TensorCoreKernel Kernel, int Seed, int YOffset = 0);

    /// <summary>
    /// Where the device has the wgmma kernel, a third of the cases run the mma.sync kernel (In a multiple of 32,
    /// blocks of 128 × 128, 1–5 steps) and two thirds the wgmma kernel with one of its tiles (In a multiple of 64,
    /// 1–18 steps: fewer steps than any ring's stages, and enough for every ring to wrap twice, so each stage's
    /// mbarrier is waited on with both parities; blocks of 128 or 192 tokens × 112–256 features, and the token-column
    /// tiles — 160 tokens × 192 or 128 W rows — which run SwiGLU unsplit and the f32 epilogues split into 2 or 3
    /// slices, at least 2 steps, their partial sums transposed back to token-major). In two of five wgmma cases at most 1–3
    /// groups are launched, so each walks several tiles (TileWalk): its ring runs on across the tiles' edges, the
    /// copies of the next tile (or the next split-K slice) start under this one's last steps, and the accumulators
    /// start from zero again for each tile.
    /// Elsewhere every case runs mma.sync (or its portable fallback).
    /// </summary>
    private static Arbitrary<Case> Cases(bool hasWarpGroup) =>
        Cases(hasWarpGroup ? Gen.Elements([TensorCoreKernel.MmaSync, TensorCoreKernel.MmaSync, TensorCoreKernel.MmaSync,
            .. WarpGroupTile.Carried.Select(TensorCoreKernel.Wgmma)]) : Gen.Constant(TensorCoreKernel.MmaSync));

    private static Arbitrary<Case> Cases(Gen<TensorCoreKernel> kernels, Gen<LinearEpilogue>? epilogues = null, bool unsplit = false, int outMultiple = 1) =>
        (from kernel in kernels
         let tile = kernel.Tile
         from tokens in Around(tile?.Tokens ?? TensorCoreLinear.TileTokens) from steps in Gen.Choose(tile is { TokenColumns: true } ? 2 : 1, tile is null ? 5 : 18)
         from epilogue in epilogues ?? Gen.Elements(LinearEpilogue.Store, LinearEpilogue.AddInto, LinearEpilogue.SwiGlu)
         from outF in epilogue == LinearEpilogue.SwiGlu ? Gen.Choose(1, (tile?.Features ?? TensorCoreLinear.TileFeatures) / 8 + 4).Select(b => 16 * b)
             : Around(tile?.Features ?? TensorCoreLinear.TileFeatures).Select(o => (o + outMultiple - 1) / outMultiple * outMultiple)
         from bias in Gen.Elements(false, true) from splits in Gen.Elements(1, 1, 2, 3) from seed in Seed
         from groups in Gen.Elements(0, 0, 1, 2, 3)
         from yOffset in Gen.Elements(0, 0, 2) from f32Offset in Gen.Elements(0, 2, 4)
         select new Case(tokens, (tile is null ? TensorCoreLinear.TileIn : WarpGroupLinear.TileIn) * steps, outF, epilogue,
             bias && epilogue == LinearEpilogue.Store,
             tile is { TokenColumns: true } ? (epilogue == LinearEpilogue.SwiGlu ? 1 : Math.Clamp(splits, 2, steps)) : unsplit ? 1 : Math.Min(splits, steps),
             tile is null || groups == 0 ? kernel : kernel.WithMaxGroups(groups), seed, epilogue == LinearEpilogue.SwiGlu ? yOffset : f32Offset)).ToArbitrary();

    private static double GammaTruncating(int n) => n * 2 * U / (1 - n * 2 * U);

    [IlgpuProperty(MaxTest = 20)]
    public Property TensorCoreLinearMatchesReference() => Prop.ForAll(Cases(IlgpuTestDevice.Kernels.WarpGroupLinear is not null), MatchesReference);

    /// <summary>
    /// The same twin check drawn only from the token-column tiles (where the device has the wgmma kernel; elsewhere
    /// the cases run mma.sync): their f32 epilogues are split-K partial sums transposed back to token-major, which
    /// the main property reaches in about one case of its twenty.
    /// </summary>
    [IlgpuProperty(MaxTest = 12)]
    public Property TokenColumnTilesMatchReference() => Prop.ForAll(
        Cases(IlgpuTestDevice.Kernels.WarpGroupLinear is not null
            ? Gen.Elements(WarpGroupTile.TokenColumnTiles.ToArray().Select(TensorCoreKernel.Wgmma).ToArray())
            : Gen.Constant(TensorCoreKernel.MmaSync)), MatchesReference);

    /// <summary>
    /// The same twin check drawn only from the SwiGLU products whose outputs are whole 32-column boxes (the token-row
    /// tiles 128, 192 and 256 wide, and the token-column tiles). With y 16-byte aligned their outputs are staged in
    /// shared memory and leave by TMA box stores, which write only inside [T, F] (the rows and columns past it, in the
    /// tile's last boxes, are clipped); in a third of the cases y starts 4 bytes past that, where TMA cannot store, and
    /// the same tiles store from registers. Guard values before and after y check both. Where the device has no wgmma
    /// kernel the cases run mma.sync.
    /// </summary>
    [IlgpuProperty(MaxTest = 12)]
    public Property StagedSwiGluTilesMatchReference() => Prop.ForAll(
        Cases(IlgpuTestDevice.Kernels.WarpGroupLinear is not null
            ? Gen.Elements([.. WarpGroupTile.All.ToArray().Where(t => t.Width % 64 == 0).Select(TensorCoreKernel.Wgmma),
                .. WarpGroupTile.TokenColumnTiles.ToArray().Select(TensorCoreKernel.Wgmma)])
            : Gen.Constant(TensorCoreKernel.MmaSync), Gen.Constant(LinearEpilogue.SwiGlu)), MatchesReference);

    /// <summary>
    /// The same twin check drawn only from unsplit f32 products (bias store, residual add) of the token-row tiles, Out
    /// a multiple of 4: their outputs are staged in shared memory in rounds and leave by TMA box stores, or box
    /// reduce-adds into y for the residual, which touch only [T, Out] — checked by guard values before and after y
    /// (x and W carry rows of random values past T and Out, as in every case). In a third of the cases y
    /// is 8- but not 16-byte aligned and the same tiles store from registers. Where the device has no wgmma kernel the
    /// cases run mma.sync.
    /// </summary>
    [IlgpuProperty(MaxTest = 12)]
    public Property StagedF32TilesMatchReference() => Prop.ForAll(
        Cases(IlgpuTestDevice.Kernels.WarpGroupLinear is not null
            ? Gen.Elements(WarpGroupTile.All.ToArray().Select(TensorCoreKernel.Wgmma).ToArray())
            : Gen.Constant(TensorCoreKernel.MmaSync), Gen.Elements(LinearEpilogue.Store, LinearEpilogue.AddInto), unsplit: true, outMultiple: 4),
        MatchesReference);

    private static void MatchesReference(Case c)
    {
        var random = new Random(c.Seed);
        var kernels = IlgpuTestDevice.Kernels;
        var acc = kernels.Accelerator;
        ushort[] xBits = Bf16Values(random, c.Tokens * c.In);
        ushort[] wBits = Bf16Values(random, c.Out * c.In);
        float[] x = Widen(xBits), w = Widen(wBits);
        double gamma = GammaTruncating(c.In);
        // x and W go up with 64 more rows of random values: rows past T and Out are read (the kernels' descriptors
        // cover the whole views), but no output may take them in.
        const int ExtraRows = 64;
        using var xBuffer = Upload(acc, [.. xBits, .. Bf16Values(random, ExtraRows * c.In)]);
        ushort[] extraW = Bf16Values(random, ExtraRows * c.In);

        if (c.Epilogue == LinearEpilogue.SwiGlu)
        {
            // The reference multiplies gate and up separately; the kernel reads them interleaved.
            int f = c.Out / 2;
            float[] gateW = w[..(f * c.In)], upW = w[(f * c.In)..];
            var gate = new float[c.Tokens * f];
            var up = new float[c.Tokens * f];
            var expected = new float[c.Tokens * f];
            Dream.Reference.Linear.Forward(x, gateW, null, gate, c.Tokens, c.In, f);
            Dream.Reference.Linear.Forward(x, upW, null, up, c.Tokens, c.In, f);
            Dream.Reference.SwiGlu.Forward(gate, up, expected, c.Tokens * f);
            ushort[] interleaved = TensorCoreLinear.InterleaveGateUp(wBits.AsSpan(0, f * c.In), wBits.AsSpan(f * c.In), f, c.In);
            using var wBuffer = Upload(acc, [.. interleaved, .. extraW]);
            // y [T, F] at YOffset, guard values before and after it that no store may touch.
            const int Guard = 256;
            const ushort GuardBits = 0x7FC1;   // a NaN the epilogue never writes
            int length = c.YOffset + expected.Length + Guard;
            using var y = Upload(acc, Enumerable.Repeat(GuardBits, length).ToArray());
            using var workspace = acc.Allocate1D<float>((long)c.Splits * c.Tokens * c.Out);
            TensorCoreLinear.Forward(kernels, xBuffer.View, wBuffer.View, null, LinearEpilogue.SwiGlu, default, y.View.SubView(c.YOffset, expected.Length), c.Tokens, c.In, c.Out,
                workspace.View, c.Splits, c.Kernel);
            var allBits = new ushort[length];
            y.View.CopyToCPU(acc.DefaultStream, allBits);
            acc.Synchronize();
            Assert.True(allBits[..c.YOffset].All(b => b == GuardBits) && allBits[(c.YOffset + expected.Length)..].All(b => b == GuardBits),
                $"{c}: a store landed outside y [{c.Tokens}, {f}]");
            var actualBits = allBits[c.YOffset..(c.YOffset + expected.Length)];
            Close(c.ToString(), actualBits.Select(BFloat16.ToFloat).ToArray(), expected, i =>
            {
                int t = i / f, o = i % f;
                double gateError = gamma * MagnitudeOfDot(x, gateW, t, o, c.In), upError = gamma * MagnitudeOfDot(x, upW, t, o, c.In);
                double silu = Math.Abs(gate[i] / (1 + Math.Exp(-gate[i])));
                return 1e-30 + Math.Pow(2, -8) * Math.Abs(expected[i]) + 1.1 * gateError * Math.Abs(up[i]) + silu * upError
                    + 12 * U * Math.Abs(gate[i] * (double)up[i]);
            });
        }
        else
        {
            float[]? bias = c.Bias ? Values(random, c.Out) : null;
            float[] initial = c.Epilogue == LinearEpilogue.AddInto ? Values(random, c.Tokens * c.Out) : new float[c.Tokens * c.Out];
            var product = new float[c.Tokens * c.Out];
            Dream.Reference.Linear.Forward(x, w, bias, product, c.Tokens, c.In, c.Out);
            float[] expected = product.Select((p, i) => c.Epilogue == LinearEpilogue.AddInto ? initial[i] + p : p).ToArray();
            using var wBuffer = Upload(acc, [.. wBits, .. extraW]);
            using var biasBuffer = Upload(acc, bias ?? []);
            // y [T, Out] at YOffset, guard values before and after it that no store or reduce-add may touch: finite,
            // so that adding to one changes it.
            const int Guard = 256;
            const float GuardValue = 1234.5f;
            int length = c.YOffset + expected.Length + Guard;
            using var y = Upload(acc, [.. Enumerable.Repeat(GuardValue, c.YOffset), .. initial, .. Enumerable.Repeat(GuardValue, Guard)]);
            using var workspace = acc.Allocate1D<float>((long)c.Splits * c.Tokens * c.Out);
            TensorCoreLinear.Forward(kernels, xBuffer.View, wBuffer.View, bias is null ? null : biasBuffer.View, c.Epilogue, y.View.SubView(c.YOffset, expected.Length), default,
                c.Tokens, c.In, c.Out, workspace.View, c.Splits, c.Kernel);
            float[] all = Download(acc, y.View, length);
            Assert.True(all[..c.YOffset].All(v => v == GuardValue) && all[(c.YOffset + expected.Length)..].All(v => v == GuardValue),
                $"{c}: a store landed outside y [{c.Tokens}, {c.Out}]");
            Close(c.ToString(), all[c.YOffset..(c.YOffset + expected.Length)], expected, i =>
                1e-30 + gamma * MagnitudeOfDot(x, w, i / c.Out, i % c.Out, c.In) + 4 * U * Math.Abs(expected[i]));
        }
    }

    private static double MagnitudeOfDot(float[] x, float[] w, int t, int o, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.Abs((double)x[t * n + i] * w[o * n + i]);
        return sum;
    }

    [IlgpuFact]
    public void RejectsAnInWidthThatIsNotAMultipleOfTheStep()
    {
        var kernels = IlgpuTestDevice.Kernels;
        using var buffer = kernels.Accelerator.Allocate1D<ushort>(64);
        var e = Assert.Throws<ArgumentException>(() => TensorCoreLinear.Forward(kernels, buffer.View, buffer.View, null, LinearEpilogue.Store,
            kernels.Dummy, default, 1, 24, 1));
        Assert.Contains("multiple of 32", e.Message);
    }

    /// <summary>
    /// The Hopper kernel's tile and split choice on a 132-multiprocessor H100/H200 at Dream 7B's products: what the
    /// model picks, which is the measured fastest of the tiles, or within 3% of it, in the fifth session's table
    /// on an H200 (docs/benchmarks.md) — the narrow tiles where a product is small (no split, no reduce), 128 × 256
    /// for gate+up at 2048 — and for gate+up at 320 tokens the token-column tile: two columns of 160 tokens × 198
    /// blocks of 192 features, three full waves with no padded token (sixth session); O and down at 2048 tokens take
    /// 128 × 224, 16 × 16 groups in two full waves (seventh session, run 44: 0.104 and 0.378 ms against 0.115 and
    /// 0.410 with 128 × 256); at 512 tokens QKV takes 128 × 144 and O and down 128 × 112, one wave of 128 groups each
    /// (eighth session, run 58: 0.032, 0.030 and 0.102 ms against 0.037, 0.032 and 0.110 with the tiles before). At
    /// 320 tokens QKV's 128 × 112 is the model's one miss by more than 5% (0.029–0.030 ms against 0.027 for 128 × 128).
    /// Down at 320 tokens takes 128 W rows × 160 token columns in two slices, as cuBLAS does (twelfth session, run 93
    /// on an H100: 0.081–0.084 ms against 0.100–0.101 for 192 × 112 in two slices).
    /// </summary>
    [Theory]
    [InlineData(320, 3584, 4608, LinearEpilogue.Store, 2, 112, 1)]
    [InlineData(320, 3584, 3584, LinearEpilogue.AddInto, 2, 112, 1)]
    [InlineData(320, 3584, 37888, LinearEpilogue.SwiGlu, 3, 160, 1, true)]
    [InlineData(320, 18944, 3584, LinearEpilogue.AddInto, 2, 160, 2, true)]
    [InlineData(256, 3584, 152064, LinearEpilogue.Store, 2, 256, 1)]
    [InlineData(512, 3584, 4608, LinearEpilogue.Store, 2, 144, 1)]
    [InlineData(512, 3584, 3584, LinearEpilogue.AddInto, 2, 112, 1)]
    [InlineData(512, 3584, 37888, LinearEpilogue.SwiGlu, 2, 192, 1)]
    [InlineData(512, 18944, 3584, LinearEpilogue.AddInto, 2, 112, 1)]
    [InlineData(2048, 3584, 4608, LinearEpilogue.Store, 3, 192, 1)]
    [InlineData(2048, 3584, 3584, LinearEpilogue.AddInto, 2, 224, 1)]
    [InlineData(2048, 3584, 37888, LinearEpilogue.SwiGlu, 2, 256, 1)]
    [InlineData(2048, 18944, 3584, LinearEpilogue.AddInto, 2, 224, 1)]
    public void WarpGroupTileIsTheModelsFastest(int tokens, int inFeatures, int outFeatures, LinearEpilogue epilogue, int warpGroups, int width, int split,
        bool tokenColumns = false)
    {
        var (tile, chosenSplit) = TensorCoreLinear.ChooseTile(tokens, inFeatures, outFeatures, epilogue, 132);
        Assert.Equal(new WarpGroupTile(warpGroups, width, tokenColumns), tile);
        Assert.Equal(split, chosenSplit);
    }

    /// <summary>A caller that asks for split-K gets a token-row tile for the SwiGLU product: token-column tiles run it unsplit.</summary>
    [Fact]
    public void AskedSplitRulesOutTokenColumnTiles()
    {
        Assert.True(TensorCoreLinear.ChooseTile(320, 3584, 37888, LinearEpilogue.SwiGlu, 132).Tile.TokenColumns);
        var (tile, _) = TensorCoreLinear.ChooseTile(320, 3584, 37888, LinearEpilogue.SwiGlu, 132, tokenColumns: false);
        Assert.Equal(new WarpGroupTile(3, 192), tile);
    }

    /// <summary>
    /// Down at 320 tokens takes the 128-row token-column tile in two slices (<see cref="WarpGroupTileIsTheModelsFastest"/>);
    /// without a workspace for two slices, or when the caller asks for no split, it gets a token-row tile:
    /// token-column tiles write f32 outputs only as partial sums.
    /// </summary>
    [Fact]
    public void DownAt320TokensRunsTokenColumnsInTwoSlices()
    {
        Assert.False(TensorCoreLinear.ChooseTile(320, 18944, 3584, LinearEpilogue.AddInto, 132, maxSplit: 1).Tile.TokenColumns);
        Assert.False(TensorCoreLinear.ChooseTile(320, 18944, 3584, LinearEpilogue.AddInto, 132, splitTokenColumns: false).Tile.TokenColumns);
    }

    /// <summary>
    /// The choice runs for every product of every denoising step, so it allocates nothing (a foreach over the tiles
    /// as an interface allocated its enumerator on each call).
    /// </summary>
    [Fact]
    public void ChoosingATileAllocatesNothing()
    {
        long bytes = Dream.Tests.Support.Allocations.Fewest(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                TensorCoreLinear.ChooseTile(320, 3584, 37888, LinearEpilogue.SwiGlu, 132);
                TensorCoreLinear.ChooseTile(320, 18944, 3584, LinearEpilogue.AddInto, 132);   // the split token-column path
            }
        });
        Assert.Equal(0, bytes);
    }

    /// <summary>The model ranks by whole waves: one more group than a wave holds costs a second wave.</summary>
    [Fact]
    public void PredictionCountsWholeWaves()
    {
        var tile = new WarpGroupTile(2, 256);
        double oneWave = TensorCoreLinear.PredictMicroseconds(tile, 1, 128, 3584, 132 * 256, LinearEpilogue.Store, 132);
        double twoWaves = TensorCoreLinear.PredictMicroseconds(tile, 1, 128, 3584, 133 * 256, LinearEpilogue.Store, 132);
        Assert.Equal(2 * oneWave, twoWaves, 9);
        Assert.True(TensorCoreLinear.PredictMicroseconds(tile, 1, 128, 7168, 132 * 256, LinearEpilogue.Store, 132) > oneWave);
    }

    /// <summary>The rings fill a multiprocessor's 227 KB: 4 stages for the 256-wide tiles, deeper for the narrower ones.</summary>
    [Theory]
    [InlineData(2, 256, 4)]
    [InlineData(3, 256, 4)]
    [InlineData(2, 192, 5)]
    [InlineData(3, 192, 4)]
    [InlineData(2, 224, 5)]
    [InlineData(3, 224, 4)]
    [InlineData(2, 128, 7)]
    [InlineData(3, 128, 5)]
    [InlineData(2, 112, 7)]
    [InlineData(3, 112, 5)]
    [InlineData(2, 144, 6)]
    [InlineData(3, 144, 5)]
    [InlineData(3, 160, 5, true)]
    public void WarpGroupRingsFillSharedMemory(int warpGroups, int width, int stages, bool tokenColumns = false)
    {
        var tile = new WarpGroupTile(warpGroups, width, tokenColumns);
        Assert.Equal(stages, tile.Stages);
        Assert.InRange(tile.SharedBytes, 1, WarpGroupTile.MaxSharedBytes);
        Assert.True(tile.SharedBytes + tile.StageBytes + 8 > WarpGroupTile.MaxSharedBytes, "one more stage would still fit");
    }

    /// <summary>A tile can be forced only if the kernel carries it: every carried tile validates; a width without a
    /// main loop, a warp-group count outside 2–3, or a token-column tile of another shape is refused by name.</summary>
    [Fact]
    public void OnlyCarriedTilesValidate()
    {
        foreach (var tile in WarpGroupTile.Carried) tile.Validate();
        Assert.Contains(new WarpGroupTile(2, 224), WarpGroupTile.Carried);
        foreach (var tile in new[] { new WarpGroupTile(2, 160), new WarpGroupTile(2, 96), new WarpGroupTile(4, 128), new WarpGroupTile(1, 256), new WarpGroupTile(2, 128, TokenColumns: true) })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(tile.Validate);
            Assert.Contains("the warp-group kernel runs", e.Message);
        }
    }
}
