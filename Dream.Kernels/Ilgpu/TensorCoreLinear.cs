using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// A Hugging Face Linear layer on tensor cores, y = x·Wᵀ (+ b), for bf16 activations and bf16 weights with f32
/// accumulation — the twin of Dream.Reference.Linear applied to bf16-rounded inputs. What happens to the f32
/// result is the epilogue, fused so the product never makes an extra trip through memory:
///   <see cref="LinearEpilogue.Store"/>      y_f32[t, o] = acc + b[o]                      (QKV projection, lm_head)
///   <see cref="LinearEpilogue.AddInto"/>    y_f32[t, o] += acc                            (O and down projections: the residual add)
///   <see cref="LinearEpilogue.SwiGlu"/>     y_bf16[t, j] = bf16(silu(g_j) · u_j)           (gate and up in one product)
/// For SwiGlu the weight holds gate and up rows interleaved in blocks of eight (<see cref="InterleaveGateUp"/>):
/// rows 16j..16j+7 are gate rows 8j..8j+7 and rows 16j+8..16j+15 the matching up rows, so one thread ends up
/// holding both factors of its outputs.
///
/// Work decomposition on CUDA: a group of 128 threads (4 warps) owns a 128-token × 128-feature block of y. It walks
/// In in steps of 32: cp.async copies the x tile [128, 32] and the W tile [128, 32] into dynamic shared memory,
/// three stages deep so two steps of copies are in flight while one is multiplied. Each 64-byte tile row is
/// stored with its four 16-byte chunks XOR-swizzled by (row/2 mod 4), so the eight rows one `ldmatrix` phase reads
/// hit eight different bank groups. Warp w owns rows 64·(w mod 2).. and features 64·(w/2).. of the block: per
/// step it loads, for both 16-wide k halves, four A fragments (m16×k16) and eight B fragments (n8×k16) with
/// `ldmatrix.x4`, then issues 2 × 32 `mma.sync.m16n8k16` into 128 f32 accumulators per thread, kept in PTX registers named in the assembly text
/// (ILGPU does not unroll loops, and C# arrays would live in slow local memory). The block grid runs tokens fastest, so the
/// groups that share a weight tile run together and each weight is read from memory about once.
/// A grid too small to keep two groups on every multiprocessor (the 3584-wide projections at a few hundred tokens)
/// is split along In (split-K, <see cref="SplitsToFillOneWave"/>): slice z of the grid's third axis multiplies its share of
/// In into a workspace, and <see cref="KernelReduce"/> adds the slices in order and applies the epilogue.
/// Everywhere else (the CPU simulator, OpenCL) the same kernel takes a plain fallback: each thread computes whole
/// outputs of the block as f32 dot products of the bf16 inputs, in ascending In order.
///
/// On an H100/H200 <see cref="Forward"/> hands products with In a multiple of 64 to <see cref="WarpGroupLinear"/>
/// (Hopper's wgmma fed by TMA, same epilogues, same split-K reduce); this class's kernel runs everywhere else.
///
/// Requirements: In a multiple of 32 (every Dream shape is), 16-byte aligned rows; any token and feature count.
/// </summary>
public static class TensorCoreLinear
{
    /// <summary>Tokens per group (rows of y).</summary>
    public const int TileTokens = 128;
    /// <summary>Features per group (columns of y; for SwiGlu, interleaved gate+up rows).</summary>
    public const int TileFeatures = 128;
    /// <summary>Slice of In staged per pipeline step.</summary>
    public const int TileIn = 32;
    /// <summary>Pipeline depth: steps of In in shared memory at once.</summary>
    public const int Stages = 3;
    /// <summary>Threads per group on CUDA (4 warps).</summary>
    public const int CudaGroupSize = 128;

    private const int TileBytes = TileTokens * TileIn * 2;                 // 8 KB: one bf16 tile [128, 32]
    private const int StageBytes = 2 * TileBytes;                           // x tile, then W tile
    /// <summary>Dynamic shared memory per group on CUDA: 48 KB, the most a launch gets without raising the limit.</summary>
    public const int SharedBytes = Stages * StageBytes;

    /// <param name="x">bf16 bits [T, In] row-major.</param>
    /// <param name="weight">bf16 bits [Out, In] row-major (for SwiGlu: [2F, In] interleaved, Out = 2F).</param>
    /// <param name="bias">[Out] f32, or null.</param>
    /// <param name="yF32">[T, Out] f32 for Store and AddInto (unused for SwiGlu).</param>
    /// <param name="yBf16">[T, Out/2] bf16 bits for SwiGlu (unused otherwise).</param>
    /// <param name="workspace">f32 scratch for split-K partial sums (<see cref="WorkspaceLength"/>), or empty: no split.</param>
    /// <param name="splits">Split-K count; null chooses (<see cref="ChooseSplits"/>, as many as the workspace holds).</param>
    /// <param name="kernel">Which kernel: <see cref="TensorCoreKernel.Auto"/> (the default) takes <see cref="WarpGroupLinear"/> where the device has it and In allows, with the tile <see cref="ChooseTile"/> picks, else this class's; the others force one (for comparisons and tests).</param>
    public static void Forward(IlgpuKernels kernels, ArrayView<ushort> x, ArrayView<ushort> weight, ArrayView<float>? bias,
        LinearEpilogue epilogue, ArrayView<float> yF32, ArrayView<ushort> yBf16, int tokens, int inFeatures, int outFeatures,
        ArrayView<float> workspace = default, int? splits = null, TensorCoreKernel kernel = default)
    {
        if (tokens == 0 || outFeatures == 0) return;
        if (inFeatures % TileIn != 0)
            throw new ArgumentException($"the tensor-core linear layer needs In to be a multiple of {TileIn}; got {inFeatures}", nameof(inFeatures));
        if (epilogue == LinearEpilogue.SwiGlu && outFeatures % 16 != 0)
            throw new ArgumentException($"the fused SwiGLU product needs 2F to be a multiple of 16; got {outFeatures}", nameof(outFeatures));
        if (x.Length < (long)tokens * inFeatures || weight.Length < (long)outFeatures * inFeatures)
            throw new ArgumentException($"x [{tokens}, {inFeatures}] or W [{outFeatures}, {inFeatures}] is larger than its buffer");

        if (splits is not null && workspace.Length < (long)splits * tokens * outFeatures && splits > 1)
            throw new ArgumentException($"{splits}-way split-K needs a workspace of {(long)splits * tokens * outFeatures} floats", nameof(workspace));
        var (tile, split) = Plan(kernels, tokens, inFeatures, outFeatures, epilogue, kernel, workspace.Length, splits);
        int totalSteps = inFeatures / (tile is null ? TileIn : WarpGroupLinear.TileIn);
        split = Math.Clamp(splits ?? split, 1, totalSteps);
        int stepsPerSplit = (totalSteps + split - 1) / split;
        split = (totalSteps + stepsPerSplit - 1) / stepsPerSplit;
        if (tile is { TokenColumns: true } && epilogue != LinearEpilogue.SwiGlu && split < 2)
            throw new ArgumentException($"token-column tiles ({tile}) write {epilogue} outputs only as split-K partial sums; In = {inFeatures} is {totalSteps} step(s) of {WarpGroupLinear.TileIn}, too few to split", nameof(kernel));

        bool cuda = kernels.IsCuda;
        long xAddress = cuda ? Ptx.DeviceAddress(x) : 0, wAddress = cuda ? Ptx.DeviceAddress(weight) : 0;
        // The CUDA epilogues store neighbouring outputs together (StorePair, StoreSwiGlu).
        if (cuda && (epilogue == LinearEpilogue.SwiGlu ? Ptx.DeviceAddress(yBf16) % 4 != 0 : yF32.Length > 0 && Ptx.DeviceAddress(yF32) % 8 != 0))
            throw new ArgumentException("the linear layer's output must start 4-byte (bf16) or 8-byte (f32) aligned; a sub-view at an odd element offset is not",
                epilogue == LinearEpilogue.SwiGlu ? nameof(yBf16) : nameof(yF32));
        if (cuda && workspace.Length > 0 && Ptx.DeviceAddress(workspace) % 8 != 0)
            throw new ArgumentException("the split-K workspace must start 8-byte aligned", nameof(workspace));
        var biasView = bias ?? kernels.Dummy;
        int hasBias = bias is null ? 0 : 1;
        var f32 = yF32.Length > 0 ? yF32 : kernels.Dummy;
        var bf16 = yBf16.Length > 0 ? yBf16 : kernels.DummyBf16;
        // A split product: each slice of In writes its raw partial sums; one pass adds them in slice order and
        // applies the epilogue.
        int kernelEpilogue = split == 1 ? (int)epilogue : Partial;
        var kernelOutput = split == 1 ? f32 : workspace;
        if (tile is { } warpGroupTile)
            kernels.WarpGroupLinear!.Launch(warpGroupTile, split, kernel.MaxGroups ?? kernels.Accelerator.NumMultiprocessors, biasView, hasBias, kernelEpilogue, kernelOutput, bf16,
                xAddress, x.Length / inFeatures, wAddress, weight.Length / inFeatures, tokens, inFeatures, outFeatures, stepsPerSplit);
        else
        {
            int group = cuda ? CudaGroupSize : kernels.ReductionGroupSize;
            var config = new KernelConfig(
                new Index3D((tokens + TileTokens - 1) / TileTokens, (outFeatures + TileFeatures - 1) / TileFeatures, split),
                new Index3D(group, 1, 1),
                SharedMemoryConfig.RequestDynamic<byte>(cuda ? SharedBytes : 16));
            kernels.TensorCoreLinear(config, x, weight, biasView, hasBias, kernelEpilogue, kernelOutput, bf16, xAddress, wAddress, tokens, inFeatures, outFeatures, stepsPerSplit);
        }
        if (split == 1) return;
        long outputs = epilogue == LinearEpilogue.SwiGlu ? (long)tokens * (outFeatures / 2) : (long)tokens * outFeatures;
        bool quads = epilogue != LinearEpilogue.SwiGlu && outFeatures % 4 == 0 && split <= MaxSplits;
        kernels.TensorCoreLinearReduce((int)(quads ? outputs / 4 : outputs), workspace, split, biasView, hasBias, (int)epilogue, f32, bf16, tokens, outFeatures, quads ? 1 : 0);
    }

