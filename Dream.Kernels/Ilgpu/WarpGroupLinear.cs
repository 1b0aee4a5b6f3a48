using System.Reflection;
using System.Runtime.CompilerServices;
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
/// Why it is faster than mma.sync: one `wgmma.m64nNk16` multiplies a 64 × 16 slice of x by an N × 16 slice of W
/// for a whole warp group (4 warps), reading both straight from shared memory through 64-bit matrix descriptors —
/// no ldmatrix, no operand registers — and runs asynchronously; and the tiles arrive by TMA (one
/// `cp.async.bulk.tensor` per tile, issued by one thread), so the warps spend almost no instructions on copies.
/// (Measured on an H200: the same kernel fed by per-thread cp.async reached 200–450 TFLOP/s at 2048 tokens,
/// issue-bound at 33% of issue slots; with TMA 580–665 on the large products — docs/benchmarks.md.)
///
/// Work decomposition: a group of 128·G threads computes <see cref="WarpGroupTile"/>s of y, 64G tokens × N features
/// (G = 2 or 3 warp groups, N = 112, 128, 144, 192, 224 or 256, chosen per product by <see cref="TensorCoreLinear"/>); warp group h
/// owns tokens 64h..64h+63 of it, N/2 f32 accumulators per thread. A token-column tile swaps the operands — 64G rows
/// of W × N = 160 tokens, for the SwiGLU product unsplit or any other split-K — so that 320 tokens are two whole
/// columns instead of tiles of 128 or 192 token rows padded to 384 (<see cref="WarpGroupTile.TokenColumns"/>); below, "x tile" and "W tile" read
/// "A tile" (the rows) and "B tile" (the columns). In is walked in steps of 64 (one 128-byte row per
/// operand row) through a ring of S stages in dynamic shared memory (as many as fit in 227 KB: 4 for the 256-wide
/// tiles, 192 × 192 and 192 × 224, 5 for 128 × 224, 128 × 192 and the other 192-token tiles, 6 for 128 × 144, 7 for
/// 128 × 128 and 128 × 112; allowed through <see cref="HopperKernelLoader.AllowDynamicSharedMemory"/>;
/// one group per multiprocessor). Each stage holds the x tile [64G, 64] and the W tile [N, 64] in the 128-byte swizzle
/// (16-byte chunk c of row r at r·128 + 16·(c ⊕ (r mod 8)), 8-row atoms 1 KB-aligned): TMA writes that layout
/// (<see cref="TensorMapTable"/> encodes the descriptors with it) and wgmma reads it (descriptor swizzle mode 1). Rows
/// past the end of the x or W buffer arrive as zeros. Each stage has an mbarrier that thread 0 arms with the stage's
/// byte count and the two TMA copies complete.
/// Per step: barrier (every warp group has retired the wgmma of two steps ago, so that stage is free); thread 0
/// starts the TMA copies of the tile S − 2 steps ahead into it; everyone waits on the current stage's mbarrier; four
/// wgmma (k = 0, 16, 32, 48: the descriptors advance 32 bytes inside the swizzle atom), commit, and wait until the
/// *previous* step's wgmma are done — so the tensor cores always have one step queued. A deeper ring starts each copy
/// earlier, which is why the narrow tiles take every stage that fits: with the 128 × 256 tile the 3584-wide products
/// at a few hundred tokens (one wave of groups or less) took 1,900 cycles per step where the wgmma need 1,024
/// (Nsight Compute on an H200); with 128 × 128 and seven stages they run 1.8× faster (docs/benchmarks.md).
/// The epilogue reads the accumulators out by name and stores through <see cref="TensorCoreLinear"/>'s epilogue; the
/// SwiGLU epilogues read them ready computed and packed to bf16 (ReadSwiGlu0..15, ReadColumnSwiGlu0..9). Those SwiGLU
/// outputs do not go to global memory from registers: the warps write them into the stage the tile's last step
/// read (free once every warp group has retired its wgmma; the next tile's first stages are in the others), in the
/// layout of [64 or 160 tokens, 32 outputs] boxes, and thread 0 hands the boxes to TMA stores
/// (`cp.async.bulk.tensor` from shared to global), which drain while the next tile's products run; the stage is
/// refilled one step into the next tile, after its stores have read it (StageRowsSwiGlu, StageColumnsSwiGlu; docs/
/// benchmarks.md, fourteenth session: gate+up −6% at 512 and 2048 tokens, the loop +2%). The unsplit f32 epilogues of
/// the token-row tiles (QKV's bias store, O's and down's residual adds) stage theirs in the last two steps' stages,
/// one [64, 16] box per register block and warp group, in rounds when they do not fit, and leave by TMA box stores
/// or, for the residual, TMA box reduce-adds into y (StageRowsF32; fifteenth session: O at 2048 tokens −9%, the loop +1%).
/// Grid: at most one group per multiprocessor, each walking every G-th tile of the product (<see cref="TileWalk"/>:
/// token blocks fastest, as in the mma.sync kernel, so the groups that share a weight tile run together). Its ring
/// runs on across tile edges and a tile copies ahead into its successor, so the next tile's first stages land while
/// this one's epilogue stores (docs/benchmarks.md, tenth session: gate+up −9 to −14% with the packed epilogue).
///
/// Loaded through <see cref="HopperKernelLoader"/> (PTX retargeted to sm_90a, shared-memory limit raised); TMA
/// descriptors through <see cref="CudaDriver"/>.
/// </summary>
public sealed partial class WarpGroupLinear : IDisposable
{
    /// <summary>Tokens per consumer warp group (the M of one wgmma).</summary>
    public const int WarpGroupTokens = 64;
    /// <summary>Slice of In per pipeline step: one 128-byte swizzle row per operand row.</summary>
    public const int TileIn = 64;

    private readonly Kernel _kernel;
    private readonly Launcher _launch;
    private readonly AcceleratorStream _stream;
    private readonly TensorMapTable _maps;

    /// <summary>The kernel's launcher (more parameters than an Action takes): the stream and grid, then <see cref="Kernel"/>'s parameters.</summary>
    private delegate void Launcher(AcceleratorStream stream, KernelConfig config, ArrayView<float> bias, int hasBias, int epilogue,
        ArrayView<float> yF32, ArrayView<ushort> yBf16, long xMap, long wMap, long yMap, int tokens, int inFeatures, int outFeatures,
        int stepsPerSplit, int width, int stages, int tokenColumns);

    /// <summary>Whether <paramref name="accelerator"/> can run this kernel (CUDA, compute capability 9.0).</summary>
    public static bool IsSupported(Accelerator accelerator) => HopperKernelLoader.Supports(accelerator);

