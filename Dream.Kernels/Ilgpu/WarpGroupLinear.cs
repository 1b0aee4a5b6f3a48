using System.Reflection;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// <see cref="TensorCoreLinear"/>'s product on Hopper's warp-group tensor cores (`wgmma`, H100/H200 only): the same
/// y = x·Wᵀ over bf16 inputs with f32 accumulation and the same three epilogues (and split-K partials), with
/// operands that never pass through registers. <see cref="TensorCoreLinear.Forward"/> picks it whenever the device
/// has it and In is a multiple of <see cref="TileIn"/>; everything else (other GPUs, OpenCL, the simulator, odd
/// widths) takes the mma.sync kernel or its portable fallback.
///
/// Why it is faster than mma.sync: one `wgmma.m64n256k16` multiplies a 64 × 16 slice of x by a 256 × 16 slice of W
/// for a whole warp group (4 warps), reading both straight from shared memory through 64-bit matrix descriptors —
/// no ldmatrix, no operand registers — and runs asynchronously; and the tiles arrive by TMA (one
/// `cp.async.bulk.tensor` per tile, issued by one thread), so the warps spend almost no instructions on copies.
/// (Measured on an H200: the same kernel fed by per-thread cp.async reached 200–450 TFLOP/s at 2048 tokens,
/// issue-bound at 33% of issue slots; with TMA 580–665 on the large products — docs/benchmarks.md.)
///
/// Work decomposition: a group of 128·G threads (G = 2 or 3 warp groups, <see cref="ChooseWarpGroups"/>) owns a
/// 64G-token × 256-feature block of y; warp group h owns tokens 64h..64h+63 of it, 128 f32 accumulators per
/// thread. In is walked in steps of 64 (one 128-byte row per operand row) through a 4-stage ring in dynamic shared
/// memory (stages of 48 or 56 KB, 193 or 225 KB in all, allowed through
/// <see cref="HopperKernelLoader.AllowDynamicSharedMemory"/>; one group per multiprocessor). Each stage holds the x
/// tile [64G, 64] and the W tile [256, 64] in the 128-byte swizzle (16-byte chunk c of row r at
/// r·128 + 16·(c ⊕ (r mod 8)), 8-row atoms 1 KB-aligned): TMA writes that layout (<see cref="TensorMapTable"/> encodes
/// the descriptors with it) and wgmma reads it (descriptor swizzle mode 1). Rows past the end of the x or W buffer
/// arrive as zeros. Each stage has an mbarrier that thread 0 arms with the stage's byte count and the two TMA copies complete.
/// Per step: barrier (every warp group has retired the wgmma of two steps ago, so that stage is free); thread 0
/// starts the TMA copies of the tile two steps ahead into it; everyone waits on the current stage's mbarrier; four
/// wgmma (k = 0, 16, 32, 48: the descriptors advance 32 bytes inside the swizzle atom), commit, and wait until the
/// *previous* step's wgmma are done — so the tensor cores always have one step queued.
/// The epilogue reads the accumulators out by name and stores through <see cref="TensorCoreLinear"/>'s epilogue.
/// Grid: token blocks fastest, as in the mma.sync kernel, so the groups that share a weight tile run together.
///
/// Loaded through <see cref="HopperKernelLoader"/> (PTX retargeted to sm_90a, shared-memory limit raised); TMA
/// descriptors through <see cref="CudaDriver"/>.
/// </summary>
public sealed partial class WarpGroupLinear : IDisposable
{
    /// <summary>Tokens per consumer warp group (the M of one wgmma).</summary>
    public const int WarpGroupTokens = 64;
    /// <summary>Features per group (the N of one wgmma).</summary>
    public const int TileFeatures = 256;
    /// <summary>Slice of In per pipeline step: one 128-byte swizzle row per operand row.</summary>
    public const int TileIn = 64;
    /// <summary>Shared-memory stages; copies run <see cref="Stages"/> − 2 steps ahead (see the class summary).</summary>
    public const int Stages = 4;
    /// <summary>Warp groups per thread group: 2 (128-token tiles) or 3 (192-token tiles), chosen per launch.</summary>
    public const int MinWarpGroups = 2, MaxWarpGroups = 3;

    private const int RowBytes = TileIn * 2;                       // 128: one swizzle row
    private const int WarpGroupTileBytes = WarpGroupTokens * RowBytes;   // 8 KB of x per warp group
    private const int WTileBytes = TileFeatures * RowBytes;       // 32 KB

    /// <summary>Tokens per group with <paramref name="warpGroups"/> warp groups.</summary>
    public static int TileTokens(int warpGroups) => WarpGroupTokens * warpGroups;

