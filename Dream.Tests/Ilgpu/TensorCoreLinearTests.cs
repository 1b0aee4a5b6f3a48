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
/// reduce pass, so the bound below covers it: only the order of the additions changes).
///
/// Tolerances: products of two bf16 values are exact in float32, so only the additions round. Tensor cores may
/// truncate instead of rounding to nearest (at most 1 ulp = 2u per addition), so the sum is within
/// γ'_In·Σ|x·w| with γ'_n = n·2u/(1 − n·2u) (Higham §3.1 with unit roundoff 2u); the bias or residual add rounds
/// once more (2u·|result|). SwiGLU's output is rounded to bf16 once (half an ulp: at most 2^-8 relative, bf16
/// keeping 8 significant bits), after silu(g)·u propagated the sum errors of g and u (|silu'| ≤ 1.1) and exp's few ulps.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class TensorCoreLinearTests
{
    public sealed record Case(int Tokens, int In, int Out, LinearEpilogue Epilogue, bool Bias, int Splits, TensorCoreKernel Kernel, int Seed);

    /// <summary>
    /// Half the cases run the mma.sync kernel (In a multiple of 32, blocks of 128 × 128), half the wgmma kernel
    /// where the device has one (In a multiple of 64 — 1 to 6 steps, so fewer steps than its 4 stages too — and
    /// blocks of 128 or 192 × 256).
    /// </summary>
    private static Arbitrary<Case> Cases(bool hasWarpGroup) =>
        (from kernel in hasWarpGroup ? Gen.Elements(TensorCoreKernel.MmaSync, TensorCoreKernel.MmaSync, TensorCoreKernel.Wgmma128, TensorCoreKernel.Wgmma192)
             : Gen.Constant(TensorCoreKernel.MmaSync)
         let warpGroup = kernel != TensorCoreKernel.MmaSync
         from tokens in Around(warpGroup ? 192 : TensorCoreLinear.TileTokens) from steps in Gen.Choose(1, warpGroup ? 6 : 5)
         from epilogue in Gen.Elements(LinearEpilogue.Store, LinearEpilogue.AddInto, LinearEpilogue.SwiGlu)
         from outF in epilogue == LinearEpilogue.SwiGlu ? Gen.Choose(1, warpGroup ? 36 : 18).Select(b => 16 * b)
             : Around(warpGroup ? WarpGroupLinear.TileFeatures : TensorCoreLinear.TileFeatures)
         from bias in Gen.Elements(false, true) from splits in Gen.Elements(1, 1, 2, 3) from seed in Seed
         select new Case(tokens, (warpGroup ? WarpGroupLinear.TileIn : TensorCoreLinear.TileIn) * steps, outF, epilogue,
             bias && epilogue == LinearEpilogue.Store, Math.Min(splits, steps), kernel, seed)).ToArbitrary();

    private static double GammaTruncating(int n) => n * 2 * U / (1 - n * 2 * U);

    [IlgpuProperty(MaxTest = 20)]
    public Property TensorCoreLinearMatchesReference() => Prop.ForAll(Cases(IlgpuTestDevice.Kernels.WarpGroupLinear is not null), c =>
    {
        var random = new Random(c.Seed);
        var kernels = IlgpuTestDevice.Kernels;
        var acc = kernels.Accelerator;
        ushort[] xBits = Bf16Values(random, c.Tokens * c.In);
        ushort[] wBits = Bf16Values(random, c.Out * c.In);
        float[] x = Widen(xBits), w = Widen(wBits);
        double gamma = GammaTruncating(c.In);

        using var xBuffer = Upload(acc, xBits);
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
            using var wBuffer = Upload(acc, interleaved);
            using var y = acc.Allocate1D<ushort>(expected.Length);
            using var workspace = acc.Allocate1D<float>((long)c.Splits * c.Tokens * c.Out);
            TensorCoreLinear.Forward(kernels, xBuffer.View, wBuffer.View, null, LinearEpilogue.SwiGlu, default, y.View, c.Tokens, c.In, c.Out,
                workspace.View, c.Splits, c.Kernel);
            var actualBits = new ushort[expected.Length];
            y.View.CopyToCPU(acc.DefaultStream, actualBits);
            acc.Synchronize();
            Close(c.ToString(), actualBits.Select(BFloat16.ToFloat).ToArray(), expected, i =>
            {
                int t = i / f, o = i % f;
                double gateError = gamma * MagnitudeOfDot(x, gateW, t, o, c.In), upError = gamma * MagnitudeOfDot(x, upW, t, o, c.In);
                double silu = Math.Abs(gate[i] / (1 + Math.Exp(-gate[i])));
                return 1e-30 + Math.Pow(2, -8) * Math.Abs(expected[i]) + 1.1 * gateError * Math.Abs(up[i]) + silu * upError
                    + 8 * U * Math.Abs(gate[i] * (double)up[i]);
            });
        }
        else
        {
            float[]? bias = c.Bias ? Values(random, c.Out) : null;
            float[] initial = c.Epilogue == LinearEpilogue.AddInto ? Values(random, c.Tokens * c.Out) : new float[c.Tokens * c.Out];
            var product = new float[c.Tokens * c.Out];
            Dream.Reference.Linear.Forward(x, w, bias, product, c.Tokens, c.In, c.Out);
            float[] expected = product.Select((p, i) => c.Epilogue == LinearEpilogue.AddInto ? initial[i] + p : p).ToArray();
            using var wBuffer = Upload(acc, wBits);
            using var biasBuffer = Upload(acc, bias ?? []);
            using var y = Upload(acc, initial);
            using var workspace = acc.Allocate1D<float>((long)c.Splits * c.Tokens * c.Out);
            TensorCoreLinear.Forward(kernels, xBuffer.View, wBuffer.View, bias is null ? null : biasBuffer.View, c.Epilogue, y.View.SubView(0, expected.Length), default,
                c.Tokens, c.In, c.Out, workspace.View, c.Splits, c.Kernel);
            Close(c.ToString(), Download(acc, y.View, expected.Length), expected, i =>
                1e-30 + gamma * MagnitudeOfDot(x, w, i / c.Out, i % c.Out, c.In) + 4 * U * Math.Abs(expected[i]));
        }
    });

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
    /// The Hopper kernel's tile choice on a 132-multiprocessor H100/H200 at Dream 7B's products, as measured
    /// (docs/benchmarks.md): 192-token tiles only where their grid fills its waves better — the QKV product at 2048
    /// tokens (198 groups in two waves beat 288 in three) — and 128-token tiles everywhere else, including every grid
    /// under one wave.
    /// </summary>
    [Theory]
    [InlineData(2048, 4608, 3)]
    [InlineData(2048, 3584, 2)]
    [InlineData(2048, 37888, 2)]
    [InlineData(512, 4608, 2)]
    [InlineData(512, 3584, 2)]
    [InlineData(512, 37888, 2)]
    [InlineData(256, 152064, 2)]
    public void WarpGroupTileFollowsWaveFill(int tokens, int outFeatures, int expected) =>
        Assert.Equal(expected, WarpGroupLinear.ChooseWarpGroups(tokens, outFeatures, 132));
}