    /// <summary>Compiles and loads the kernel for <paramref name="accelerator"/> (see <see cref="IsSupported"/>); it launches on <paramref name="stream"/>.</summary>
    public WarpGroupLinear(Accelerator accelerator, AcceleratorStream stream)
    {
        if (!IsSupported(accelerator) || accelerator is not CudaAccelerator cuda)
            throw new NotSupportedException($"the warp-group linear kernel needs a CUDA device of compute capability 9.0; got '{accelerator.Name}'");
        _kernel = HopperKernelLoader.Load(cuda, KernelMethod);
        HopperKernelLoader.AllowDynamicSharedMemory(_kernel, WarpGroupTile.Carried.Max(t => t.SharedBytes));
        _launch = _kernel.CreateLauncherDelegate<Launcher>();
        _stream = stream;
        _maps = new TensorMapTable(accelerator, stream);
    }

    /// <summary>The descriptor table's generation (<see cref="TensorMapTable.Generation"/>): a graph captured under another one is stale.</summary>
    public int DescriptorGeneration => _maps.Generation;

    private static MethodInfo KernelMethod => IlgpuKernels.Method(typeof(WarpGroupLinear), nameof(Kernel));

    /// <summary>The kernel method, for the device-free compile check (CUDA only: it has no OpenCL form).</summary>
    public static IReadOnlyList<(MethodInfo Method, bool OpenCL)> EntryPoints { get; } = [(KernelMethod, false)];

    /// <summary>Whether this kernel takes a product with <paramref name="inFeatures"/> inputs (a multiple of <see cref="TileIn"/>).</summary>
    public static bool Handles(int inFeatures) => inFeatures % TileIn == 0;

    /// <summary>
    /// Launches slices z = 0..split − 1 of the product (each <paramref name="stepsPerSplit"/> steps of In) with
    /// <paramref name="tile"/>; arguments as <see cref="TensorCoreLinear.Forward"/> prepared them (epilogue 3 = split-K partials).
    /// The TMA descriptors cover the whole buffers, <paramref name="xRows"/> and <paramref name="wRows"/> rows (their
    /// views' lengths / In), not just the <paramref name="tokens"/> × <paramref name="outFeatures"/> of this call: the
    /// lm_head rows the loop asks for shrink every step, and a descriptor per row count would mean a driver encode and
    /// a synchronous copy on the denoising hot path. Rows past T or Out are read but only ever reach outputs past T or
    /// Out, which the epilogue does not store. <paramref name="tile"/> is one the kernel carries: chosen by
    /// <see cref="TensorCoreLinear.ChooseTile"/> or checked when <see cref="TensorCoreKernel.Wgmma"/> forced it.
    /// <paramref name="maxGroups"/> caps the groups launched; each walks every that-many-th tile (<see cref="TileWalk"/>).
    /// </summary>
    internal void Launch(WarpGroupTile tile, int split, int maxGroups, ArrayView<float> bias, int hasBias, int epilogue, ArrayView<float> yF32, ArrayView<ushort> yBf16,
        long xAddress, long xRows, long wAddress, long wRows, int tokens, int inFeatures, int outFeatures, int stepsPerSplit)
    {
        // The groups walk the tiles (TileWalk): at most one per multiprocessor unless asked otherwise.
        long tiles = tile.Groups(tokens, outFeatures) * split;
        var config = new KernelConfig(
            new Index3D((int)Math.Min(tiles, maxGroups), 1, 1),
            new Index3D(128 * tile.WarpGroups, 1, 1),
            SharedMemoryConfig.RequestDynamic<byte>(tile.SharedBytes));
        long xMap = _maps.AddressOf(xAddress, xRows, inFeatures, tile.Tokens);
        long wMap = _maps.AddressOf(wAddress, wRows, inFeatures, tile.Features);
        // SwiGLU outputs leave through shared memory and TMA box stores (StageRowsSwiGlu, StageColumnsSwiGlu) when they
        // make whole 32-column boxes (every token-column tile; token-row tiles 128, 192 or 256 wide) and y is 16-byte
        // aligned; the descriptor covers exactly [T, F].
        long yMap = 0;
        if (epilogue == (int)LinearEpilogue.SwiGlu && (tile.TokenColumns || tile.Width % (2 * CudaDriver.OutputBoxColumns) == 0)
            && Ptx.DeviceAddress(yBf16) is long yAddress && yAddress % 16 == 0)
            yMap = _maps.OutputAddressOf(yAddress, tokens, outFeatures / 2, tile.TokenColumns ? tile.Width : WarpGroupTokens);
        // So do a token-row tile's unsplit f32 outputs (StageRowsF32: the bias added on the way, a residual added by a TMA
        // reduce) when the output view is exactly [T, Out] — a product whose row count changes from call to call, as
        // lm_head's over the masked rows does, passes a larger buffer and keeps the register stores, so no descriptor
        // is encoded on the denoising hot path.
        else if ((epilogue == (int)LinearEpilogue.Store || epilogue == (int)LinearEpilogue.AddInto) && !tile.TokenColumns && outFeatures % 4 == 0
            && yF32.Length == (long)tokens * outFeatures && Ptx.DeviceAddress(yF32) is long fAddress && fAddress % 16 == 0)
            yMap = _maps.OutputF32AddressOf(fAddress, tokens, outFeatures, WarpGroupTokens);
        _launch(_stream, config, bias, hasBias, epilogue, yF32, yBf16, xMap, wMap, yMap, tokens, inFeatures, outFeatures, stepsPerSplit, tile.Width, tile.Stages, tile.TokenColumns ? 1 : 0);
    }

    public void Dispose()
    {
        _kernel.Dispose();
        _maps.Dispose();
    }

    // ---------------------------------------------------------------------------------------------------------
    // The kernel.