    /// <summary>Dynamic shared memory per group: the stages (x tile + W tile each), their mbarriers, and 1 KB to align the stages to the swizzle atom — 193 KB with 2 warp groups, 225 KB with 3.</summary>
    public static int SharedBytes(int warpGroups) => Stages * (warpGroups * WarpGroupTileBytes + WTileBytes) + 8 * Stages + 1024;

    /// <summary>
    /// The constant half of a wgmma shared-memory descriptor: swizzle mode 1 (128-byte) in bits 62–63, stride byte
    /// offset 1024 (between 8-row atoms, encoded ≫ 4 = 64) in bits 32–45, leading byte offset 1 (unused by swizzled
    /// K-major layouts) in bits 16–29. The start address ≫ 4 goes in bits 0–13.
    /// </summary>
    private const long DescriptorBase = (1L << 62) | (64L << 32) | (1L << 16);

    private readonly Kernel _kernel;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, int, int, ArrayView<float>, ArrayView<ushort>, long, long, int, int, int, int> _launch;
    private readonly AcceleratorStream _stream;
    private readonly TensorMapTable _maps;

    /// <summary>Whether <paramref name="accelerator"/> can run this kernel (CUDA, compute capability 9.0).</summary>
    public static bool IsSupported(Accelerator accelerator) => HopperKernelLoader.Supports(accelerator);

    /// <summary>Compiles and loads the kernel for <paramref name="accelerator"/> (see <see cref="IsSupported"/>).</summary>
    public WarpGroupLinear(Accelerator accelerator)
    {
        if (!IsSupported(accelerator) || accelerator is not CudaAccelerator cuda)
            throw new NotSupportedException($"the warp-group linear kernel needs a CUDA device of compute capability 9.0; got '{accelerator.Name}'");
        _kernel = HopperKernelLoader.Load(cuda, KernelMethod);
        HopperKernelLoader.AllowDynamicSharedMemory(_kernel, SharedBytes(MaxWarpGroups));
        _launch = _kernel.CreateLauncherDelegate<Action<AcceleratorStream, KernelConfig, ArrayView<float>, int, int, ArrayView<float>, ArrayView<ushort>, long, long, int, int, int, int>>();
        _stream = accelerator.DefaultStream;
        _maps = new TensorMapTable(accelerator);
    }

    private static MethodInfo KernelMethod => IlgpuKernels.Method(typeof(WarpGroupLinear), nameof(Kernel));

    /// <summary>The kernel method, for the device-free compile check (CUDA only: it has no OpenCL form).</summary>
    public static IReadOnlyList<(MethodInfo Method, bool OpenCL)> EntryPoints { get; } = [(KernelMethod, false)];

    /// <summary>Whether this kernel takes a product with <paramref name="inFeatures"/> inputs (a multiple of <see cref="TileIn"/>).</summary>
    public static bool Handles(int inFeatures) => inFeatures % TileIn == 0;

    /// <summary>Groups of one product: token blocks × feature blocks.</summary>
    internal static long Groups(int tokens, int outFeatures, int warpGroups) =>
        (long)((tokens + TileTokens(warpGroups) - 1) / TileTokens(warpGroups)) * ((outFeatures + TileFeatures - 1) / TileFeatures);

    /// <summary>
    /// Warp groups per thread group for a product: the tile whose grid fills its waves better (groups / (waves ·
    /// multiprocessors), one group per multiprocessor), 2 on a tie, and 3 only for a grid of at least one full wave
    /// (a smaller grid is split along In, where the 128-token tile measured faster). Measured on an H200 at the 7B
    /// shapes (docs/benchmarks.md): 128 × 256 wins nearly everywhere (it keeps more groups in flight); 192 × 256 wins
    /// the QKV product at 2048 tokens (198 groups fill 75% of two waves, 288 fill 73% of three).
    /// </summary>
    public static int ChooseWarpGroups(int tokens, int outFeatures, int multiprocessors)
    {
        long small = Groups(tokens, outFeatures, MinWarpGroups), large = Groups(tokens, outFeatures, MaxWarpGroups);
        if (large < multiprocessors) return MinWarpGroups;
        return WaveFill(large, multiprocessors) > WaveFill(small, multiprocessors) ? MaxWarpGroups : MinWarpGroups;
    }

    private static double WaveFill(long groups, int multiprocessors) =>
        groups / (double)(((groups + multiprocessors - 1) / multiprocessors) * multiprocessors);

