using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The third attention kernel: <see cref="KernelTensorCore"/>'s algorithm on Hopper's warp-group tensor cores
/// (`wgmma`, H100/H200 only, loaded through <see cref="HopperKernelLoader"/>).
///
/// Why: the mma.sync kernel feeds every multiply through ldmatrix — each warp reads its own copy of every K and V
/// fragment from shared memory, 64 ldmatrix.x4 per 128 mma — and at 2048 tokens it ran at about 200 TFLOP/s
/// (docs/benchmarks.md). A `wgmma` reads its shared-memory operands once per warp group, straight from the tile,
/// with no operand registers: S = Q·Kᵀ is eight `m64n64k16` with both Q and K in shared memory, and O += P·V four
/// `m64n128k16` with P from registers (the bf16 pairs the online softmax packs are already wgmma's A fragment) and
/// V read in place as an N-major (transposed) operand.
///
/// Same decomposition as the mma.sync kernel — one group of 128 threads (one warp group) per (batch row, head,
/// block of 64 queries), keys in blocks of 64, warp w on query rows 16w..16w+15 — and the same masking, online
/// softmax (running max and sum, P rounded to bf16) and output rounding: wgmma's accumulators for warp w sit in
/// mma.sync's m16n8 layout, so those PTX blocks are shared (FlashAttention.Ptx.cs). Only where the operands live
/// changes: three 16 KB tiles — Q (loaded once), K and V — each [64 rows, 128 dims] as two 64-dim slabs in the
/// 128-byte swizzle wgmma reads (16-byte chunk c of row r at r·128 + 16·(c ⊕ r mod 8), slabs 1 KB-aligned).
/// The copies are per-thread cp.async, as before; their writes go through the generic proxy and wgmma reads
/// through the async proxy, so every wait for copies is followed by `fence.proxy.async` before the barrier.
/// </summary>
public static partial class FlashAttention
{
    /// <summary>Bytes of one swizzled [64, 128] bf16 tile: two slabs of 64 rows × 128 bytes.</summary>
    private const int SwizzledTileBytes = 2 * SlabBytes;

    /// <summary>Bytes of one 64-dim slab of a tile (64 rows of 128 bytes); the second slab follows the first.</summary>
    private const int SlabBytes = 64 * 128;

    /// <summary>Dynamic shared memory of the warp-group kernel: Q, K and V tiles and 1 KB to align them to the swizzle atom (50,176 bytes: above 48 KB, so the loader raises the limit).</summary>
    public const int WarpGroupSharedBytes = 3 * SwizzledTileBytes + 1024;