    /// <param name="xMap">Device address of the TMA descriptor of x: bf16 [tokens, In] row-major, boxes [tile tokens, 64].</param>
    /// <param name="wMap">Device address of the TMA descriptor of W: bf16 [Out, In] row-major (SwiGlu: gate/up interleaved by 8 rows), boxes [tile features, 64].</param>
    /// <param name="yMap">Device address of the TMA descriptor of the output the epilogue stages: for SwiGLU y bf16 [tokens, Out/2] row-major, boxes [64 or 160, 32]; for Store and AddInto y f32 [tokens, Out], boxes [64, 16]; both in the 64-byte swizzle. 0: the epilogue stores from registers.</param>
    /// <param name="width">N of the tile: 112, 128, 144, 160, 192, 224 or 256 (<see cref="WarpGroupTile.MultiplyWidths"/>).</param>
    /// <param name="stages">Stages in the shared-memory ring (<see cref="WarpGroupTile.Stages"/>).</param>
    /// <param name="tokenColumns">1: a token-column tile — its rows are W's (features), its columns x's (tokens); the epilogue is SwiGLU's, or split-K partial sums.</param>
    internal static void Kernel(ArrayView<float> bias, int hasBias, int epilogue, ArrayView<float> yF32, ArrayView<ushort> yBf16,
        long xMap, long wMap, long yMap, int tokens, int inFeatures, int outFeatures, int stepsPerSplit, int width, int stages, int tokenColumns)
    {
        var dynamicShared = SharedMemory.GetDynamic<byte>();
        // Keeps the dynamic shared-memory symbol declared (the kernel addresses it only through assembly).
        if (inFeatures < 0) dynamicShared[0] = 0;
        // Only ever loaded on sm_90 through HopperKernelLoader; elsewhere there is nothing to run.
        if (!CudaAsm.IsSupported) return;

        int thread = Group.IdxX, lane = thread & 31, warp = thread >> 5, warpGroup = warp >> 2;
        bool columns = tokenColumns != 0;
        // Operand A holds the tile's rows (64 per warp group), B its columns.
        int tileRows = WarpGroupTokens * (Group.DimX >> 7);
        var walk = new TileWalk(tokens, outFeatures, inFeatures / TileIn, stepsPerSplit, columns ? width : tileRows, columns ? tileRows : width, columns);
        if (Grid.IdxX >= walk.Count) return;
        int aTileBytes = tileRows * TileIn * 2, stageBytes = aTileBytes + width * TileIn * 2;
        long aMap = columns ? wMap : xMap, bMap = columns ? xMap : wMap;
        uint shared = (Ptx.DynamicSharedBase() + 1023u) & ~1023u;
        // One mbarrier per stage, after the stages: "the tiles of this stage have landed" (TMA completes it).
        uint barriers = shared + (uint)(stages * stageBytes);
        CudaAsm.Emit(DeclareRegisters);
        CudaAsm.Emit("setp.ne.b32 wgp, %0, 0;", 1);

        // The first tile's first stages start before anything else is set up, as soon as their barriers exist.
        var here = walk.At(Grid.IdxX);
        if (thread == 0)
        {
            for (int s = 0; s < stages; s++) CudaAsm.Emit("mbarrier.init.shared::cta.b64 [%0], 1;", barriers + (uint)(8 * s));
            CudaAsm.Emit("fence.mbarrier_init.release.cluster;");
            FirstStages(stages, 0, shared, barriers, aTileBytes, stageBytes, aMap, bMap, here);
        }
        Group.Barrier();

        uint a = shared + (uint)(warpGroup * WarpGroupTokens * TileIn * 2);
        // The copies run S − 2 steps ahead of the products, across the edge into the group's next tile when this
        // one has at least S − 2 steps (every product of the model has 8 or more): the next tile's first stages
        // land while this one's epilogue stores. A tile nobody copied ahead for (the group's first, started above, or
        // one after a tile too short) starts its own first stages. Where the copies stand is worked out from the step and
        // the two tiles' coordinates, which stay put for a whole tile: no cursor is carried from step to step.
        int done = 0;   // steps this group has multiplied so far: where its ring stands
        int firstWait = yMap != 0 && epilogue != (int)LinearEpilogue.SwiGlu ? 0 : 1;   // the first step whose refill may meet staged outputs
        bool copiedAhead = true;
        for (int tile = Grid.IdxX; tile < walk.Count; tile += Grid.DimX)
        {
            var next = walk.At(tile + Grid.DimX);
            int nextSteps = next.Index < walk.Count && here.Steps >= stages - 2 ? next.Steps : 0;
            if (!copiedAhead && thread == 0) FirstStages(stages, done, shared, barriers, aTileBytes, stageBytes, aMap, bMap, here);
            CudaAsm.Emit(ZeroAccumulators);
            // Each tile width runs its own copy of the main loop (the wgmma shape is part of the instruction).
            if (width == 256) MainLoop(256, stages, done, thread, shared, a, barriers, aTileBytes, stageBytes, aMap, bMap, here, next, nextSteps, firstWait);
            else if (width == 224) MainLoop(224, stages, done, thread, shared, a, barriers, aTileBytes, stageBytes, aMap, bMap, here, next, nextSteps, firstWait);
            else if (width == 192) MainLoop(192, stages, done, thread, shared, a, barriers, aTileBytes, stageBytes, aMap, bMap, here, next, nextSteps, firstWait);
            else if (width == 160) MainLoop(160, stages, done, thread, shared, a, barriers, aTileBytes, stageBytes, aMap, bMap, here, next, nextSteps, firstWait);
            else if (width == 144) MainLoop(144, stages, done, thread, shared, a, barriers, aTileBytes, stageBytes, aMap, bMap, here, next, nextSteps, firstWait);
            else if (width == 128) MainLoop(128, stages, done, thread, shared, a, barriers, aTileBytes, stageBytes, aMap, bMap, here, next, nextSteps, firstWait);
            else MainLoop(112, stages, done, thread, shared, a, barriers, aTileBytes, stageBytes, aMap, bMap, here, next, nextSteps, firstWait);
            done += here.Steps;
            copiedAhead = nextSteps > 0;
            CudaAsm.Emit("wgmma.wait_group.sync.aligned 0;");
            int row = here.A0 + warpGroup * WarpGroupTokens + (warp & 3) * 16 + (lane >> 2), column = here.B0 + 2 * (lane & 3);
            if (yMap != 0)
            {
                // The staged epilogues write into the last steps' stages: they are free once every warp group has
                // retired its wgmma (and the previous tile's box stores have read theirs: long done, but a tile of one
                // step would not have waited).
                if (thread == 0) CudaAsm.Emit("cp.async.bulk.wait_group.read 0;");
                Group.Barrier();
            }
            if (yMap != 0 && epilogue != (int)LinearEpilogue.SwiGlu)
            {
                // f32 outputs: the last two steps' stages.
                StageRowsF32(bias, hasBias, epilogue == (int)LinearEpilogue.AddInto, yMap, thread, Group.DimX >> 7, warpGroup, width,
                    shared + (uint)((done + stages - 2) % stages * stageBytes), shared + (uint)((done - 1) % stages * stageBytes), stageBytes >> 12,
                    here.A0, here.B0, outFeatures, (warp & 3) * 16 + (lane >> 2), lane & 3);
            }
            else if (yMap != 0)
            {
                // SwiGLU outputs: the last step's stage. Per warp group: a token-row tile's width/64 boxes of
                // [64 tokens, 32 outputs], or a token-column tile's one box of [160 tokens, its 32 outputs].
                int boxes = columns ? 1 : width >> 6, boxBytes = columns ? width * 64 : OutputBoxBytes;
                uint staging = shared + (uint)((done - 1) % stages * stageBytes);
                if (columns) StageColumnsSwiGlu(staging + (uint)(warpGroup * boxBytes), warp & 3, lane >> 2, lane & 3);
                else StageRowsSwiGlu(staging + (uint)(warpGroup * boxBytes * boxes), width, (warp & 3) * 16 + (lane >> 2), lane & 3);
                // The stores through the generic proxy must be visible to the TMA (async proxy) before it reads them.
                CudaAsm.Emit("fence.proxy.async.shared::cta;");
                Group.Barrier();
                if (thread == 0)
                {
                    for (int g = 0; g < (Group.DimX >> 7); g++)
                        for (int b = 0; b < boxes; b++)
                        {
                            uint box = staging + (uint)((g * boxes + b) * boxBytes);
                            if (columns) CudaAsm.Emit(StoreBox, yMap, (here.A0 >> 1) + 32 * g, here.B0, box);
                            else CudaAsm.Emit(StoreBox, yMap, (here.B0 >> 1) + 32 * b, here.A0 + WarpGroupTokens * g, box);
                        }
                    CudaAsm.Emit("cp.async.bulk.commit_group;");
                }
            }
            else if (columns && epilogue == (int)LinearEpilogue.SwiGlu) StoreColumns(yBf16, tokens, outFeatures, row, column);
            else if (columns) StoreColumnPartials(yF32, here.Slice, tokens, outFeatures, row, column);
            else if (epilogue == (int)LinearEpilogue.SwiGlu) StoreRowsSwiGlu(yBf16, tokens, outFeatures, width, row, column);
            else StoreRows(bias, hasBias, epilogue, here.Slice, yF32, tokens, outFeatures, width, row, column);
            here = next;   // the tile the loop goes to next, already worked out
        }
        // Box stores still in flight read shared memory the group is about to give up.
        if (thread == 0) CudaAsm.Emit("cp.async.bulk.wait_group 0;");
    }