    /// <summary>
    /// Launches slices z = 0..split − 1 of the product (each <paramref name="stepsPerSplit"/> steps of In);
    /// arguments as <see cref="TensorCoreLinear.Forward"/> prepared them (epilogue 3 = split-K partials).
    /// The TMA descriptors cover the whole buffers, <paramref name="xRows"/> and <paramref name="wRows"/> rows (their
    /// views' lengths / In), not just the <paramref name="tokens"/> × <paramref name="outFeatures"/> of this call: the
    /// lm_head rows the loop asks for shrink every step, and a descriptor per row count would mean a driver encode and
    /// a synchronous copy on the denoising hot path. Rows past T or Out are read but only ever reach outputs past T or
    /// Out, which the epilogue does not store.
    /// </summary>
    internal void Launch(int warpGroups, int split, ArrayView<float> bias, int hasBias, int epilogue, ArrayView<float> yF32, ArrayView<ushort> yBf16,
        long xAddress, long xRows, long wAddress, long wRows, int tokens, int inFeatures, int outFeatures, int stepsPerSplit)
    {
        if (warpGroups < MinWarpGroups || warpGroups > MaxWarpGroups)
            throw new ArgumentOutOfRangeException(nameof(warpGroups), warpGroups, $"the warp-group kernel runs {MinWarpGroups} or {MaxWarpGroups} warp groups");
        var config = new KernelConfig(
            new Index3D((tokens + TileTokens(warpGroups) - 1) / TileTokens(warpGroups), (outFeatures + TileFeatures - 1) / TileFeatures, split),
            new Index3D(128 * warpGroups, 1, 1),
            SharedMemoryConfig.RequestDynamic<byte>(SharedBytes(warpGroups)));
        long xMap = _maps.AddressOf(xAddress, xRows, inFeatures, TileTokens(warpGroups));
        long wMap = _maps.AddressOf(wAddress, wRows, inFeatures, TileFeatures);
        _launch(_stream, config, bias, hasBias, epilogue, yF32, yBf16, xMap, wMap, tokens, inFeatures, outFeatures, stepsPerSplit);
    }

    public void Dispose()
    {
        _kernel.Dispose();
        _maps.Dispose();
    }

    // ---------------------------------------------------------------------------------------------------------
    // The kernel.

    /// <param name="xMap">Device address of the TMA descriptor of x: bf16 [tokens, In] row-major, boxes [64·warp groups, 64].</param>
    /// <param name="wMap">Device address of the TMA descriptor of W: bf16 [Out, In] row-major (SwiGlu: gate/up interleaved by 8 rows), boxes [256, 64].</param>
    internal static void Kernel(ArrayView<float> bias, int hasBias, int epilogue, ArrayView<float> yF32, ArrayView<ushort> yBf16,
        long xMap, long wMap, int tokens, int inFeatures, int outFeatures, int stepsPerSplit)
    {
        var dynamicShared = SharedMemory.GetDynamic<byte>();
        // Keeps the dynamic shared-memory symbol declared (the kernel addresses it only through assembly).
        if (inFeatures < 0) dynamicShared[0] = 0;
        // Only ever loaded on sm_90 through HopperKernelLoader; elsewhere there is nothing to run.
        if (!CudaAsm.IsSupported) return;

        int firstStep = Grid.IdxZ * stepsPerSplit;
        int steps = Math.Min(stepsPerSplit, inFeatures / TileIn - firstStep);
        Multiply(bias, hasBias, epilogue, yF32, yBf16, xMap, wMap, firstStep, tokens, outFeatures, steps);
    }