    /// <summary>
    /// How <see cref="Forward"/> runs a product: the <see cref="WarpGroupLinear"/> tile, or null for this class's
    /// kernel (the device has no wgmma, In is not a multiple of 64, or mma.sync was asked for), and the split-K count
    /// — never more slices than <paramref name="workspaceLength"/> floats hold partial sums for.
    /// </summary>
    /// <param name="splitsAsked">The split-K count the caller asks for, or null. Token-column tiles run SwiGLU unsplit
    /// and the f32 epilogues split (at least 2): one that cannot be had is not chosen, and refused when forced.</param>
    private static (WarpGroupTile? Tile, int Split) Plan(IlgpuKernels kernels, int tokens, int inFeatures, int outFeatures, LinearEpilogue epilogue,
        TensorCoreKernel kernel, long workspaceLength, int? splitsAsked = null)
    {
        int maxSplit = (int)Math.Clamp(workspaceLength / Math.Max(1L, (long)tokens * outFeatures), 1, MaxSplits);
        int multiprocessors = kernels.Accelerator.NumMultiprocessors;
        if (kernel.ForcesMmaSync || kernels.WarpGroupLinear is null || !WarpGroupLinear.Handles(inFeatures))
        {
            long groups = (long)((tokens + TileTokens - 1) / TileTokens) * ((outFeatures + TileFeatures - 1) / TileFeatures);
            return (null, kernels.IsCuda ? Math.Min(maxSplit, SplitsToFillOneWave(groups, 2L * multiprocessors, inFeatures)) : 1);
        }
        if (kernel.Tile is { } forced)
        {
            if (!forced.TokenColumns)
                return (forced, Math.Min(maxSplit, SplitsToFillOneWave(forced.Groups(tokens, outFeatures), multiprocessors, inFeatures)));
            if (epilogue == LinearEpilogue.SwiGlu && splitsAsked > 1)
                throw new ArgumentException($"token-column tiles ({forced}) run the SwiGLU epilogue with no split-K; asked for {splitsAsked} slices", nameof(kernel));
            if (epilogue != LinearEpilogue.SwiGlu && (splitsAsked == 1 || (splitsAsked is null && maxSplit < 2)))
                throw new ArgumentException($"token-column tiles ({forced}) write {epilogue} outputs only as split-K partial sums: " +
                    (splitsAsked == 1 ? "asked for no split" : $"the workspace ({workspaceLength} floats) holds fewer than two slices of [{tokens}, {outFeatures}]"), nameof(kernel));
            return (forced, TokenColumnSplit(forced, epilogue, tokens, inFeatures, outFeatures, multiprocessors, maxSplit));
        }
        return ChooseTile(tokens, inFeatures, outFeatures, epilogue, multiprocessors, maxSplit,
            tokenColumns: splitsAsked is null or 1, splitTokenColumns: splitsAsked is null or > 1);
    }

    /// <summary>Most split-K slices.</summary>
    private const int MaxSplits = 4;

    /// <summary>Fewest inputs per split-K slice.</summary>
    private const int MinSliceIn = 512;

    /// <summary>
    /// Split-K count for a grid of <paramref name="groups"/> groups when <paramref name="slots"/> fit on the device at
    /// once: a grid well under the slots leaves tensor cores idle (e.g. the 3584-wide O and down projections at 512
    /// tokens made 112 mma.sync groups for 264 slots, the tensor pipe 23% busy), so In is split into ⌊slots / groups⌋
    /// slices (at most 4, each at least 512 wide) so that the split grid still fits in one wave; a split that spills
    /// into a second wave costs more than it gains (measured: 3-way at 512 tokens, 336 mma.sync groups, was slower
    /// than none). Each slice writes raw partial sums; <see cref="KernelReduce"/> adds them in order.
    /// </summary>
    private static int SplitsToFillOneWave(long groups, long slots, int inFeatures) =>
        Math.Max(1, (int)Math.Min(Math.Min(MaxSplits, slots / groups), inFeatures / MinSliceIn));

    /// <summary>
    /// The <see cref="WarpGroupLinear"/> tile and split-K count for a product on <paramref name="multiprocessors"/>
    /// multiprocessors (one group each): the pair <see cref="PredictMicroseconds"/> says is fastest, each tile with the
    /// split that fills one wave (at most <paramref name="maxSplit"/>). The 256-wide tiles make the fewest copies per
    /// multiply-add, the narrower ones more groups (a fuller wave where a product is small, no split and no reduce
    /// pass) and deeper rings; which wins depends on the product — on an H200 at Dream 7B's shapes (docs/benchmarks.md)
    /// 128 × 144 for QKV and 128 × 112 for O and down at 512 tokens (one wave of 128 groups each), 128 × 256 for
    /// gate+up and 128 × 224 for O and down at 2048 (16 × 16 groups: two full waves). The token-column tiles fit a
    /// token count that 64-token rows would pad — 320 tokens are two columns of 160 — and are weighed too: unsplit
    /// for the SwiGLU product (gate+up at 320 tokens), split into at least two slices for the others (down at 320).
    /// </summary>
    /// <param name="tokenColumns">Whether the token-column tiles may be chosen for the SwiGLU product, which they run unsplit (not when the caller asks for split-K).</param>
    /// <param name="splitTokenColumns">Whether they may be chosen for an f32 epilogue, which they run split-K (not when the caller asks for no split).</param>
    public static (WarpGroupTile Tile, int Split) ChooseTile(int tokens, int inFeatures, int outFeatures, LinearEpilogue epilogue,
        int multiprocessors, int maxSplit = MaxSplits, bool tokenColumns = true, bool splitTokenColumns = true)
    {
        (WarpGroupTile Tile, int Split) best = default;
        double fastest = double.PositiveInfinity;
        foreach (var tile in WarpGroupTile.All)
        {
            int split = Math.Min(maxSplit, SplitsToFillOneWave(tile.Groups(tokens, outFeatures), multiprocessors, inFeatures));
            double time = PredictMicroseconds(tile, split, tokens, inFeatures, outFeatures, epilogue, multiprocessors);
            if (time < fastest) (fastest, best) = (time, (tile, split));
        }
        bool swiGlu = epilogue == LinearEpilogue.SwiGlu;
        // A split needs two slices of at least MinSliceIn inputs and a workspace for them.
        if (swiGlu ? !tokenColumns : (!splitTokenColumns || maxSplit < 2 || inFeatures < 2 * MinSliceIn)) return best;
        foreach (var tile in WarpGroupTile.TokenColumnTiles)
        {
            int split = TokenColumnSplit(tile, epilogue, tokens, inFeatures, outFeatures, multiprocessors, maxSplit);
            double time = PredictMicroseconds(tile, split, tokens, inFeatures, outFeatures, epilogue, multiprocessors);
            if (time < fastest) (fastest, best) = (time, (tile, split));
        }
        return best;
    }

    /// <summary>
    /// The split-K count of a token-column tile: none for the SwiGLU product (its epilogue pairs gate and up in the
    /// kernel), otherwise the split that fills one wave but at least 2 (its f32 epilogues write only partial sums), at
    /// most <paramref name="maxSplit"/> where that allows two.
    /// </summary>
    private static int TokenColumnSplit(WarpGroupTile tile, LinearEpilogue epilogue, int tokens, int inFeatures, int outFeatures, int multiprocessors, int maxSplit) =>
        epilogue == LinearEpilogue.SwiGlu ? 1
            : Math.Clamp(SplitsToFillOneWave(tile.Groups(tokens, outFeatures), multiprocessors, inFeatures), 2, Math.Max(2, maxSplit));