    /// <summary>
    /// The epilogue of a token-column tile (SwiGLU only): W rows <paramref name="gateRow"/> (a gate row, g of its
    /// 16-row block) and the up row 8 below it give output column (gateRow − gateRow mod 16)/2 + gateRow mod 8 for
    /// tokens 16p + 2t, +1, +8, +9 of register block p (ReadColumnSwiGlu0..9). The only token-column tiles are 160
    /// wide (WarpGroupTile.TokenColumnTiles): ten blocks. Column blocks past 2F hold zeros: skipped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreColumns(ArrayView<ushort> yBf16, int tokens, int outFeatures, int gateRow, int token)
    {
        int width = outFeatures / 2, column = TensorCoreLinear.SwiGluColumn(gateRow);
        if (column >= width) return;
        var first = new Output<uint>(); var second = new Output<uint>();
        CudaAsm.EmitRef(ReadColumnSwiGlu0, ref first, ref second);
        StoreColumnWords(yBf16, tokens, width, column, token + 0, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu1, ref first, ref second);
        StoreColumnWords(yBf16, tokens, width, column, token + 16, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu2, ref first, ref second);
        StoreColumnWords(yBf16, tokens, width, column, token + 32, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu3, ref first, ref second);
        StoreColumnWords(yBf16, tokens, width, column, token + 48, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu4, ref first, ref second);
        StoreColumnWords(yBf16, tokens, width, column, token + 64, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu5, ref first, ref second);
        StoreColumnWords(yBf16, tokens, width, column, token + 80, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu6, ref first, ref second);
        StoreColumnWords(yBf16, tokens, width, column, token + 96, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu7, ref first, ref second);
        StoreColumnWords(yBf16, tokens, width, column, token + 112, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu8, ref first, ref second);
        StoreColumnWords(yBf16, tokens, width, column, token + 128, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu9, ref first, ref second);
        StoreColumnWords(yBf16, tokens, width, column, token + 144, first.Value, second.Value);
    }