    private static void Multiply(ArrayView<float> bias, int hasBias, int epilogue, ArrayView<float> yF32, ArrayView<ushort> yBf16,
        long xMap, long wMap, int firstStep, int tokens, int outFeatures, int steps)
    {
        CudaAsm.Emit(DeclareRegisters);
        CudaAsm.Emit("setp.ne.b32 wgp, %0, 0;", 1);
        CudaAsm.Emit(ZeroAccumulators);

        int thread = Group.IdxX, lane = thread & 31, warp = thread >> 5, warpGroup = warp >> 2;
        int warpGroups = Group.DimX >> 7, tileTokens = WarpGroupTokens * warpGroups;
        int xTileBytes = warpGroups * WarpGroupTileBytes, stageBytes = xTileBytes + WTileBytes;
        int t0 = Grid.IdxX * tileTokens, o0 = Grid.IdxY * TileFeatures;
        uint shared = (Ptx.DynamicSharedBase() + 1023u) & ~1023u;
        // One mbarrier per stage, after the stages: "the tiles of this stage have landed" (TMA completes it).
        uint barriers = shared + (uint)(Stages * stageBytes);

        if (thread == 0)
        {
            for (int s = 0; s < Stages; s++) CudaAsm.Emit("mbarrier.init.shared::cta.b64 [%0], 1;", barriers + (uint)(8 * s));
            CudaAsm.Emit("fence.mbarrier_init.release.cluster;");
            for (int s = 0; s < Stages - 2 && s < steps; s++)
                LoadStage(shared + (uint)(s * stageBytes), xTileBytes, barriers + (uint)(8 * s), xMap, wMap, (firstStep + s) * TileIn, t0, o0);
        }
        Group.Barrier();

        for (int step = 0; step < steps; step++)
        {
            // Every warp group has retired the wgmma of step − 2 (it waited for them at the end of step − 1), so
            // the stage they read can be refilled with step + 2.
            Group.Barrier();
            int next = step + Stages - 2;
            if (thread == 0 && next < steps)
                LoadStage(shared + (uint)((next % Stages) * stageBytes), xTileBytes, barriers + (uint)(8 * (next % Stages)), xMap, wMap, (firstStep + next) * TileIn, t0, o0);

            // Stage step mod 4 completes for the (step / 4)-th time: wait for that phase's parity.
            CudaAsm.Emit(WaitForStage, barriers + (uint)(8 * (step % Stages)), (step / Stages) & 1);

            uint stage = shared + (uint)((step % Stages) * stageBytes);
            long a = Descriptor(stage + (uint)(warpGroup * WarpGroupTileBytes)), b = Descriptor(stage + (uint)xTileBytes);
            CudaAsm.Emit("wgmma.fence.sync.aligned;");
            CudaAsm.Emit(MultiplyStep, a, b);
            CudaAsm.Emit(MultiplyStep, a + 2, b + 2);     // +32 bytes: k = 16..31
            CudaAsm.Emit(MultiplyStep, a + 4, b + 4);
            CudaAsm.Emit(MultiplyStep, a + 6, b + 6);
            CudaAsm.Emit("wgmma.commit_group.sync.aligned;");
            CudaAsm.Emit("wgmma.wait_group.sync.aligned 1;");
        }
        CudaAsm.Emit("wgmma.wait_group.sync.aligned 0;");

        // Register block p (wgc8p..8p+7) holds columns 16p + 2t, +1 (then 8 further on) of rows g and g + 8 of the
        // warp's 16-row slice: the (d, e) pair TensorCoreLinear.StorePair takes.
        int rowA = t0 + warpGroup * WarpGroupTokens + (warp & 3) * 16 + (lane >> 2), feature = o0 + 2 * (lane & 3);
        var d0 = new Output<float>(); var d1 = new Output<float>(); var d2 = new Output<float>(); var d3 = new Output<float>();
        var e0 = new Output<float>(); var e1 = new Output<float>(); var e2 = new Output<float>(); var e3 = new Output<float>();
        CudaAsm.EmitRef(Read0, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 0, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read1, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read2, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 32, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read3, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 48, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read4, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 64, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read5, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 80, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read6, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 96, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read7, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 112, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read8, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 128, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read9, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 144, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read10, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 160, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read11, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 176, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read12, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 192, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read13, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 208, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read14, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 224, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read15, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 240, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
    }

    /// <summary>
    /// Thread 0 starts one stage: announces the bytes the stage's barrier will receive (both whole boxes — rows past
    /// the end of x or W arrive as zeros and count too), then two TMA copies of [rows, 64] boxes at column
    /// <paramref name="column"/> of In: the x tile (rows t0..) and the W tile (rows o0..), written in the 128-byte swizzle
    /// the descriptors were encoded with, which is the layout the wgmma descriptors name.
    /// </summary>
    private static void LoadStage(uint stage, int xTileBytes, uint barrier, long xMap, long wMap, int column, int t0, int o0)
    {
        CudaAsm.Emit("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;", barrier, xTileBytes + WTileBytes);
        CudaAsm.Emit(LoadTile, stage, xMap, column, t0, barrier);
        CudaAsm.Emit(LoadTile, stage + (uint)xTileBytes, wMap, column, o0, barrier);
    }

    /// <summary>TMA: box at (column %2, row %3) of the matrix whose descriptor is at %1 into shared %0; completes bytes on barrier %4.</summary>
    private const string LoadTile =
        "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];";

    /// <summary>Spins until the barrier at %0 completes the phase with parity %1.</summary>
    private const string WaitForStage = """
        {
        .reg .pred landed;
        wait_stage:
        mbarrier.try_wait.parity.shared::cta.b64 landed, [%0], %1;
        @!landed bra wait_stage;
        }
        """;

    /// <summary>A wgmma descriptor for the K-major, 128-byte-swizzled tile starting at shared address <paramref name="address"/>.</summary>
    private static long Descriptor(uint address) => DescriptorBase | ((address & 0x3FFFF) >> 4);
}