    /// <summary>
    /// A model of one <see cref="WarpGroupLinear"/> product's time in µs, fitted to every tile at every Dream 7B product
    /// at 320, 512 and 2048 tokens on an H200 (78 timings, 9% rms error; docs/benchmarks.md, fifth session). The grid
    /// runs in ⌈groups·split / SMs⌉ waves; a group spends 0.33 µs per 64-wide step of In per 128 × 128 of its tile
    /// (per-step work grows with the tile's area), 6.8 µs it cannot overlap (launch, barrier set-up, the first copies'
    /// latency), and an epilogue per 128 × 128 of outputs that depends on what it writes (bias-add stores 6.7 µs,
    /// residual adds 5.5, SwiGLU's bf16 2.2); a split product then reads and writes (split + 2)·T·Out floats in its
    /// reduce pass at 0.33 µs per MB. Only the ranking matters: it picks the measured fastest tile, or one within 3%
    /// of it, for all 13 products measured. The 224-wide tiles came later (seventh session) and were not in the fit:
    /// for O and down at 2048 tokens it predicts 98 and 375 µs for 128 × 224 against 110 and 426 for 128 × 256,
    /// and the card measured 104 and 378 against 115 and 410. Nor were the 112- and 144-wide tiles (eighth session):
    /// checked against every tile at every product at 320, 512, 1024 and 2048 tokens (runs 56–58), it picks the
    /// fastest or one within 5% everywhere but QKV at 320 tokens, where its 128 × 112 ran 0.029–0.030 ms against
    /// 0.027 for 128 × 128 (a refit of the same form to those timings ranked no differently). The fit predates the
    /// walk (<see cref="TileWalk"/>, tenth session), which pays part of the 6.8 µs once per group rather than once per
    /// tile; timed walking, every tile at every product at 320, 512 and 2048 tokens (run 66), the model's pick was
    /// still the fastest tile or the same tile as the fastest row everywhere but down at 320 tokens (0.088 ms against
    /// 0.085 for 128 × 256 in three slices). Down at 320 now takes the token-column tile of 128 W rows in two slices,
    /// as cuBLAS does: 0.081–0.084 ms against 0.100–0.101 for the model's earlier 192 × 112 on an H100 (twelfth
    /// session, run 93).
    /// </summary>
    public static double PredictMicroseconds(WarpGroupTile tile, int split, int tokens, int inFeatures, int outFeatures, LinearEpilogue epilogue, int multiprocessors)
    {
        long groups = tile.Groups(tokens, outFeatures) * split;
        long waves = (groups + multiprocessors - 1) / multiprocessors;
        int steps = (inFeatures / WarpGroupLinear.TileIn + split - 1) / split;
        double area = tile.Tokens * tile.Features / (128.0 * 128.0);
        double epilogueMicroseconds = epilogue switch { LinearEpilogue.Store => 6.7, LinearEpilogue.AddInto => 5.5, _ => 2.2 };
        double perGroup = steps * 0.33 * area + 6.8 + epilogueMicroseconds * area;
        double reduce = split > 1 ? (split + 2) * 4.0 * tokens * outFeatures / 1e6 * 0.33 : 0;
        return waves * perGroup + reduce;
    }

    /// <summary>Split-K count <see cref="Forward"/> would use for this product, given a large enough workspace.</summary>
    public static int ChooseSplits(IlgpuKernels kernels, int tokens, int inFeatures, int outFeatures, LinearEpilogue epilogue, TensorCoreKernel kernel = default) =>
        Plan(kernels, tokens, inFeatures, outFeatures, epilogue, kernel, long.MaxValue).Split;

    /// <summary>The kernel and tile <see cref="Forward"/> would run this product with, for tables: "wgmma 128×256", "mma.sync" or "portable".</summary>
    public static string Describe(IlgpuKernels kernels, int tokens, int inFeatures, int outFeatures, LinearEpilogue epilogue, TensorCoreKernel kernel = default) =>
        Plan(kernels, tokens, inFeatures, outFeatures, epilogue, kernel, long.MaxValue).Tile is { } tile ? $"wgmma {tile}" : kernels.IsCuda ? "mma.sync" : "portable";

    /// <summary>Floats of workspace <see cref="Forward"/> needs for this product with the splits it would choose.</summary>
    public static long WorkspaceLength(IlgpuKernels kernels, int tokens, int inFeatures, int outFeatures, LinearEpilogue epilogue, TensorCoreKernel kernel = default)
    {
        int split = ChooseSplits(kernels, tokens, inFeatures, outFeatures, epilogue, kernel);
        return split > 1 ? (long)split * tokens * outFeatures : 0;
    }

    /// <summary>The internal epilogue of a split product: raw partial sums into the workspace [split, T, Out].</summary>
    private const int Partial = 3;

    /// <summary>
    /// Interleaves gate [F, In] and up [F, In] into the [2F, In] layout the SwiGlu epilogue reads: blocks of eight
    /// gate rows, each followed by the same eight up rows.
    /// </summary>
    public static ushort[] InterleaveGateUp(ReadOnlySpan<ushort> gate, ReadOnlySpan<ushort> up, int features, int inFeatures)
    {
        if (features % 8 != 0) throw new ArgumentException($"F must be a multiple of 8 to interleave gate and up; got {features}", nameof(features));
        var result = new ushort[2L * features * inFeatures];
        for (int source = 0; source < features; source++)
        {
            int gateRow = SwiGluGateRow(source);
            gate.Slice(source * inFeatures, inFeatures).CopyTo(result.AsSpan(gateRow * inFeatures, inFeatures));
            up.Slice(source * inFeatures, inFeatures).CopyTo(result.AsSpan((gateRow + 8) * inFeatures, inFeatures));
        }
        return result;
    }

    // ---------------------------------------------------------------------------------------------------------
    // The kernel. Register names (tcc*, tca*, tcb*) are declared once at the top; the assembly strings below name
    // them literally because PTX has no indexed registers.

    internal const string DeclareRegisters =
        ".reg .f32 tcc<128>;\n.reg .b32 tca<32>;\n.reg .b32 tcb<32>;\n";