    /// <summary>
    /// The f32 epilogue of a token-column tile, which always runs split-K (<see cref="TensorCoreLinear"/> sees to it):
    /// the raw partial sums of W rows <paramref name="feature"/> and + 8 for tokens 16p + 2t, +1, +8, +9 of register
    /// block p (Read0..9: (d0, d1) at row g, (d2, d3) at g + 8, e 8 tokens on) go to slice <paramref name="slice"/>
    /// of the workspace [split, T, Out], transposed back to token-major; the reduce pass adds the slices and applies
    /// the bias or the residual. Four lanes hold neighbouring tokens of eight neighbouring features, so one store
    /// instruction writes four whole 32-byte sectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreColumnPartials(ArrayView<float> workspace, int slice, int tokens, int outFeatures, int feature, int token)
    {
        if (feature >= outFeatures) return;
        var d0 = new Output<float>(); var d1 = new Output<float>(); var d2 = new Output<float>(); var d3 = new Output<float>();
        var e0 = new Output<float>(); var e1 = new Output<float>(); var e2 = new Output<float>(); var e3 = new Output<float>();
        long sliceStart = (long)slice * tokens * outFeatures;
        bool second = feature + 8 < outFeatures;
        CudaAsm.EmitRef(Read0, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePartialBlock(workspace, sliceStart, tokens, outFeatures, feature, second, token + 0, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read1, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePartialBlock(workspace, sliceStart, tokens, outFeatures, feature, second, token + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read2, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePartialBlock(workspace, sliceStart, tokens, outFeatures, feature, second, token + 32, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read3, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePartialBlock(workspace, sliceStart, tokens, outFeatures, feature, second, token + 48, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read4, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePartialBlock(workspace, sliceStart, tokens, outFeatures, feature, second, token + 64, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read5, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePartialBlock(workspace, sliceStart, tokens, outFeatures, feature, second, token + 80, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read6, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePartialBlock(workspace, sliceStart, tokens, outFeatures, feature, second, token + 96, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read7, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePartialBlock(workspace, sliceStart, tokens, outFeatures, feature, second, token + 112, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read8, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePartialBlock(workspace, sliceStart, tokens, outFeatures, feature, second, token + 128, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read9, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePartialBlock(workspace, sliceStart, tokens, outFeatures, feature, second, token + 144, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
    }

    /// <summary>One register block of <see cref="StoreColumnPartials"/>: tokens <paramref name="token"/>, +1, +8, +9 of features <paramref name="feature"/> and (when <paramref name="second"/>) + 8.</summary>
    private static void StorePartialBlock(ArrayView<float> workspace, long sliceStart, int tokens, int outFeatures, int feature, bool second, int token,
        float d0, float d1, float d2, float d3, float e0, float e1, float e2, float e3)
    {
        long at = sliceStart + (long)token * outFeatures + feature;
        if (token < tokens) { workspace[at] = d0; if (second) workspace[at + 8] = d2; }
        if (token + 1 < tokens) { workspace[at + outFeatures] = d1; if (second) workspace[at + outFeatures + 8] = d3; }
        if (token + 8 < tokens) { workspace[at + 8L * outFeatures] = e0; if (second) workspace[at + 8L * outFeatures + 8] = e2; }
        if (token + 9 < tokens) { workspace[at + 9L * outFeatures] = e1; if (second) workspace[at + 9L * outFeatures + 8] = e3; }
    }

    /// <summary>Outputs of tokens <paramref name="token"/>, +1 (<paramref name="pair"/>, lower half first) and +8, +9 (<paramref name="pair8"/>) at <paramref name="column"/> of y [T, F].</summary>
    private static void StoreColumnWords(ArrayView<ushort> y, int tokens, int width, int column, int token, uint pair, uint pair8)
    {
        if (token < tokens) y[(long)token * width + column] = (ushort)pair;
        if (token + 1 < tokens) y[(long)(token + 1) * width + column] = (ushort)(pair >> 16);
        if (token + 8 < tokens) y[(long)(token + 8) * width + column] = (ushort)pair8;
        if (token + 9 < tokens) y[(long)(token + 9) * width + column] = (ushort)(pair8 >> 16);
    }

    /// <summary>
    /// The SwiGLU epilogue of a token-row tile <paramref name="width"/> wide: register block p gives, ready packed
    /// (ReadSwiGlu0..15), the outputs of gate features 16p + 2t, +1 at rows g and g + 8 of the warp's slice — the same
    /// outputs, in the same layout, as <see cref="TensorCoreLinear.StorePair"/>'s SwiGLU branch stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRowsSwiGlu(ArrayView<ushort> yBf16, int tokens, int outFeatures, int width, int row, int feature)
    {
        var low = new Output<uint>(); var high = new Output<uint>();
        CudaAsm.EmitRef(ReadSwiGlu0, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 0, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu1, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 16, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu2, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 32, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu3, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 48, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu4, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 64, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu5, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 80, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu6, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 96, low.Value, high.Value);
        if (width == 112) return;
        CudaAsm.EmitRef(ReadSwiGlu7, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 112, low.Value, high.Value);
        if (width == 128) return;
        CudaAsm.EmitRef(ReadSwiGlu8, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 128, low.Value, high.Value);
        if (width == 144) return;
        CudaAsm.EmitRef(ReadSwiGlu9, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 144, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu10, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 160, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu11, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 176, low.Value, high.Value);
        if (width == 192) return;
        CudaAsm.EmitRef(ReadSwiGlu12, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 192, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu13, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 208, low.Value, high.Value);
        if (width == 224) return;
        CudaAsm.EmitRef(ReadSwiGlu14, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 224, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu15, ref low, ref high);
        StoreSwiGluWords(yBf16, tokens, outFeatures / 2, row, feature + 240, low.Value, high.Value);
    }

    /// <summary>TMA: reduce-add the box in shared %3 into the tensor whose descriptor is at %0, at (column %1, row %2), in the thread's bulk group.</summary>
    private const string ReduceBox = "cp.reduce.async.bulk.tensor.2d.global.shared::cta.add.tile.bulk_group [%0, {%1, %2}], [%3];";

    /// <summary>Bytes of one staged f32 output box: [64 rows, 16 floats].</summary>
    private const int OutputF32BoxBytes = WarpGroupTokens * CudaDriver.OutputF32BoxColumns * 4;

    /// <summary>
    /// The f32 epilogue of a token-row tile through shared memory: register block p of each warp group (columns
    /// 16p..16p + 15 of its 64 rows, the bias added — <see cref="Bias"/>) becomes one [64, 16] box, row r at 64·r, its
    /// 16-byte chunk c at 16·(c ⊕ (r/2 mod 4)), in the two stages the tile's last two steps read
    /// (<paramref name="first"/>, <paramref name="second"/>: <paramref name="boxesPerStage"/> boxes each). A tile
    /// whose boxes do not all fit goes in rounds: stage as many blocks as fit, hand them to TMA stores (or, with
    /// <paramref name="add"/>, TMA reduce-adds into y: the residual add done in L2, the same single rounding as
    /// y + product), wait until the stores have read them, go on.
    /// </summary>
    /// <param name="localRow">g: the thread's row in its warp group's 64, (warp mod 4)·16 + lane/4.</param>
    /// <param name="t">lane mod 4.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StageRowsF32(ArrayView<float> bias, int hasBias, bool add, long yMap, int thread, int warpGroups, int warpGroup, int width,
        uint first, uint second, int boxesPerStage, int a0, int b0, int outFeatures, int localRow, int t)
    {
        int blocks = width >> 4, perRound = 2 * boxesPerStage / warpGroups;
        int swizzle = (localRow >> 1) & 3;
        // A thread's pair of columns 2t, 2t + 1 in chunk t/2 of its row, its pair 8 columns on in chunk 2 + t/2.
        uint off0 = (uint)(localRow * 64 + (((t >> 1) ^ swizzle) << 4) + ((t & 1) << 3));
        uint off1 = (uint)(localRow * 64 + (((2 + (t >> 1)) ^ swizzle) << 4) + ((t & 1) << 3));
        for (int start = 0; start < blocks; start += perRound)
        {
            int end = Math.Min(blocks, start + perRound);
            // Block p's box in this round: entry (p − start)·G + warp group.
            if (start <= 0 && 0 < end)
            {
                uint box = StagedBox((0 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_0, box + off0, box + off1, Bias(bias, hasBias, b0 + 0 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 0 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 0 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 0 + 2 * t + 9, outFeatures));
            }
            if (start <= 1 && 1 < end)
            {
                uint box = StagedBox((1 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_1, box + off0, box + off1, Bias(bias, hasBias, b0 + 16 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 16 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 16 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 16 + 2 * t + 9, outFeatures));
            }
            if (start <= 2 && 2 < end)
            {
                uint box = StagedBox((2 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_2, box + off0, box + off1, Bias(bias, hasBias, b0 + 32 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 32 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 32 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 32 + 2 * t + 9, outFeatures));
            }
            if (start <= 3 && 3 < end)
            {
                uint box = StagedBox((3 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_3, box + off0, box + off1, Bias(bias, hasBias, b0 + 48 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 48 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 48 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 48 + 2 * t + 9, outFeatures));
            }
            if (start <= 4 && 4 < end)
            {
                uint box = StagedBox((4 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_4, box + off0, box + off1, Bias(bias, hasBias, b0 + 64 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 64 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 64 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 64 + 2 * t + 9, outFeatures));
            }
            if (start <= 5 && 5 < end)
            {
                uint box = StagedBox((5 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_5, box + off0, box + off1, Bias(bias, hasBias, b0 + 80 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 80 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 80 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 80 + 2 * t + 9, outFeatures));
            }
            if (start <= 6 && 6 < end)
            {
                uint box = StagedBox((6 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_6, box + off0, box + off1, Bias(bias, hasBias, b0 + 96 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 96 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 96 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 96 + 2 * t + 9, outFeatures));
            }
            if (start <= 7 && 7 < end)
            {
                uint box = StagedBox((7 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_7, box + off0, box + off1, Bias(bias, hasBias, b0 + 112 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 112 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 112 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 112 + 2 * t + 9, outFeatures));
            }
            if (start <= 8 && 8 < end)
            {
                uint box = StagedBox((8 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_8, box + off0, box + off1, Bias(bias, hasBias, b0 + 128 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 128 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 128 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 128 + 2 * t + 9, outFeatures));
            }
            if (start <= 9 && 9 < end)
            {
                uint box = StagedBox((9 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_9, box + off0, box + off1, Bias(bias, hasBias, b0 + 144 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 144 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 144 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 144 + 2 * t + 9, outFeatures));
            }
            if (start <= 10 && 10 < end)
            {
                uint box = StagedBox((10 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_10, box + off0, box + off1, Bias(bias, hasBias, b0 + 160 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 160 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 160 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 160 + 2 * t + 9, outFeatures));
            }
            if (start <= 11 && 11 < end)
            {
                uint box = StagedBox((11 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_11, box + off0, box + off1, Bias(bias, hasBias, b0 + 176 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 176 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 176 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 176 + 2 * t + 9, outFeatures));
            }
            if (start <= 12 && 12 < end)
            {
                uint box = StagedBox((12 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_12, box + off0, box + off1, Bias(bias, hasBias, b0 + 192 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 192 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 192 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 192 + 2 * t + 9, outFeatures));
            }
            if (start <= 13 && 13 < end)
            {
                uint box = StagedBox((13 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_13, box + off0, box + off1, Bias(bias, hasBias, b0 + 208 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 208 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 208 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 208 + 2 * t + 9, outFeatures));
            }
            if (start <= 14 && 14 < end)
            {
                uint box = StagedBox((14 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_14, box + off0, box + off1, Bias(bias, hasBias, b0 + 224 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 224 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 224 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 224 + 2 * t + 9, outFeatures));
            }
            if (start <= 15 && 15 < end)
            {
                uint box = StagedBox((15 - start) * warpGroups + warpGroup, first, second, boxesPerStage);
                CudaAsm.Emit(StageF32_15, box + off0, box + off1, Bias(bias, hasBias, b0 + 240 + 2 * t, outFeatures), Bias(bias, hasBias, b0 + 240 + 2 * t + 1, outFeatures), Bias(bias, hasBias, b0 + 240 + 2 * t + 8, outFeatures), Bias(bias, hasBias, b0 + 240 + 2 * t + 9, outFeatures));
            }
            CudaAsm.Emit("fence.proxy.async.shared::cta;");
            Group.Barrier();
            if (thread == 0)
            {
                for (int p = start; p < end; p++)
                    for (int g = 0; g < warpGroups; g++)
                    {
                        uint box = StagedBox((p - start) * warpGroups + g, first, second, boxesPerStage);
                        if (add) CudaAsm.Emit(ReduceBox, yMap, b0 + 16 * p, a0 + WarpGroupTokens * g, box);
                        else CudaAsm.Emit(StoreBox, yMap, b0 + 16 * p, a0 + WarpGroupTokens * g, box);
                    }
                CudaAsm.Emit("cp.async.bulk.commit_group;");
                // Another round reuses the stages: the stores must have read them first.
                if (end < blocks) CudaAsm.Emit("cp.async.bulk.wait_group.read 0;");
            }
            if (end < blocks) Group.Barrier();
        }
    }

    /// <summary>Shared address of staged box <paramref name="index"/>: the first stage's boxes, then the second's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint StagedBox(int index, uint first, uint second, int boxesPerStage) =>
        index < boxesPerStage ? first + (uint)(index * OutputF32BoxBytes) : second + (uint)((index - boxesPerStage) * OutputF32BoxBytes);

    /// <summary>The bias of output <paramref name="column"/>, or −0 — which adds nothing, not even to a −0 — without a bias or past Out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Bias(ArrayView<float> bias, int hasBias, int column, int outFeatures) =>
        hasBias != 0 && column < outFeatures ? bias[column] : -0f;

    /// <summary>Bytes of one staged output box: [64 rows, 32 bf16].</summary>
    private const int OutputBoxBytes = WarpGroupTokens * CudaDriver.OutputBoxColumns * 2;

    /// <summary>TMA: box at (column %1, row %2) of the tensor whose descriptor is at %0, from shared %3, in the thread's bulk group.</summary>
    private const string StoreBox = "cp.async.bulk.tensor.2d.global.shared::cta.bulk_group [%0, {%1, %2}], [%3];";

    /// <summary>
    /// The SwiGLU epilogue of a token-row tile staged for box stores: the same packed outputs as
    /// <see cref="StoreRowsSwiGlu"/> (register block p: output columns 8p + 2t, +1 of rows g and g + 8 of the warp's
    /// 16), written into this warp group's boxes at <paramref name="staging"/> — box p/4 holds output columns 32(p/4)..+31,
    /// its row r at 64·r and its 16-byte chunk c at 16·(c ⊕ (r/2 mod 4)), the 64-byte swizzle the output descriptor
    /// names; so the eight rows a warp writes at once land in eight different chunks and no two lanes share a bank.
    /// </summary>
    /// <param name="localRow">g: the thread's row in its warp group's 64, (warp mod 4)·16 + lane/4.</param>
    /// <param name="t">lane mod 4.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StageRowsSwiGlu(uint staging, int width, int localRow, int t)
    {
        uint row = staging + (uint)(localRow * 64 + 4 * t);
        int swizzle = (localRow >> 1) & 3;
        var low = new Output<uint>(); var high = new Output<uint>();
        CudaAsm.EmitRef(ReadSwiGlu0, ref low, ref high); StageWords(row, swizzle, 0, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu1, ref low, ref high); StageWords(row, swizzle, 1, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu2, ref low, ref high); StageWords(row, swizzle, 2, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu3, ref low, ref high); StageWords(row, swizzle, 3, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu4, ref low, ref high); StageWords(row, swizzle, 4, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu5, ref low, ref high); StageWords(row, swizzle, 5, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu6, ref low, ref high); StageWords(row, swizzle, 6, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu7, ref low, ref high); StageWords(row, swizzle, 7, low.Value, high.Value);
        if (width == 128) return;
        CudaAsm.EmitRef(ReadSwiGlu8, ref low, ref high); StageWords(row, swizzle, 8, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu9, ref low, ref high); StageWords(row, swizzle, 9, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu10, ref low, ref high); StageWords(row, swizzle, 10, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu11, ref low, ref high); StageWords(row, swizzle, 11, low.Value, high.Value);
        if (width == 192) return;
        CudaAsm.EmitRef(ReadSwiGlu12, ref low, ref high); StageWords(row, swizzle, 12, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu13, ref low, ref high); StageWords(row, swizzle, 13, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu14, ref low, ref high); StageWords(row, swizzle, 14, low.Value, high.Value);
        CudaAsm.EmitRef(ReadSwiGlu15, ref low, ref high); StageWords(row, swizzle, 15, low.Value, high.Value);
    }

    /// <summary>
    /// The SwiGLU epilogue of a token-column tile staged for a box store: the same outputs as <see cref="StoreColumns"/>
    /// (register block p: tokens 16p + 2t, +1, +8, +9 of output 8w + g, w the warp in its warp group), written into the
    /// warp group's box [160 tokens, 32 outputs] at <paramref name="staging"/> — token r at 64·r, the 16-byte chunk of
    /// output 8w + g at 16·(w ⊕ (r/2 mod 4)), and r/2 mod 4 is t for all four of a thread's tokens.
    /// </summary>
    /// <param name="w">The warp in its warp group (warp mod 4).</param>
    /// <param name="g">lane/4: the thread's gate row in its warp's 16 (its up row is 8 below).</param>
    /// <param name="t">lane mod 4.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StageColumnsSwiGlu(uint staging, int w, int g, int t)
    {
        uint at = staging + (uint)(2 * t * 64 + ((w ^ t) << 4) + 2 * g);
        var first = new Output<uint>(); var second = new Output<uint>();
        CudaAsm.EmitRef(ReadColumnSwiGlu0, ref first, ref second); StageTokens(at, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu1, ref first, ref second); StageTokens(at + 1024, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu2, ref first, ref second); StageTokens(at + 2 * 1024, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu3, ref first, ref second); StageTokens(at + 3 * 1024, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu4, ref first, ref second); StageTokens(at + 4 * 1024, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu5, ref first, ref second); StageTokens(at + 5 * 1024, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu6, ref first, ref second); StageTokens(at + 6 * 1024, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu7, ref first, ref second); StageTokens(at + 7 * 1024, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu8, ref first, ref second); StageTokens(at + 8 * 1024, first.Value, second.Value);
        CudaAsm.EmitRef(ReadColumnSwiGlu9, ref first, ref second); StageTokens(at + 9 * 1024, first.Value, second.Value);
    }

    /// <summary>One register block's four outputs, one bf16 each: tokens 16p + 2t and + 1 from <paramref name="pair"/> (the first in its lower half) at <paramref name="at"/> and one staged row (64 bytes) on, + 8 and + 9 from <paramref name="pair8"/> eight rows on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StageTokens(uint at, uint pair, uint pair8)
    {
        CudaAsm.Emit("{ .reg .b16 lo, hi; mov.b32 {lo, hi}, %1; st.shared.b16 [%0], lo; st.shared.b16 [%0+64], hi; }", at, pair);
        CudaAsm.Emit("{ .reg .b16 lo, hi; mov.b32 {lo, hi}, %1; st.shared.b16 [%0+512], lo; st.shared.b16 [%0+576], hi; }", at, pair8);
    }

    /// <summary>Register block <paramref name="block"/>'s two words: row g at <paramref name="row"/>'s place in box block/4, row g + 8 eight staged rows (512 bytes) further.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StageWords(uint row, int swizzle, int block, uint atRow, uint atRow8)
    {
        uint address = row + (uint)((block >> 2) * OutputBoxBytes + (((block & 3) ^ swizzle) << 4));
        CudaAsm.Emit("st.shared.b32 [%0], %1;", address, atRow);
        CudaAsm.Emit("st.shared.b32 [%0+512], %1;", address, atRow8);
    }

    /// <summary>
    /// Two bf16 pairs of one register block: <paramref name="atRow"/> at (row, column), <paramref name="atRow8"/> at
    /// (row + 8, column) of y [T, F], one 4-byte store each (F is a multiple of 8 and the column even). Feature
    /// blocks past 2F (the last group of a layer whose 2F is not a multiple of the tile width) hold zeros and would
    /// land in the next row: skipped.
    /// </summary>
    private static void StoreSwiGluWords(ArrayView<ushort> y, int tokens, int width, int row, int feature, uint atRow, uint atRow8)
    {
        int column = TensorCoreLinear.SwiGluColumn(feature);
        if (column >= width) return;
        var words = y.Cast<uint>();
        if (row < tokens) words[((long)row * width + column) >> 1] = atRow;
        if (row + 8 < tokens) words[((long)(row + 8) * width + column) >> 1] = atRow8;
    }

    /// <summary>
    /// The epilogue of a token-row tile <paramref name="width"/> wide. Register block p (wgc8p..8p+7) holds
    /// columns 16p + 2t, +1 (then 8 further on) of rows g and g + 8 of the warp's 16-row slice: the (d, e) pair
    /// TensorCoreLinear.StoreFloatPair takes. A split product's partial sums go to workspace slice <paramref name="slice"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows(ArrayView<float> bias, int hasBias, int epilogue, int slice, ArrayView<float> yF32,
        int tokens, int outFeatures, int width, int rowA, int feature)
    {
        var d0 = new Output<float>(); var d1 = new Output<float>(); var d2 = new Output<float>(); var d3 = new Output<float>();
        var e0 = new Output<float>(); var e1 = new Output<float>(); var e2 = new Output<float>(); var e3 = new Output<float>();
        CudaAsm.EmitRef(Read0, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 0, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read1, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read2, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 32, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read3, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 48, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read4, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 64, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read5, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 80, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read6, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 96, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        if (width == 112) return;
        CudaAsm.EmitRef(Read7, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 112, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        if (width == 128) return;
        CudaAsm.EmitRef(Read8, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 128, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        if (width == 144) return;
        CudaAsm.EmitRef(Read9, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 144, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read10, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 160, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read11, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 176, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        if (width == 192) return;
        CudaAsm.EmitRef(Read12, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 192, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read13, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 208, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        if (width == 224) return;
        CudaAsm.EmitRef(Read14, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 224, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef(Read15, ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        TensorCoreLinear.StoreFloatPair(bias, hasBias, epilogue, slice, yF32, tokens, outFeatures, rowA, feature + 240, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
    }

    /// <summary>
    /// Thread 0 starts one stage: announces the bytes the stage's barrier will receive (both whole boxes — rows past
    /// the end of x or W arrive as zeros and count too), then two TMA copies of [rows, 64] boxes at column
    /// <paramref name="column"/> of In: the A tile (rows a0.. of its matrix: x, or W for a token-column tile) and the
    /// B tile (rows b0.. of the other), written in the 128-byte swizzle the descriptors were encoded with, which is
    /// the layout the wgmma descriptors name.
    /// </summary>
    private static void LoadStage(uint stage, int aTileBytes, int stageBytes, uint barrier, long aMap, long bMap, int column, int a0, int b0)
    {
        CudaAsm.Emit("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;", barrier, stageBytes);
        CudaAsm.Emit(LoadTile, stage, aMap, column, a0, barrier);
        CudaAsm.Emit(LoadTile, stage + (uint)aTileBytes, bMap, column, b0, barrier);
    }

    /// <summary>Thread 0 starts the first S − 2 stages (or all, if fewer) of <paramref name="tile"/>, the ring standing at <paramref name="done"/> steps.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FirstStages(int stages, int done, uint shared, uint barriers, int aTileBytes, int stageBytes, long aMap, long bMap, TileWalk.Tile tile)
    {
        for (int s = 0; s < stages - 2 && s < tile.Steps; s++)
        {
            int slot = (done + s) % stages;
            LoadStage(shared + (uint)(slot * stageBytes), aTileBytes, stageBytes, barriers + (uint)(8 * slot), aMap, bMap, tile.Column(s), tile.A0, tile.B0);
        }
    }

    /// <summary>
    /// The main loop of tile <paramref name="here"/>, <paramref name="n"/> features wide (a constant at each call
    /// site, so each copy keeps only its own wgmma shape), the group's ring standing at <paramref name="done"/> steps
    /// multiplied. <paramref name="a"/> is this warp group's A rows in stage 0. Thread 0 copies S − 2 steps ahead:
    /// this tile's steps, then the first <paramref name="nextSteps"/> of <paramref name="next"/> (0: none). Before the
    /// refills of steps <paramref name="firstWait"/>..1 it waits for the last tile's staged box stores to have read
    /// their stages.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MainLoop(int n, int stages, int done, int thread, uint shared, uint a, uint barriers,
        int aTileBytes, int stageBytes, long aMap, long bMap, TileWalk.Tile here, TileWalk.Tile next, int nextSteps, int firstWait)
    {
        // Ring positions kept as counters (no division per step): the slot read this step and its mbarrier phase
        // parity (it flips each time the ring wraps), and the slot refilled this step.
        int slot = done % stages, parity = (done / stages) & 1, refill = (done + stages - 2) % stages;
        for (int step = 0; step < here.Steps; step++)
        {
            // Every warp group has retired the wgmma of two steps ago (it waited for them at the end of the last
            // step, or for all of them before the last tile's epilogue), so the stage they read can be refilled
            // with the step S − 2 ahead — of this tile or of the group's next.
            Group.Barrier();
            if (thread == 0)
            {
                // Steps 0 and 1 refill the stages the last tile's outputs were staged in (f32: both, from step
                // firstWait = 0; SwiGLU: the second, from step 1): its box stores must have read them.
                if (step >= firstWait && step < 2) CudaAsm.Emit("cp.async.bulk.wait_group.read 0;");
                int ahead = step + stages - 2;
                if (ahead < here.Steps)
                    LoadStage(shared + (uint)(refill * stageBytes), aTileBytes, stageBytes, barriers + (uint)(8 * refill), aMap, bMap, here.Column(ahead), here.A0, here.B0);
                else if (ahead - here.Steps < nextSteps)
                    LoadStage(shared + (uint)(refill * stageBytes), aTileBytes, stageBytes, barriers + (uint)(8 * refill), aMap, bMap, next.Column(ahead - here.Steps), next.A0, next.B0);
            }
            refill = refill + 1 == stages ? 0 : refill + 1;

            CudaAsm.Emit(WaitForStage, barriers + (uint)(8 * slot), parity);

            uint stage = (uint)(slot * stageBytes);
            // Both operands K-major (x and W are stored with In contiguous).
            long da = WgmmaDescriptor.At(WgmmaDescriptor.KMajor, a + stage), db = WgmmaDescriptor.At(WgmmaDescriptor.KMajor, shared + stage + (uint)aTileBytes);
            CudaAsm.Emit("wgmma.fence.sync.aligned;");
            // k = 0, 16, 32, 48: +32 bytes each inside the swizzle atom (the descriptors count 16-byte units).
            MultiplyStep(n, da, db);
            MultiplyStep(n, da + 2, db + 2);
            MultiplyStep(n, da + 4, db + 4);
            MultiplyStep(n, da + 6, db + 6);
            CudaAsm.Emit("wgmma.commit_group.sync.aligned;");
            CudaAsm.Emit("wgmma.wait_group.sync.aligned 1;");
            if (++slot == stages) { slot = 0; parity ^= 1; }
        }
    }

    /// <summary>One k16 slice for the warp group with the wgmma shape of an <paramref name="n"/>-wide tile (a constant: one branch survives).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyStep(int n, long a, long b)
    {
        if (n == 256) CudaAsm.Emit(MultiplyStep256, a, b);
        else if (n == 224) CudaAsm.Emit(MultiplyStep224, a, b);
        else if (n == 192) CudaAsm.Emit(MultiplyStep192, a, b);
        else if (n == 160) CudaAsm.Emit(MultiplyStep160, a, b);
        else if (n == 144) CudaAsm.Emit(MultiplyStep144, a, b);
        else if (n == 128) CudaAsm.Emit(MultiplyStep128, a, b);
        else CudaAsm.Emit(MultiplyStep112, a, b);
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
}