    /// <summary>
    /// The warp-group kernel (sm_90a, Dh = 128). Grid and arguments as <see cref="KernelTensorCore"/>: B·H·⌈T/64⌉
    /// groups of 128 threads; group (b·H + h)·⌈T/64⌉ + qb owns queries 64qb..64qb+63 of batch row b and head h.
    /// Dynamic shared memory (<see cref="WarpGroupSharedBytes"/>): Q tile, K tile, V tile, 16 KB each, from the
    /// first 1 KB boundary. Per key block: K(kb) has landed → V(kb) starts → S = Q·Kᵀ → mask → online softmax →
    /// V(kb) has landed → K(kb + 1) starts → O += P·V; each wgmma batch is waited for before its tile is refilled.
    /// </summary>
    internal static void KernelWarpGroup(ArrayView<int> isReal, long q, long k, long v, long output,
        int qStride, int kvStride, int tokens, int heads, int kvHeads, float scaleLog2)
    {
        var dynamicShared = SharedMemory.GetDynamic<byte>();
        // Keeps the dynamic shared-memory symbol declared (the kernel addresses it only through assembly).
        if (tokens < 0) dynamicShared[0] = 0;
        // Only ever loaded on sm_90 through HopperKernelLoader; elsewhere there is nothing to run.
        if (!CudaAsm.IsSupported) return;

        int tid = Group.IdxX;
        int warp = tid >> 5, lane = tid & 31, t = lane & 3;
        var block = Locate(tokens, heads, kvHeads);
        int h = block.Head, g = block.KvHead, firstToken = block.FirstToken, firstQuery = block.FirstQuery;

        uint qTile = (Ptx.DynamicSharedBase() + 1023u) & ~1023u;
        uint kTile = qTile + SwizzledTileBytes;
        uint vTile = kTile + SwizzledTileBytes;
        // Q and K (A and B of S = Q·Kᵀ) are K-major; V as the B of O += P·V is N-major (dims contiguous), its second
        // 64-dim slab 8 KB after the first — the leading byte offset, between 64-wide atoms along N.
        long qDescriptor = WgmmaDescriptor.At(WgmmaDescriptor.KMajor, qTile);
        long kDescriptor = WgmmaDescriptor.At(WgmmaDescriptor.KMajor, kTile);
        long vDescriptor = WgmmaDescriptor.At(WgmmaDescriptor.NMajor(SlabBytes), vTile);

        CudaAsm.Emit(DeclareRegisters);
        CudaAsm.Emit(".reg .pred wgp, wgz;");
        CudaAsm.Emit("setp.ne.b32 wgp, %0, 0;", 1);   // scale-d true: accumulate
        CudaAsm.Emit("setp.ne.b32 wgz, %0, 0;", 0);   // scale-d false: overwrite
        CudaAsm.Emit(InitAccumulators);

        // This thread's share of every tile copy: 16-byte chunk c = tid mod 16 of rows r = tid / 16 + 8j (j = 0..7),
        // so its eight shared destinations are one swizzle atom (1 KB) apart and its sources one 8-row step apart.
        int chunk = tid & 15, row = tid >> 4;
        uint place = (uint)((chunk >> 3) * SlabBytes + row * 128 + 16 * ((chunk & 7) ^ row));
        long qRows = q + 2L * (h * TensorCoreHeadDim + 8 * chunk) + 2L * (firstToken + firstQuery + row) * qStride;
        long kRows = k + 2L * (g * TensorCoreHeadDim + 8 * chunk) + 2L * (firstToken + row) * kvStride;
        long vRows = v + 2L * (g * TensorCoreHeadDim + 8 * chunk) + 2L * (firstToken + row) * kvStride;
        long kvStep = 16L * kvStride, kvBlockStep = 128L * kvStride;

        LoadSwizzledTile(qTile + place, qRows, 16L * qStride, RowsBefore(tokens, firstQuery + row), q);
        LoadSwizzledTile(kTile + place, kRows, kvStep, RowsBefore(tokens, row), k);
        Ptx.CommitCopies();

        int keyBlocks = (tokens + BlockKeys - 1) / BlockKeys;
        for (int kb = 0; kb < keyBlocks; kb++)
        {
            int firstKey = kb * BlockKeys;
            var keys = KeysOf(isReal, firstToken, firstKey, tokens, lane);

            Ptx.WaitCopies0();                                  // K(kb) (and Q) has landed ...
            CudaAsm.Emit("fence.proxy.async.shared::cta;");     // ... visible to wgmma's reads ...
            Group.Barrier();                                    // ... for every thread, and P·V(kb − 1) is done with V
            LoadSwizzledTile(vTile + place, vRows + kb * kvBlockStep, kvStep, RowsBefore(tokens, firstKey + row), v);
            Ptx.CommitCopies();

            CudaAsm.Emit(ScoresWarpGroup, qDescriptor, kDescriptor);
            CudaAsm.Emit(MaskKeys, keys.Even, keys.Odd, t);
            CudaAsm.Emit(OnlineSoftmax, scaleLog2);

            Ptx.WaitCopies0();                                  // V(kb) has landed ...
            CudaAsm.Emit("fence.proxy.async.shared::cta;");
            Group.Barrier();                                    // ... for every thread, and Q·Kᵀ(kb) is done with K
            if (kb + 1 < keyBlocks)
            {
                LoadSwizzledTile(kTile + place, kRows + (kb + 1) * kvBlockStep, kvStep, RowsBefore(tokens, firstKey + BlockKeys + row), k);
                Ptx.CommitCopies();
            }
            CudaAsm.Emit(AccumulateValuesWarpGroup, vDescriptor);
        }

        StoreOutput(isReal, output, block, tokens, heads, warp, lane);
    }

    /// <summary>
    /// Starts this thread's eight cp.async copies of a swizzled [64, 128] tile: 16 bytes from <paramref name="source"/>
    /// + j·<paramref name="rowStep"/> (rows r + 8j of the matrix) to <paramref name="destination"/> + 1024·j, for
    /// j = 0..7; the first <paramref name="rows"/> copies read their bytes, the rest (rows at or past T) write zeros
    /// and read nothing from <paramref name="matrix"/>, the matrix's start. One PTX block instead of a loop: the
    /// addresses are sums of per-thread constants, which the copies of the mma.sync kernel recompute per chunk.
    /// </summary>
    private static void LoadSwizzledTile(uint destination, long source, long rowStep, int rows, long matrix) =>
        CudaAsm.Emit(CopySwizzledRows, destination, source, rowStep, rows, matrix);

    /// <summary>How many of the rows first, first + 8, …, first + 56 lie before <paramref name="tokens"/>.</summary>
    private static int RowsBefore(int tokens, int first) => (Math.Max(0, tokens - first) + 7) >> 3;
}