    internal const string ZeroAccumulators =
        "mov.f32 tcc0, 0f00000000; mov.f32 tcc1, 0f00000000; mov.f32 tcc2, 0f00000000; mov.f32 tcc3, 0f00000000;\n" +
        "mov.f32 tcc4, 0f00000000; mov.f32 tcc5, 0f00000000; mov.f32 tcc6, 0f00000000; mov.f32 tcc7, 0f00000000;\n" +
        "mov.f32 tcc8, 0f00000000; mov.f32 tcc9, 0f00000000; mov.f32 tcc10, 0f00000000; mov.f32 tcc11, 0f00000000;\n" +
        "mov.f32 tcc12, 0f00000000; mov.f32 tcc13, 0f00000000; mov.f32 tcc14, 0f00000000; mov.f32 tcc15, 0f00000000;\n" +
        "mov.f32 tcc16, 0f00000000; mov.f32 tcc17, 0f00000000; mov.f32 tcc18, 0f00000000; mov.f32 tcc19, 0f00000000;\n" +
        "mov.f32 tcc20, 0f00000000; mov.f32 tcc21, 0f00000000; mov.f32 tcc22, 0f00000000; mov.f32 tcc23, 0f00000000;\n" +
        "mov.f32 tcc24, 0f00000000; mov.f32 tcc25, 0f00000000; mov.f32 tcc26, 0f00000000; mov.f32 tcc27, 0f00000000;\n" +
        "mov.f32 tcc28, 0f00000000; mov.f32 tcc29, 0f00000000; mov.f32 tcc30, 0f00000000; mov.f32 tcc31, 0f00000000;\n" +
        "mov.f32 tcc32, 0f00000000; mov.f32 tcc33, 0f00000000; mov.f32 tcc34, 0f00000000; mov.f32 tcc35, 0f00000000;\n" +
        "mov.f32 tcc36, 0f00000000; mov.f32 tcc37, 0f00000000; mov.f32 tcc38, 0f00000000; mov.f32 tcc39, 0f00000000;\n" +
        "mov.f32 tcc40, 0f00000000; mov.f32 tcc41, 0f00000000; mov.f32 tcc42, 0f00000000; mov.f32 tcc43, 0f00000000;\n" +
        "mov.f32 tcc44, 0f00000000; mov.f32 tcc45, 0f00000000; mov.f32 tcc46, 0f00000000; mov.f32 tcc47, 0f00000000;\n" +
        "mov.f32 tcc48, 0f00000000; mov.f32 tcc49, 0f00000000; mov.f32 tcc50, 0f00000000; mov.f32 tcc51, 0f00000000;\n" +
        "mov.f32 tcc52, 0f00000000; mov.f32 tcc53, 0f00000000; mov.f32 tcc54, 0f00000000; mov.f32 tcc55, 0f00000000;\n" +
        "mov.f32 tcc56, 0f00000000; mov.f32 tcc57, 0f00000000; mov.f32 tcc58, 0f00000000; mov.f32 tcc59, 0f00000000;\n" +
        "mov.f32 tcc60, 0f00000000; mov.f32 tcc61, 0f00000000; mov.f32 tcc62, 0f00000000; mov.f32 tcc63, 0f00000000;\n" +
        "mov.f32 tcc64, 0f00000000; mov.f32 tcc65, 0f00000000; mov.f32 tcc66, 0f00000000; mov.f32 tcc67, 0f00000000;\n" +
        "mov.f32 tcc68, 0f00000000; mov.f32 tcc69, 0f00000000; mov.f32 tcc70, 0f00000000; mov.f32 tcc71, 0f00000000;\n" +
        "mov.f32 tcc72, 0f00000000; mov.f32 tcc73, 0f00000000; mov.f32 tcc74, 0f00000000; mov.f32 tcc75, 0f00000000;\n" +
        "mov.f32 tcc76, 0f00000000; mov.f32 tcc77, 0f00000000; mov.f32 tcc78, 0f00000000; mov.f32 tcc79, 0f00000000;\n" +
        "mov.f32 tcc80, 0f00000000; mov.f32 tcc81, 0f00000000; mov.f32 tcc82, 0f00000000; mov.f32 tcc83, 0f00000000;\n" +
        "mov.f32 tcc84, 0f00000000; mov.f32 tcc85, 0f00000000; mov.f32 tcc86, 0f00000000; mov.f32 tcc87, 0f00000000;\n" +
        "mov.f32 tcc88, 0f00000000; mov.f32 tcc89, 0f00000000; mov.f32 tcc90, 0f00000000; mov.f32 tcc91, 0f00000000;\n" +
        "mov.f32 tcc92, 0f00000000; mov.f32 tcc93, 0f00000000; mov.f32 tcc94, 0f00000000; mov.f32 tcc95, 0f00000000;\n" +
        "mov.f32 tcc96, 0f00000000; mov.f32 tcc97, 0f00000000; mov.f32 tcc98, 0f00000000; mov.f32 tcc99, 0f00000000;\n" +
        "mov.f32 tcc100, 0f00000000; mov.f32 tcc101, 0f00000000; mov.f32 tcc102, 0f00000000; mov.f32 tcc103, 0f00000000;\n" +
        "mov.f32 tcc104, 0f00000000; mov.f32 tcc105, 0f00000000; mov.f32 tcc106, 0f00000000; mov.f32 tcc107, 0f00000000;\n" +
        "mov.f32 tcc108, 0f00000000; mov.f32 tcc109, 0f00000000; mov.f32 tcc110, 0f00000000; mov.f32 tcc111, 0f00000000;\n" +
        "mov.f32 tcc112, 0f00000000; mov.f32 tcc113, 0f00000000; mov.f32 tcc114, 0f00000000; mov.f32 tcc115, 0f00000000;\n" +
        "mov.f32 tcc116, 0f00000000; mov.f32 tcc117, 0f00000000; mov.f32 tcc118, 0f00000000; mov.f32 tcc119, 0f00000000;\n" +
        "mov.f32 tcc120, 0f00000000; mov.f32 tcc121, 0f00000000; mov.f32 tcc122, 0f00000000; mov.f32 tcc123, 0f00000000;\n" +
        "mov.f32 tcc124, 0f00000000; mov.f32 tcc125, 0f00000000; mov.f32 tcc126, 0f00000000; mov.f32 tcc127, 0f00000000;\n";

    // Fragments of both 16-wide k halves of a step (registers tca/tcb 0–15 for the first, 16–31 for the second),
    // so the second half's ldmatrix can overlap the first half's mma. LoadA{h}{i}: a0..a3 of the warp's 16-row
    // slice i; LoadB{h}{p}: b0, b1 of its 8-feature slices 2p and 2p + 1.
    internal const string LoadA00 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca0,tca1,tca2,tca3}, [%0];";
    internal const string LoadA01 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca4,tca5,tca6,tca7}, [%0];";
    internal const string LoadA02 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca8,tca9,tca10,tca11}, [%0];";
    internal const string LoadA03 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca12,tca13,tca14,tca15}, [%0];";
    internal const string LoadB00 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tcb0,tcb1,tcb2,tcb3}, [%0];";
    internal const string LoadB01 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tcb4,tcb5,tcb6,tcb7}, [%0];";
    internal const string LoadB02 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tcb8,tcb9,tcb10,tcb11}, [%0];";
    internal const string LoadB03 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tcb12,tcb13,tcb14,tcb15}, [%0];";
    internal const string LoadA10 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca16,tca17,tca18,tca19}, [%0];";
    internal const string LoadA11 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca20,tca21,tca22,tca23}, [%0];";
    internal const string LoadA12 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca24,tca25,tca26,tca27}, [%0];";
    internal const string LoadA13 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca28,tca29,tca30,tca31}, [%0];";
    internal const string LoadB10 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tcb16,tcb17,tcb18,tcb19}, [%0];";
    internal const string LoadB11 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tcb20,tcb21,tcb22,tcb23}, [%0];";
    internal const string LoadB12 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tcb24,tcb25,tcb26,tcb27}, [%0];";
    internal const string LoadB13 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tcb28,tcb29,tcb30,tcb31}, [%0];";

    // Slice (i, j) of the warp's 64 × 64 tile accumulates in tcc[4·(8i + j) ..]; Multiply{h} uses half h's fragments.
    internal const string Multiply0 =
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc0,tcc1,tcc2,tcc3}, {tca0,tca1,tca2,tca3}, {tcb0,tcb1}, {tcc0,tcc1,tcc2,tcc3};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc4,tcc5,tcc6,tcc7}, {tca0,tca1,tca2,tca3}, {tcb2,tcb3}, {tcc4,tcc5,tcc6,tcc7};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc8,tcc9,tcc10,tcc11}, {tca0,tca1,tca2,tca3}, {tcb4,tcb5}, {tcc8,tcc9,tcc10,tcc11};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc12,tcc13,tcc14,tcc15}, {tca0,tca1,tca2,tca3}, {tcb6,tcb7}, {tcc12,tcc13,tcc14,tcc15};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc16,tcc17,tcc18,tcc19}, {tca0,tca1,tca2,tca3}, {tcb8,tcb9}, {tcc16,tcc17,tcc18,tcc19};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc20,tcc21,tcc22,tcc23}, {tca0,tca1,tca2,tca3}, {tcb10,tcb11}, {tcc20,tcc21,tcc22,tcc23};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc24,tcc25,tcc26,tcc27}, {tca0,tca1,tca2,tca3}, {tcb12,tcb13}, {tcc24,tcc25,tcc26,tcc27};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc28,tcc29,tcc30,tcc31}, {tca0,tca1,tca2,tca3}, {tcb14,tcb15}, {tcc28,tcc29,tcc30,tcc31};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc32,tcc33,tcc34,tcc35}, {tca4,tca5,tca6,tca7}, {tcb0,tcb1}, {tcc32,tcc33,tcc34,tcc35};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc36,tcc37,tcc38,tcc39}, {tca4,tca5,tca6,tca7}, {tcb2,tcb3}, {tcc36,tcc37,tcc38,tcc39};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc40,tcc41,tcc42,tcc43}, {tca4,tca5,tca6,tca7}, {tcb4,tcb5}, {tcc40,tcc41,tcc42,tcc43};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc44,tcc45,tcc46,tcc47}, {tca4,tca5,tca6,tca7}, {tcb6,tcb7}, {tcc44,tcc45,tcc46,tcc47};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc48,tcc49,tcc50,tcc51}, {tca4,tca5,tca6,tca7}, {tcb8,tcb9}, {tcc48,tcc49,tcc50,tcc51};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc52,tcc53,tcc54,tcc55}, {tca4,tca5,tca6,tca7}, {tcb10,tcb11}, {tcc52,tcc53,tcc54,tcc55};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc56,tcc57,tcc58,tcc59}, {tca4,tca5,tca6,tca7}, {tcb12,tcb13}, {tcc56,tcc57,tcc58,tcc59};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc60,tcc61,tcc62,tcc63}, {tca4,tca5,tca6,tca7}, {tcb14,tcb15}, {tcc60,tcc61,tcc62,tcc63};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc64,tcc65,tcc66,tcc67}, {tca8,tca9,tca10,tca11}, {tcb0,tcb1}, {tcc64,tcc65,tcc66,tcc67};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc68,tcc69,tcc70,tcc71}, {tca8,tca9,tca10,tca11}, {tcb2,tcb3}, {tcc68,tcc69,tcc70,tcc71};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc72,tcc73,tcc74,tcc75}, {tca8,tca9,tca10,tca11}, {tcb4,tcb5}, {tcc72,tcc73,tcc74,tcc75};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc76,tcc77,tcc78,tcc79}, {tca8,tca9,tca10,tca11}, {tcb6,tcb7}, {tcc76,tcc77,tcc78,tcc79};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc80,tcc81,tcc82,tcc83}, {tca8,tca9,tca10,tca11}, {tcb8,tcb9}, {tcc80,tcc81,tcc82,tcc83};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc84,tcc85,tcc86,tcc87}, {tca8,tca9,tca10,tca11}, {tcb10,tcb11}, {tcc84,tcc85,tcc86,tcc87};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc88,tcc89,tcc90,tcc91}, {tca8,tca9,tca10,tca11}, {tcb12,tcb13}, {tcc88,tcc89,tcc90,tcc91};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc92,tcc93,tcc94,tcc95}, {tca8,tca9,tca10,tca11}, {tcb14,tcb15}, {tcc92,tcc93,tcc94,tcc95};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc96,tcc97,tcc98,tcc99}, {tca12,tca13,tca14,tca15}, {tcb0,tcb1}, {tcc96,tcc97,tcc98,tcc99};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc100,tcc101,tcc102,tcc103}, {tca12,tca13,tca14,tca15}, {tcb2,tcb3}, {tcc100,tcc101,tcc102,tcc103};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc104,tcc105,tcc106,tcc107}, {tca12,tca13,tca14,tca15}, {tcb4,tcb5}, {tcc104,tcc105,tcc106,tcc107};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc108,tcc109,tcc110,tcc111}, {tca12,tca13,tca14,tca15}, {tcb6,tcb7}, {tcc108,tcc109,tcc110,tcc111};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc112,tcc113,tcc114,tcc115}, {tca12,tca13,tca14,tca15}, {tcb8,tcb9}, {tcc112,tcc113,tcc114,tcc115};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc116,tcc117,tcc118,tcc119}, {tca12,tca13,tca14,tca15}, {tcb10,tcb11}, {tcc116,tcc117,tcc118,tcc119};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc120,tcc121,tcc122,tcc123}, {tca12,tca13,tca14,tca15}, {tcb12,tcb13}, {tcc120,tcc121,tcc122,tcc123};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc124,tcc125,tcc126,tcc127}, {tca12,tca13,tca14,tca15}, {tcb14,tcb15}, {tcc124,tcc125,tcc126,tcc127};\n";
    internal const string Multiply1 =
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc0,tcc1,tcc2,tcc3}, {tca16,tca17,tca18,tca19}, {tcb16,tcb17}, {tcc0,tcc1,tcc2,tcc3};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc4,tcc5,tcc6,tcc7}, {tca16,tca17,tca18,tca19}, {tcb18,tcb19}, {tcc4,tcc5,tcc6,tcc7};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc8,tcc9,tcc10,tcc11}, {tca16,tca17,tca18,tca19}, {tcb20,tcb21}, {tcc8,tcc9,tcc10,tcc11};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc12,tcc13,tcc14,tcc15}, {tca16,tca17,tca18,tca19}, {tcb22,tcb23}, {tcc12,tcc13,tcc14,tcc15};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc16,tcc17,tcc18,tcc19}, {tca16,tca17,tca18,tca19}, {tcb24,tcb25}, {tcc16,tcc17,tcc18,tcc19};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc20,tcc21,tcc22,tcc23}, {tca16,tca17,tca18,tca19}, {tcb26,tcb27}, {tcc20,tcc21,tcc22,tcc23};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc24,tcc25,tcc26,tcc27}, {tca16,tca17,tca18,tca19}, {tcb28,tcb29}, {tcc24,tcc25,tcc26,tcc27};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc28,tcc29,tcc30,tcc31}, {tca16,tca17,tca18,tca19}, {tcb30,tcb31}, {tcc28,tcc29,tcc30,tcc31};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc32,tcc33,tcc34,tcc35}, {tca20,tca21,tca22,tca23}, {tcb16,tcb17}, {tcc32,tcc33,tcc34,tcc35};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc36,tcc37,tcc38,tcc39}, {tca20,tca21,tca22,tca23}, {tcb18,tcb19}, {tcc36,tcc37,tcc38,tcc39};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc40,tcc41,tcc42,tcc43}, {tca20,tca21,tca22,tca23}, {tcb20,tcb21}, {tcc40,tcc41,tcc42,tcc43};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc44,tcc45,tcc46,tcc47}, {tca20,tca21,tca22,tca23}, {tcb22,tcb23}, {tcc44,tcc45,tcc46,tcc47};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc48,tcc49,tcc50,tcc51}, {tca20,tca21,tca22,tca23}, {tcb24,tcb25}, {tcc48,tcc49,tcc50,tcc51};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc52,tcc53,tcc54,tcc55}, {tca20,tca21,tca22,tca23}, {tcb26,tcb27}, {tcc52,tcc53,tcc54,tcc55};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc56,tcc57,tcc58,tcc59}, {tca20,tca21,tca22,tca23}, {tcb28,tcb29}, {tcc56,tcc57,tcc58,tcc59};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc60,tcc61,tcc62,tcc63}, {tca20,tca21,tca22,tca23}, {tcb30,tcb31}, {tcc60,tcc61,tcc62,tcc63};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc64,tcc65,tcc66,tcc67}, {tca24,tca25,tca26,tca27}, {tcb16,tcb17}, {tcc64,tcc65,tcc66,tcc67};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc68,tcc69,tcc70,tcc71}, {tca24,tca25,tca26,tca27}, {tcb18,tcb19}, {tcc68,tcc69,tcc70,tcc71};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc72,tcc73,tcc74,tcc75}, {tca24,tca25,tca26,tca27}, {tcb20,tcb21}, {tcc72,tcc73,tcc74,tcc75};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc76,tcc77,tcc78,tcc79}, {tca24,tca25,tca26,tca27}, {tcb22,tcb23}, {tcc76,tcc77,tcc78,tcc79};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc80,tcc81,tcc82,tcc83}, {tca24,tca25,tca26,tca27}, {tcb24,tcb25}, {tcc80,tcc81,tcc82,tcc83};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc84,tcc85,tcc86,tcc87}, {tca24,tca25,tca26,tca27}, {tcb26,tcb27}, {tcc84,tcc85,tcc86,tcc87};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc88,tcc89,tcc90,tcc91}, {tca24,tca25,tca26,tca27}, {tcb28,tcb29}, {tcc88,tcc89,tcc90,tcc91};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc92,tcc93,tcc94,tcc95}, {tca24,tca25,tca26,tca27}, {tcb30,tcb31}, {tcc92,tcc93,tcc94,tcc95};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc96,tcc97,tcc98,tcc99}, {tca28,tca29,tca30,tca31}, {tcb16,tcb17}, {tcc96,tcc97,tcc98,tcc99};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc100,tcc101,tcc102,tcc103}, {tca28,tca29,tca30,tca31}, {tcb18,tcb19}, {tcc100,tcc101,tcc102,tcc103};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc104,tcc105,tcc106,tcc107}, {tca28,tca29,tca30,tca31}, {tcb20,tcb21}, {tcc104,tcc105,tcc106,tcc107};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc108,tcc109,tcc110,tcc111}, {tca28,tca29,tca30,tca31}, {tcb22,tcb23}, {tcc108,tcc109,tcc110,tcc111};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc112,tcc113,tcc114,tcc115}, {tca28,tca29,tca30,tca31}, {tcb24,tcb25}, {tcc112,tcc113,tcc114,tcc115};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc116,tcc117,tcc118,tcc119}, {tca28,tca29,tca30,tca31}, {tcb26,tcb27}, {tcc116,tcc117,tcc118,tcc119};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc120,tcc121,tcc122,tcc123}, {tca28,tca29,tca30,tca31}, {tcb28,tcb29}, {tcc120,tcc121,tcc122,tcc123};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc124,tcc125,tcc126,tcc127}, {tca28,tca29,tca30,tca31}, {tcb30,tcb31}, {tcc124,tcc125,tcc126,tcc127};\n";

    internal static void Kernel(ArrayView<ushort> x, ArrayView<ushort> weight, ArrayView<float> bias, int hasBias, int epilogue,
        ArrayView<float> yF32, ArrayView<ushort> yBf16, long xAddress, long wAddress, int tokens, int inFeatures, int outFeatures, int stepsPerSplit)
    {
        var dynamicShared = SharedMemory.GetDynamic<byte>();
        // Keeps the dynamic shared-memory symbol declared (the CUDA path addresses it only through assembly).
        if (inFeatures < 0) dynamicShared[0] = 0;

        // Slice z of a split product multiplies steps z·stepsPerSplit .. of In (all of In when not split).
        int firstStep = Grid.IdxZ * stepsPerSplit;
        int steps = Math.Min(stepsPerSplit, inFeatures / TileIn - firstStep);
        if (CudaAsm.IsSupported)
            TensorCores(bias, hasBias, epilogue, yF32, yBf16, xAddress + firstStep * TileIn * 2, wAddress + firstStep * TileIn * 2, tokens, inFeatures, outFeatures, steps);
        else Portable(x, weight, bias, hasBias, epilogue, yF32, yBf16, tokens, inFeatures, outFeatures, firstStep * TileIn, (firstStep + steps) * TileIn);
    }

    private static void TensorCores(ArrayView<float> bias, int hasBias, int epilogue, ArrayView<float> yF32, ArrayView<ushort> yBf16,
        long xAddress, long wAddress, int tokens, int inFeatures, int outFeatures, int steps)
    {
        CudaAsm.Emit(DeclareRegisters);
        CudaAsm.Emit(ZeroAccumulators);

        int thread = Group.IdxX, lane = thread & 31, warp = thread >> 5;
        int t0 = Grid.IdxX * TileTokens, o0 = Grid.IdxY * TileFeatures;
        uint shared = Ptx.DynamicSharedBase();

        // Each thread copies four 16-byte chunks of the x tile and four of the W tile per step: chunk c of 512 is
        // row c/4, column chunk c mod 4, with c = thread + 128·j, i.e. rows thread/4 + 32·j.
        int row = thread >> 2, chunk = thread & 3;
        long rowBytes = (long)inFeatures * 2;
        var x = new TileRows(xAddress, t0, tokens, row, chunk, rowBytes);
        var w = new TileRows(wAddress, o0, outFeatures, row, chunk, rowBytes);

        // ldmatrix row addresses: lane l points at row (l mod 16) of a 16-row A slice, chunk l/16 of the k16 half;
        // for B, row (l mod 8) + 8·(l/16) of a 16-feature pair of slices, chunk (l/8) mod 2.
        int warpRow = (warp & 1) * 64, warpFeature = (warp >> 1) * 64;
        int aRow = warpRow + (lane & 15), aChunk = lane >> 4;
        int bRow = warpFeature + (lane & 7) + ((lane >> 4) << 3), bChunk = (lane >> 3) & 1;

        for (int s = 0; s < Stages - 1; s++)
        {
            if (s < steps) IssueCopies(shared, s, s, x, w);
            Ptx.CommitCopies();
        }

        for (int step = 0; step < steps; step++)
        {
            Ptx.WaitCopies1();
            Group.Barrier();
            int next = step + Stages - 1;
            if (next < steps) IssueCopies(shared, next % Stages, next, x, w);
            Ptx.CommitCopies();

            uint xTile = shared + (uint)((step % Stages) * StageBytes), wTile = xTile + TileBytes;
            CudaAsm.Emit(LoadA00, Swizzled(xTile, aRow, aChunk));
            CudaAsm.Emit(LoadA01, Swizzled(xTile, aRow + 16, aChunk));
            CudaAsm.Emit(LoadA02, Swizzled(xTile, aRow + 32, aChunk));
            CudaAsm.Emit(LoadA03, Swizzled(xTile, aRow + 48, aChunk));
            CudaAsm.Emit(LoadB00, Swizzled(wTile, bRow, bChunk));
            CudaAsm.Emit(LoadB01, Swizzled(wTile, bRow + 16, bChunk));
            CudaAsm.Emit(LoadB02, Swizzled(wTile, bRow + 32, bChunk));
            CudaAsm.Emit(LoadB03, Swizzled(wTile, bRow + 48, bChunk));
            CudaAsm.Emit(LoadA10, Swizzled(xTile, aRow, 2 + aChunk));
            CudaAsm.Emit(LoadA11, Swizzled(xTile, aRow + 16, 2 + aChunk));
            CudaAsm.Emit(LoadA12, Swizzled(xTile, aRow + 32, 2 + aChunk));
            CudaAsm.Emit(LoadA13, Swizzled(xTile, aRow + 48, 2 + aChunk));
            CudaAsm.Emit(LoadB10, Swizzled(wTile, bRow, 2 + bChunk));
            CudaAsm.Emit(LoadB11, Swizzled(wTile, bRow + 16, 2 + bChunk));
            CudaAsm.Emit(LoadB12, Swizzled(wTile, bRow + 32, 2 + bChunk));
            CudaAsm.Emit(LoadB13, Swizzled(wTile, bRow + 48, 2 + bChunk));
            CudaAsm.Emit(Multiply0);
            CudaAsm.Emit(Multiply1);
        }
        Ptx.WaitCopies0();

        // Accumulator slice (i, j) holds rows warpRow + 16i + g and + 8, features warpFeature + 8j + 2q and + 1
        // (g = lane/4, q = lane mod 4): d0, d1 on the first row, d2, d3 on the second. Slices are read two at a time
        // (j, j + 1): SwiGlu needs the gate slice j and the up slice j + 1 together.
        int rowA = t0 + warpRow + (lane >> 2), feature = o0 + warpFeature + 2 * (lane & 3);
        var d0 = new Output<float>(); var d1 = new Output<float>(); var d2 = new Output<float>(); var d3 = new Output<float>();
        var e0 = new Output<float>(); var e1 = new Output<float>(); var e2 = new Output<float>(); var e3 = new Output<float>();
        CudaAsm.EmitRef("mov.b32 %0, tcc0; mov.b32 %1, tcc1; mov.b32 %2, tcc2; mov.b32 %3, tcc3; mov.b32 %4, tcc4; mov.b32 %5, tcc5; mov.b32 %6, tcc6; mov.b32 %7, tcc7;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 0, feature + 0, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc8; mov.b32 %1, tcc9; mov.b32 %2, tcc10; mov.b32 %3, tcc11; mov.b32 %4, tcc12; mov.b32 %5, tcc13; mov.b32 %6, tcc14; mov.b32 %7, tcc15;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 0, feature + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc16; mov.b32 %1, tcc17; mov.b32 %2, tcc18; mov.b32 %3, tcc19; mov.b32 %4, tcc20; mov.b32 %5, tcc21; mov.b32 %6, tcc22; mov.b32 %7, tcc23;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 0, feature + 32, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc24; mov.b32 %1, tcc25; mov.b32 %2, tcc26; mov.b32 %3, tcc27; mov.b32 %4, tcc28; mov.b32 %5, tcc29; mov.b32 %6, tcc30; mov.b32 %7, tcc31;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 0, feature + 48, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc32; mov.b32 %1, tcc33; mov.b32 %2, tcc34; mov.b32 %3, tcc35; mov.b32 %4, tcc36; mov.b32 %5, tcc37; mov.b32 %6, tcc38; mov.b32 %7, tcc39;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 16, feature + 0, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc40; mov.b32 %1, tcc41; mov.b32 %2, tcc42; mov.b32 %3, tcc43; mov.b32 %4, tcc44; mov.b32 %5, tcc45; mov.b32 %6, tcc46; mov.b32 %7, tcc47;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 16, feature + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc48; mov.b32 %1, tcc49; mov.b32 %2, tcc50; mov.b32 %3, tcc51; mov.b32 %4, tcc52; mov.b32 %5, tcc53; mov.b32 %6, tcc54; mov.b32 %7, tcc55;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 16, feature + 32, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc56; mov.b32 %1, tcc57; mov.b32 %2, tcc58; mov.b32 %3, tcc59; mov.b32 %4, tcc60; mov.b32 %5, tcc61; mov.b32 %6, tcc62; mov.b32 %7, tcc63;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 16, feature + 48, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc64; mov.b32 %1, tcc65; mov.b32 %2, tcc66; mov.b32 %3, tcc67; mov.b32 %4, tcc68; mov.b32 %5, tcc69; mov.b32 %6, tcc70; mov.b32 %7, tcc71;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 32, feature + 0, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc72; mov.b32 %1, tcc73; mov.b32 %2, tcc74; mov.b32 %3, tcc75; mov.b32 %4, tcc76; mov.b32 %5, tcc77; mov.b32 %6, tcc78; mov.b32 %7, tcc79;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 32, feature + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc80; mov.b32 %1, tcc81; mov.b32 %2, tcc82; mov.b32 %3, tcc83; mov.b32 %4, tcc84; mov.b32 %5, tcc85; mov.b32 %6, tcc86; mov.b32 %7, tcc87;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 32, feature + 32, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc88; mov.b32 %1, tcc89; mov.b32 %2, tcc90; mov.b32 %3, tcc91; mov.b32 %4, tcc92; mov.b32 %5, tcc93; mov.b32 %6, tcc94; mov.b32 %7, tcc95;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 32, feature + 48, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc96; mov.b32 %1, tcc97; mov.b32 %2, tcc98; mov.b32 %3, tcc99; mov.b32 %4, tcc100; mov.b32 %5, tcc101; mov.b32 %6, tcc102; mov.b32 %7, tcc103;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 48, feature + 0, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc104; mov.b32 %1, tcc105; mov.b32 %2, tcc106; mov.b32 %3, tcc107; mov.b32 %4, tcc108; mov.b32 %5, tcc109; mov.b32 %6, tcc110; mov.b32 %7, tcc111;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 48, feature + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc112; mov.b32 %1, tcc113; mov.b32 %2, tcc114; mov.b32 %3, tcc115; mov.b32 %4, tcc116; mov.b32 %5, tcc117; mov.b32 %6, tcc118; mov.b32 %7, tcc119;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 48, feature + 32, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc120; mov.b32 %1, tcc121; mov.b32 %2, tcc122; mov.b32 %3, tcc123; mov.b32 %4, tcc124; mov.b32 %5, tcc125; mov.b32 %6, tcc126; mov.b32 %7, tcc127;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, Grid.IdxZ, yF32, yBf16, tokens, outFeatures, rowA + 48, feature + 48, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
    }

    /// <summary>
    /// The four rows of a 128-row tile that one thread copies (row, row + 32, row + 64, row + 96; one 16-byte chunk
    /// of each): shared offsets (swizzled), global sources for step 0, and how many bytes are real (rows past the
    /// end read nothing — 0 source bytes zero-fill the chunk — from a valid address).
    /// </summary>
    private readonly struct TileRows
    {
        public readonly uint Store0, Store1, Store2, Store3;
        public readonly long Source0, Source1, Source2, Source3;
        public readonly int Bytes0, Bytes1, Bytes2, Bytes3;

        public TileRows(long address, int first, int count, int row, int chunk, long rowBytes)
        {
            Store0 = StoreOffset(row, chunk); Store1 = StoreOffset(row + 32, chunk);
            Store2 = StoreOffset(row + 64, chunk); Store3 = StoreOffset(row + 96, chunk);
            Bytes0 = first + row < count ? 16 : 0; Bytes1 = first + row + 32 < count ? 16 : 0;
            Bytes2 = first + row + 64 < count ? 16 : 0; Bytes3 = first + row + 96 < count ? 16 : 0;
            Source0 = address + (Bytes0 != 0 ? (first + row) * rowBytes : 0) + chunk * 16;
            Source1 = address + (Bytes1 != 0 ? (first + row + 32) * rowBytes : 0) + chunk * 16;
            Source2 = address + (Bytes2 != 0 ? (first + row + 64) * rowBytes : 0) + chunk * 16;
            Source3 = address + (Bytes3 != 0 ? (first + row + 96) * rowBytes : 0) + chunk * 16;
        }

        private static uint StoreOffset(int row, int chunk) => (uint)(row * 64 + ((chunk ^ ((row >> 1) & 3)) << 4));
    }

    private static void IssueCopies(uint shared, int stage, int step, TileRows x, TileRows w)
    {
        uint xTile = shared + (uint)(stage * StageBytes), wTile = xTile + TileBytes;
        long offset = (long)step * TileIn * 2;
        Ptx.CopyAsync16(xTile + x.Store0, x.Source0 + offset, x.Bytes0);
        Ptx.CopyAsync16(xTile + x.Store1, x.Source1 + offset, x.Bytes1);
        Ptx.CopyAsync16(xTile + x.Store2, x.Source2 + offset, x.Bytes2);
        Ptx.CopyAsync16(xTile + x.Store3, x.Source3 + offset, x.Bytes3);
        Ptx.CopyAsync16(wTile + w.Store0, w.Source0 + offset, w.Bytes0);
        Ptx.CopyAsync16(wTile + w.Store1, w.Source1 + offset, w.Bytes1);
        Ptx.CopyAsync16(wTile + w.Store2, w.Source2 + offset, w.Bytes2);
        Ptx.CopyAsync16(wTile + w.Store3, w.Source3 + offset, w.Bytes3);
    }

    /// <summary>Shared address of 16-byte chunk <paramref name="chunk"/> (0..3) of tile row <paramref name="row"/>.</summary>
    private static uint Swizzled(uint tile, int row, int chunk) => tile + (uint)(row * 64 + ((chunk ^ ((row >> 1) & 3)) << 4));

    /// <summary>
    /// Two neighbouring 8-feature slices of one 16-row slice: (d0, d1) at (row, f..f+1), (d2, d3) at (row + 8, f..f+1)
    /// for features starting at <paramref name="feature"/>, and (e0..e3) likewise 8 features further on. Each pair of
    /// neighbouring f32 outputs goes out as one 8-byte access when Out is even (feature is even in every fragment, so
    /// the pair starts at an even index of a buffer <see cref="Forward"/> checked is 8-byte aligned); an odd Out
    /// stores one output at a time.
    /// Every load (the residual, the bias) comes before every store: the compiler cannot tell a residual load from
    /// the stores before it apart, so interleaved, each pair's load waited out a whole memory latency — Nsight's
    /// numbers on an H200 put the residual epilogue at about 17 µs of a 56-step group's 36.
    /// A split product's raw partial sums go to slice <paramref name="slice"/> of the workspace [split, T, Out]; the
    /// SwiGLU epilogue writes bf16 to <paramref name="yBf16"/> instead (<see cref="StoreFloatPair"/> has the others).
    /// </summary>
    internal static void StorePair(ArrayView<float> bias, int hasBias, int epilogue, int slice, ArrayView<float> yF32, ArrayView<ushort> yBf16,
        int tokens, int outFeatures, int row, int feature,
        float d0, float d1, float d2, float d3, float e0, float e1, float e2, float e3)
    {
        if (epilogue == (int)LinearEpilogue.SwiGlu)
        {
            // Features feature..+1 are gate rows, feature+8..+9 the matching up rows: output column
            // (feature − feature mod 16)/2 + feature mod 8.
            // Feature blocks past 2F (the last group of a layer whose 2F is not a multiple of 128) hold zeros and
            // would land in the next row: skip them.
            int width = outFeatures / 2, column = SwiGluColumn(feature);
            if (column >= width) return;
            if (row < tokens) StoreSwiGlu(yBf16, (long)row * width + column, d0, e0, d1, e1);
            if (row + 8 < tokens) StoreSwiGlu(yBf16, (long)(row + 8) * width + column, d2, e2, d3, e3);
            return;
        }
        StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, row, feature, d0, d1, d2, d3, e0, e1, e2, e3);
    }

    /// <summary>
    /// <see cref="StorePair"/> for the epilogues that write f32 (Store with or without bias, AddInto, split-K
    /// partials). The wgmma kernel calls it directly: its SwiGLU epilogues have their own packed path, and a kernel
    /// argument cannot tell the compiler that StorePair's SwiGLU branch is never taken there — each of its sixteen
    /// inlined copies would carry four IEEE divisions of dead code.
    /// </summary>
    internal static void StoreFloatPair(ArrayView<float> bias, int hasBias, int epilogue, int slice, ArrayView<float> yF32,
        int tokens, int outFeatures, int row, int feature,
        float d0, float d1, float d2, float d3, float e0, float e1, float e2, float e3)
    {
        if ((outFeatures & 1) != 0)
        {
            StoreOne(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, row, feature, d0);
            StoreOne(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, row, feature + 1, d1);
            StoreOne(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, row + 8, feature, d2);
            StoreOne(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, row + 8, feature + 1, d3);
            StoreOne(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, row, feature + 8, e0);
            StoreOne(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, row, feature + 9, e1);
            StoreOne(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, row + 8, feature + 8, e2);
            StoreOne(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, row + 8, feature + 9, e3);
            return;
        }
        // Pair (r, c): rows row + 8r, features feature + 8c (and + 1), at pair index top + r·(8·Out/2) + c·4.
        bool row0 = row < tokens, row1 = row + 8 < tokens, column0 = feature < outFeatures, column1 = feature + 8 < outFeatures;
        long top = (long)row * outFeatures + feature;
        if (epilogue == Partial) top += slice * (long)tokens * outFeatures;
        long p00 = top >> 1, p01 = p00 + 4, p10 = p00 + 4L * outFeatures, p11 = p10 + 4;
        var pairs = yF32.Cast<Float2>();
        Float2 y00 = new() { X = d0, Y = d1 }, y10 = new() { X = d2, Y = d3 }, y01 = new() { X = e0, Y = e1 }, y11 = new() { X = e2, Y = e3 };
        if (epilogue == (int)LinearEpilogue.AddInto)
        {
            // Outputs past T or Out read pair 0 instead (always there, never stored): no branch between the loads.
            Float2 s00 = pairs[row0 & column0 ? p00 : 0], s10 = pairs[row1 & column0 ? p10 : 0];
            Float2 s01 = pairs[row0 & column1 ? p01 : 0], s11 = pairs[row1 & column1 ? p11 : 0];
            y00 = Float2.Add(y00, s00); y10 = Float2.Add(y10, s10); y01 = Float2.Add(y01, s01); y11 = Float2.Add(y11, s11);
        }
        else if (epilogue != Partial && hasBias != 0)
        {
            int f0 = column0 ? feature : 0, f1 = column1 ? feature + 8 : 0;
            Float2 b0 = new() { X = bias[f0], Y = bias[f0 + 1] }, b1 = new() { X = bias[f1], Y = bias[f1 + 1] };
            y00 = Float2.Add(y00, b0); y10 = Float2.Add(y10, b0); y01 = Float2.Add(y01, b1); y11 = Float2.Add(y11, b1);
        }
        if (row0 && column0) pairs[p00] = y00;
        if (row1 && column0) pairs[p10] = y10;
        if (row0 && column1) pairs[p01] = y01;
        if (row1 && column1) pairs[p11] = y11;
    }

    private static void StoreOne(ArrayView<float> bias, int hasBias, int epilogue, int slice, ArrayView<float> y, int tokens, int outFeatures, int row, int feature, float value)
    {
        if (row >= tokens || feature >= outFeatures) return;
        long index = (long)row * outFeatures + feature;
        if (epilogue == Partial) y[slice * (long)tokens * outFeatures + index] = value;
        else if (epilogue == (int)LinearEpilogue.AddInto) y[index] += value;
        else y[index] = hasBias != 0 ? value + bias[feature] : value;
    }

    /// <summary>The output column of gate feature <paramref name="feature"/> of the interleaved [2F, In] weight (see <see cref="InterleaveGateUp"/>): (feature − feature mod 16)/2 + feature mod 8.</summary>
    internal static int SwiGluColumn(int feature) => ((feature >> 4) << 3) + (feature & 7);

    /// <summary>The inverse of <see cref="SwiGluColumn"/>: the gate row of output column <paramref name="column"/> in the interleaved weight (its up row is 8 below).</summary>
    internal static int SwiGluGateRow(int column) => ((column >> 3) << 4) + (column & 7);

    /// <summary>Two neighbouring SwiGLU outputs as one 4-byte store: the index is even (2F is a multiple of 16 and the column even) and <see cref="Forward"/> checked the buffer is 4-byte aligned.</summary>
    private static void StoreSwiGlu(ArrayView<ushort> y, long index, float gate0, float up0, float gate1, float up1) =>
        y.Cast<uint>()[index >> 1] = Bf16.Pack(Silu(gate0) * up0, Silu(gate1) * up1);

    private static float Silu(float g) => g / (1f + MathF.Exp(-g));

    /// <summary>
    /// Everywhere but CUDA: thread i of the group computes outputs i, i + group, ... of the block's 128 × 128
    /// outputs (for SwiGlu the block's 64 output columns, each needing its gate and its up row), each an f32 dot
    /// product over In in ascending order.
    /// </summary>
    private static void Portable(ArrayView<ushort> x, ArrayView<ushort> weight, ArrayView<float> bias, int hasBias, int epilogue,
        ArrayView<float> yF32, ArrayView<ushort> yBf16, int tokens, int inFeatures, int outFeatures, int kBegin, int kEnd)
    {
        int t0 = Grid.IdxX * TileTokens, o0 = Grid.IdxY * TileFeatures;
        bool swiGlu = epilogue == (int)LinearEpilogue.SwiGlu;
        int columns = swiGlu ? TileFeatures / 2 : TileFeatures;
        for (int e = Group.IdxX; e < TileTokens * columns; e += Group.DimX)
        {
            int r = e / columns, c = e - r * columns, t = t0 + r;
            if (t >= tokens) continue;
            if (swiGlu)
            {
                int column = o0 / 2 + c, width = outFeatures / 2;
                if (column >= width) continue;
                int gateRow = SwiGluGateRow(column);
                float gate = Dot(x, weight, t, gateRow, inFeatures, kBegin, kEnd), up = Dot(x, weight, t, gateRow + 8, inFeatures, kBegin, kEnd);
                yBf16[(long)t * width + column] = Bf16.FromFloat(Silu(gate) * up);
            }
            else
            {
                int o = o0 + c;
                if (o < outFeatures) StoreOne(bias, hasBias, epilogue, Grid.IdxZ, yF32, tokens, outFeatures, t, o, Dot(x, weight, t, o, inFeatures, kBegin, kEnd));
            }
        }
    }

    private static float Dot(ArrayView<ushort> x, ArrayView<ushort> weight, int t, int o, int inFeatures, int kBegin, int kEnd)
    {
        long xRow = (long)t * inFeatures, wRow = (long)o * inFeatures;
        float sum = 0f;
        for (int i = kBegin; i < kEnd; i++) sum += Bf16.ToFloat(x[xRow + i]) * Bf16.ToFloat(weight[wRow + i]);
        return sum;
    }

    /// <summary>
    /// The second pass of a split product: adds the slices' partial sums [split, T, Out] in slice order
    /// (deterministic, no atomics) and applies the epilogue — for SwiGlu, output (t, j) adds its gate and its up
    /// feature first. Thread i owns outputs 4i..4i+3 when <paramref name="quads"/> is set (Out a multiple of 4, not
    /// SwiGlu: every Dream product it runs for) and output i otherwise. A quad's loads — every slice's four partials,
    /// then the residual or bias — are issued before any addition, so a thread waits out two memory latencies rather
    /// than one per slice and output (Nsight on an H200: 13–15 µs per reduce at 320 tokens, a third of DRAM bandwidth).
    /// The additions are the same, in the same order, as one output at a time.
    /// </summary>
    internal static void KernelReduce(Index1D i, ArrayView<float> partial, int split, ArrayView<float> bias, int hasBias, int epilogue,
        ArrayView<float> yF32, ArrayView<ushort> yBf16, int tokens, int outFeatures, int quads)
    {
        long plane = (long)tokens * outFeatures;
        if (quads != 0)
        {
            // Slices past the last read the last one again (never added): every load stays in range and unconditional.
            long at = 4L * i;
            long z1 = Math.Min(1, split - 1) * plane, z2 = Math.Min(2, split - 1) * plane, z3 = Math.Min(3, split - 1) * plane;
            float a0 = partial[at], a1 = partial[at + 1], a2 = partial[at + 2], a3 = partial[at + 3];
            float b0 = partial[z1 + at], b1 = partial[z1 + at + 1], b2 = partial[z1 + at + 2], b3 = partial[z1 + at + 3];
            float c0 = partial[z2 + at], c1 = partial[z2 + at + 1], c2 = partial[z2 + at + 2], c3 = partial[z2 + at + 3];
            float d0 = partial[z3 + at], d1 = partial[z3 + at + 1], d2 = partial[z3 + at + 2], d3 = partial[z3 + at + 3];
            float s0 = 0f + a0, s1 = 0f + a1, s2 = 0f + a2, s3 = 0f + a3;
            if (split > 1) { s0 += b0; s1 += b1; s2 += b2; s3 += b3; }
            if (split > 2) { s0 += c0; s1 += c1; s2 += c2; s3 += c3; }
            if (split > 3) { s0 += d0; s1 += d1; s2 += d2; s3 += d3; }
            if (epilogue == (int)LinearEpilogue.AddInto)
            {
                float r0 = yF32[at], r1 = yF32[at + 1], r2 = yF32[at + 2], r3 = yF32[at + 3];
                yF32[at] = r0 + s0; yF32[at + 1] = r1 + s1; yF32[at + 2] = r2 + s2; yF32[at + 3] = r3 + s3;
            }
            else if (hasBias != 0)
            {
                int feature = (int)(at % outFeatures);
                float e0 = bias[feature], e1 = bias[feature + 1], e2 = bias[feature + 2], e3 = bias[feature + 3];
                yF32[at] = s0 + e0; yF32[at + 1] = s1 + e1; yF32[at + 2] = s2 + e2; yF32[at + 3] = s3 + e3;
            }
            else
            {
                yF32[at] = s0; yF32[at + 1] = s1; yF32[at + 2] = s2; yF32[at + 3] = s3;
            }
            return;
        }
        if (epilogue == (int)LinearEpilogue.SwiGlu)
        {
            int width = outFeatures / 2, t = i / width, j = i - t * width;
            long gateIndex = (long)t * outFeatures + SwiGluGateRow(j);
            float gate = 0f, up = 0f;
            for (int z = 0; z < split; z++)
            {
                gate += partial[z * plane + gateIndex];
                up += partial[z * plane + gateIndex + 8];
            }
            yBf16[i] = Bf16.FromFloat(Silu(gate) * up);
            return;
        }
        float sum = 0f;
        for (int z = 0; z < split; z++) sum += partial[z * plane + i];
        int column = (int)(i % outFeatures);
        if (epilogue == (int)LinearEpilogue.AddInto) yF32[i] += sum;
        else yF32[i] = hasBias != 0 ? sum + bias[column] : sum;
    }
}

/// <summary>What <see cref="TensorCoreLinear"/> does with each f32 product (see there).</summary>
public enum LinearEpilogue
{
    Store = 0,
    AddInto = 1,
    SwiGlu = 2,
}
