using System.Reflection;
using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Bidirectional grouped-query attention over bf16 q, k, v with a padding mask, flash style (twin of
/// Dream.Reference.Attention):
///   out[t, h] = Σ_s softmax_s(q[t, h]·k[s, g]/sqrt(Dh)) · v[s, g],  g = h / (H / Hkv), s over real keys only;
///   a pad query row outputs zeros.
/// Inputs and the output are bf16 bits; scores, softmax and the weighted sum are float32; the output is rounded to
/// bf16 (nearest, ties to even).
///
/// Three kernels, chosen on the host:
/// - <see cref="KernelWarpGroup"/> (H100/H200, Dh = 128): the next kernel's algorithm on Hopper's warp-group tensor
///   cores (`wgmma` reading Q, K and V from swizzled shared memory; FlashAttention.WarpGroup.cs).
/// - <see cref="KernelTensorCore"/> (other CUDA devices, or an H100/H200 whose kernel set was loaded without the
///   warp-group kernel; Dh = 128): one group of 4 warps per (batch row, head, block of 64
///   queries). Each warp owns 16 query rows; their Q fragments stay in registers. The group walks the keys in
///   blocks of 64: K and V tiles arrive by cp.async in padded shared memory, S = Q·Kᵀ and O += P·V run on the
///   tensor cores (mma.sync m16n8k16 bf16, f32 accumulators), with an online softmax (running max and sum) in
///   between; P is rounded to bf16 for the second mma, as FlashAttention-2 does. GQA reads the kv head g directly.
///   The pipeline is FlashAttention-2's: V(j) loads while S(j) is computed, K(j+1) while P·V(j) is.
/// - <see cref="KernelPortable"/> (any device, any Dh): the plain two-barrier kernel of <see cref="Attention"/>
///   over bf16 inputs — one group per (query row, head), scores in static shared memory (T ≤ 8192).
/// </summary>
public static partial class FlashAttention
{
    /// <summary>Queries per group of the tensor-core kernel (4 warps × 16 rows), and keys per block.</summary>
    public const int BlockQueries = 64, BlockKeys = 64;

    /// <summary>The head dimension the tensor-core kernel is written for.</summary>
    public const int TensorCoreHeadDim = 128;

    /// <summary>Threads per group of the tensor-core kernel.</summary>
    public const int TensorCoreThreads = 128;

    /// <summary>Bytes per row of a shared tile: 128 bf16 + 16 bytes of padding, so the 8 rows one ldmatrix reads fall in 8 different 16-byte bank groups.</summary>
    private const int RowBytes = 272;

    /// <summary>Bytes of one shared tile of 64 rows.</summary>
    private const int TileBytes = BlockKeys * RowBytes;

    /// <summary>Dynamic shared memory of the tensor-core kernel: the K tile and the V tile (Q passes through the V tile first). 34,816 bytes, under the 48 KB that needs no opt-in.</summary>
    public const int TensorCoreSharedBytes = 2 * TileBytes;

    /// <summary>Longest sequence the portable kernel takes: it keeps one row of scores in static shared memory.</summary>
    public const int MaxPortableTokens = 8192;

    /// <summary>Most threads per group of the portable kernel (its static partial arrays are this long).</summary>
    public const int MaxPortableGroup = 128;

    /// <summary>The kernels of this op, compiled and loaded once for one accelerator.</summary>
    public sealed class Kernels
    {
        public Accelerator Accelerator { get; }

        /// <summary>The stream the kernels launch on (the model passes <see cref="IlgpuKernels.Stream"/>, so a graph can capture them).</summary>
        public AcceleratorStream Stream { get; }

        /// <summary>Threads per group of the portable kernel: a power of two, at most the device's limit and <see cref="MaxPortableGroup"/>.</summary>
        public int PortableGroupSize { get; }

        /// <summary>Whether this accelerator runs a tensor-core kernel (CUDA).</summary>
        public bool HasTensorCoreKernel => TensorCore is not null;

        /// <summary>Whether Dh = 128 attention runs the warp-group kernel (an H100/H200, unless the caller turned it off).</summary>
        public bool HasWarpGroupKernel => WarpGroup is not null;

        internal readonly Action<KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<int>, ArrayView<ushort>, int, int, int, int, int, int, float> Portable;
        internal readonly Action<KernelConfig, ArrayView<int>, long, long, long, long, int, int, int, int, int, float>? TensorCore;
        internal readonly Action<KernelConfig, ArrayView<int>, long, long, long, long, int, int, int, int, int, float>? WarpGroup;

        /// <param name="accelerator">The device.</param>
        /// <param name="warpGroup">Whether to load the warp-group kernel where the device has it (false: the mma.sync kernel runs instead — for comparing the two).</param>
        /// <param name="stream">The stream to launch on; the accelerator's default stream when null.</param>
        public Kernels(Accelerator accelerator, bool warpGroup = true, AcceleratorStream? stream = null)
        {
            Accelerator = accelerator;
            Stream = stream ?? accelerator.DefaultStream;
            PortableGroupSize = IlgpuKernels.PowerOfTwoAtMost(Math.Min(accelerator.MaxNumThreadsPerGroup, MaxPortableGroup));
            Portable = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<int>, ArrayView<ushort>, int, int, int, int, int, int, float>(KernelPortable).On(Stream);
            if (accelerator.AcceleratorType == AcceleratorType.Cuda)
                TensorCore = accelerator.LoadKernel<ArrayView<int>, long, long, long, long, int, int, int, int, int, float>(KernelTensorCore).On(Stream);
            if (warpGroup && HopperKernelLoader.Supports(accelerator) && accelerator is CudaAccelerator cuda)
            {
                // Loaded once per accelerator and released with it, like the kernels above.
                var kernel = HopperKernelLoader.Load(cuda, WarpGroupMethod);
                HopperKernelLoader.AllowDynamicSharedMemory(kernel, WarpGroupSharedBytes);
                WarpGroup = kernel.CreateLauncherDelegate<Action<AcceleratorStream, KernelConfig, ArrayView<int>, long, long, long, long, int, int, int, int, int, float>>().On(Stream);
            }
        }
    }

    /// <summary>Every kernel method of this op, for the device-free compile check, with whether it compiles for OpenCL too (the tensor-core kernel is CUDA only).</summary>
    public static IReadOnlyList<(MethodInfo Method, bool OpenCL)> EntryPoints { get; } =
    [
        (typeof(FlashAttention).GetMethod(nameof(KernelPortable), BindingFlags.Static | BindingFlags.NonPublic)!, true),
        (typeof(FlashAttention).GetMethod(nameof(KernelTensorCore), BindingFlags.Static | BindingFlags.NonPublic)!, false),
        (WarpGroupMethod, false),
    ];

    private static MethodInfo WarpGroupMethod => typeof(FlashAttention).GetMethod(nameof(KernelWarpGroup), BindingFlags.Static | BindingFlags.NonPublic)!;

    /// <param name="q">bf16 [B·T, ≥ H·Dh] with row stride <paramref name="qStride"/>: q[(b·T + t)·qStride + h·Dh + d] (may sit inside a fused QKV buffer).</param>
    /// <param name="k">bf16 [B·T, ≥ Hkv·Dh] with row stride <paramref name="kvStride"/>.</param>
    /// <param name="v">bf16 [B·T, ≥ Hkv·Dh] with row stride <paramref name="kvStride"/>.</param>
    /// <param name="qStride">Elements between consecutive tokens of q.</param>
    /// <param name="kvStride">Elements between consecutive tokens of k and of v.</param>
    /// <param name="isReal">[B·T] 1 for real tokens, 0 for padding.</param>
    /// <param name="output">bf16 [B·T, H·Dh] row-major.</param>
    public static void Forward(Kernels kernels, ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, int qStride, int kvStride,
        ArrayView<int> isReal, ArrayView<ushort> output, int batch, int tokens, int heads, int kvHeads, int headDim)
    {
        Check(q, k, v, qStride, kvStride, isReal, output, batch, tokens, heads, kvHeads, headDim);
        if (batch * tokens == 0) return;
        if (UsesTensorCores(kernels, q, k, v, qStride, kvStride, headDim))
        {
            float scaleLog2 = (float)(1.0 / Math.Sqrt(headDim) * 1.4426950408889634);
            int queryBlocks = (tokens + BlockQueries - 1) / BlockQueries;
            if (kernels.WarpGroup is { } warpGroup)
            {
                var wgConfig = new KernelConfig(batch * heads * queryBlocks, TensorCoreThreads, SharedMemoryConfig.RequestDynamic<byte>(WarpGroupSharedBytes));
                warpGroup(wgConfig, isReal, Ptx.DeviceAddress(q), Ptx.DeviceAddress(k), Ptx.DeviceAddress(v), Ptx.DeviceAddress(output),
                    qStride, kvStride, tokens, heads, kvHeads, scaleLog2);
                return;
            }
            var config = new KernelConfig(batch * heads * queryBlocks, TensorCoreThreads, SharedMemoryConfig.RequestDynamic<Int4>(TensorCoreSharedBytes / 16));
            kernels.TensorCore!(config, isReal, Ptx.DeviceAddress(q), Ptx.DeviceAddress(k), Ptx.DeviceAddress(v), Ptx.DeviceAddress(output),
                qStride, kvStride, tokens, heads, kvHeads, scaleLog2);
        }
        else
            ForwardPortable(kernels, q, k, v, qStride, kvStride, isReal, output, batch, tokens, heads, kvHeads, headDim);
    }

    /// <summary>The same op always through <see cref="KernelPortable"/> (what the self-check compares the tensor-core kernel with).</summary>
    public static void ForwardPortable(Kernels kernels, ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, int qStride, int kvStride,
        ArrayView<int> isReal, ArrayView<ushort> output, int batch, int tokens, int heads, int kvHeads, int headDim)
    {
        Check(q, k, v, qStride, kvStride, isReal, output, batch, tokens, heads, kvHeads, headDim);
        if (batch * tokens == 0) return;
        if (tokens > MaxPortableTokens)
            throw new NotSupportedException($"attention over {tokens} tokens: the portable kernel keeps one row of scores in shared memory and takes at most {MaxPortableTokens}");
        var config = new KernelConfig(batch * tokens * heads, kernels.PortableGroupSize);
        kernels.Portable(config, q, k, v, isReal, output, qStride, kvStride, tokens, heads, kvHeads, headDim, 1f / MathF.Sqrt(headDim));
    }

    /// <summary>
    /// Whether <see cref="Forward"/> takes the tensor-core kernel for these arguments: a CUDA accelerator, Dh = 128,
    /// and every row of q, k and v 16-byte aligned (strides multiples of 8 elements, views starting on 16 bytes) for
    /// cp.async. Anything else takes the portable kernel.
    /// </summary>
    public static bool UsesTensorCores(Kernels kernels, ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, int qStride, int kvStride, int headDim) =>
        kernels.HasTensorCoreKernel && headDim == TensorCoreHeadDim && qStride % 8 == 0 && kvStride % 8 == 0
        && Ptx.DeviceAddress(q) % 16 == 0 && Ptx.DeviceAddress(k) % 16 == 0 && Ptx.DeviceAddress(v) % 16 == 0;

    private static void Check(ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, int qStride, int kvStride, ArrayView<int> isReal, ArrayView<ushort> output,
        int batch, int tokens, int heads, int kvHeads, int headDim)
    {
        if (batch < 0 || tokens < 0 || heads < 1 || kvHeads < 1 || headDim < 1 || heads % kvHeads != 0)
            throw new ArgumentException($"attention shape B={batch} T={tokens} H={heads} Hkv={kvHeads} Dh={headDim}: sizes must be positive and H a multiple of Hkv");
        if (qStride < heads * headDim || kvStride < kvHeads * headDim)
            throw new ArgumentException($"attention strides q {qStride}, kv {kvStride}: must be at least H·Dh = {heads * headDim} and Hkv·Dh = {kvHeads * headDim}");
        long rows = (long)batch * tokens;
        if (rows == 0) return;
        if (q.Length < (rows - 1) * qStride + heads * headDim || k.Length < (rows - 1) * kvStride + kvHeads * headDim
            || v.Length < (rows - 1) * kvStride + kvHeads * headDim || isReal.Length < rows || output.Length < rows * heads * headDim)
            throw new ArgumentException($"attention buffers too short for B={batch} T={tokens} H={heads} Hkv={kvHeads} Dh={headDim}, strides {qStride}/{kvStride}");
    }

    /// <summary>
    /// The portable kernel: one group per (query row b·T + t, head h), <see cref="Attention.Kernel"/>'s body
    /// (<see cref="Attention.SoftmaxRow"/>, <see cref="Attention.WeightedValue"/>) over bf16 operands read at their
    /// strides; the output is rounded to bf16. A pad query row walks the same barriers and writes zeros.
    /// </summary>
    internal static void KernelPortable(ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<int> isReal, ArrayView<ushort> output,
        int qStride, int kvStride, int tokens, int heads, int kvHeads, int headDim, float scale)
    {
        int queryHead = Grid.IdxX;          // (b·T + t)·H + h
        int query = queryHead / heads;      // b·T + t
        int h = queryHead - query * heads;
        int firstKey = query / tokens * tokens;
        int g = h / (heads / kvHeads);
        long outBase = (long)queryHead * headDim;
        bool padQuery = isReal[query] == 0;

        var scores = SharedMemory.Allocate<float>(MaxPortableTokens);   // [T]
        var partialMax = SharedMemory.Allocate<float>(MaxPortableGroup); // [group]
        var partialSum = SharedMemory.Allocate<float>(MaxPortableGroup); // [group]

        var operands = new Bf16Operands(q, k, v);
        float sum = Attention.SoftmaxRow(operands, isReal, scores, partialMax, partialSum, (long)query * qStride + h * headDim, firstKey,
            g * headDim, kvStride, tokens, headDim, scale);
        for (int i = Group.IdxX; i < headDim; i += Group.DimX)
            output[outBase + i] = padQuery ? (ushort)0 : RoundToBf16(Attention.WeightedValue(operands, scores, firstKey, g * headDim + i, kvStride, tokens) / sum);
    }

    private readonly struct Bf16Operands(ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v) : Attention.IOperands
    {
        public float Query(long index) => Bf16.ToFloat(q[index]);
        public float Key(long index) => Bf16.ToFloat(k[index]);
        public float Value(long index) => Bf16.ToFloat(v[index]);
    }

    /// <summary>
    /// The tensor-core kernel (CUDA, Dh = 128). Grid: B·H·⌈T/64⌉ groups of 128 threads, group (b·H + h)·⌈T/64⌉ + qb
    /// owns queries 64qb..64qb+63 of batch row b and head h. Warp w owns rows 16w..16w+15; lane l works on rows
    /// g = l/4 and g + 8 and columns 2t, 2t+1 (t = l mod 4) of every 8-wide tile (the mma fragment layout).
    /// Dynamic shared memory: K tile [64 keys, 128 d] at 0, V tile at 17,408 (rows padded to 272 bytes); the Q tile
    /// passes through the V tile before the first V load. Registers (named PTX registers, see the constants in
    /// FlashAttention.Ptx.cs): 32 of Q fragments, 64 O accumulators, 32 S accumulators, 16 of packed P.
    /// Addresses are device byte addresses from the host (<paramref name="q"/>, <paramref name="k"/>,
    /// <paramref name="v"/>, <paramref name="output"/>); <paramref name="scaleLog2"/> = log2(e)/sqrt(128).
    /// </summary>
    internal static void KernelTensorCore(ArrayView<int> isReal, long q, long k, long v, long output,
        int qStride, int kvStride, int tokens, int heads, int kvHeads, float scaleLog2)
    {
        // Declares __dyn_shared_alloca, which Ptx.DynamicSharedBase names; the view itself is not used.
        SharedMemory.GetDynamic<Int4>();
        if (!CudaAsm.IsSupported) return;

        int tid = Group.IdxX;
        int warp = tid >> 5, lane = tid & 31, t = lane & 3;
        var block = Locate(tokens, heads, kvHeads);
        int h = block.Head, g = block.KvHead, firstToken = block.FirstToken, firstQuery = block.FirstQuery;

        uint kTile = Ptx.DynamicSharedBase();
        uint vTile = kTile + TileBytes;

        CudaAsm.Emit(DeclareRegisters);
        CudaAsm.Emit(InitAccumulators);

        // Prologue: Q tile → the V tile's space, K block 0 → the K tile; then the Q fragments into registers.
        LoadTile(vTile, q + 2L * h * TensorCoreHeadDim, qStride, firstToken, firstQuery, tokens, tid);
        LoadTile(kTile, k + 2L * g * TensorCoreHeadDim, kvStride, firstToken, 0, tokens, tid);
        Ptx.CommitCopies();
        Ptx.WaitCopies0();
        Group.Barrier();
        CudaAsm.Emit(LoadQueryFragments, vTile + (uint)((16 * warp + (lane & 15)) * RowBytes + (lane >> 4) * 16));

        // This lane's ldmatrix row addresses into the K tile (non-transposed B of S = Q·Kᵀ) and the V tile
        // (transposed B of O = P·V); see the summaries of Scores and AccumulateValues.
        uint kLane = kTile + (uint)(((lane & 7) + ((lane >> 4) << 3)) * RowBytes + ((lane >> 3) & 1) * 16);
        uint vLane = vTile + (uint)(((lane & 7) + (((lane >> 3) & 1) << 3)) * RowBytes + (lane >> 4) * 16);

        int keyBlocks = (tokens + BlockKeys - 1) / BlockKeys;
        for (int kb = 0; kb < keyBlocks; kb++)
        {
            int firstKey = kb * BlockKeys;
            var keys = KeysOf(isReal, firstToken, firstKey, tokens, lane);

            Ptx.WaitCopies0();      // K(kb) has landed ...
            Group.Barrier();        // ... for every thread, and no warp still reads V(kb − 1)
            LoadTile(vTile, v + 2L * g * TensorCoreHeadDim, kvStride, firstToken, firstKey, tokens, tid);
            Ptx.CommitCopies();

            CudaAsm.Emit(Scores, kLane);
            CudaAsm.Emit(MaskKeys, keys.Even, keys.Odd, t);
            CudaAsm.Emit(OnlineSoftmax, scaleLog2);

            Ptx.WaitCopies0();      // V(kb) has landed ...
            Group.Barrier();        // ... for every thread, and no warp still reads K(kb)
            if (kb + 1 < keyBlocks)
            {
                LoadTile(kTile, k + 2L * g * TensorCoreHeadDim, kvStride, firstToken, firstKey + BlockKeys, tokens, tid);
                Ptx.CommitCopies();
            }
            CudaAsm.Emit(AccumulateValues, vLane);
        }

        StoreOutput(isReal, output, block, tokens, heads, warp, lane);
    }

    /// <summary>The group <see cref="Grid.IdxX"/> of a tensor-core kernel: (b·H + h)·⌈T/64⌉ + qb owns queries 64qb..64qb+63 of batch row b and head h, which reads kv head g.</summary>
    private struct QueryBlock
    {
        public int Head, KvHead, FirstToken, FirstQuery;   // h, g, b·T, 64·qb
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static QueryBlock Locate(int tokens, int heads, int kvHeads)
    {
        int queryBlocks = (tokens + BlockQueries - 1) / BlockQueries;
        int batchHead = Grid.IdxX / queryBlocks, h = batchHead % heads;
        return new QueryBlock
        {
            Head = h, KvHead = h / (heads / kvHeads), FirstToken = batchHead / heads * tokens, FirstQuery = Grid.IdxX % queryBlocks * BlockQueries,
        };
    }

    /// <summary>Whether keys 2i and 2i + 1 of the block from <see cref="KeysOf"/>'s firstKey count (1) or are masked (0) — lane i's answer for <see cref="MaskKeys"/>'s ballots.</summary>
    private struct KeyMask
    {
        public int Even, Odd;
    }

    /// <summary>Lane <paramref name="lane"/>'s two keys of the block starting at <paramref name="firstKey"/>: each counts when it is a real token before T. The index is clamped instead of branched on, so the warp stays converged for the ballots that follow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static KeyMask KeysOf(ArrayView<int> isReal, int firstToken, int firstKey, int tokens, int lane)
    {
        int evenKey = firstKey + 2 * lane, oddKey = evenKey + 1;
        return new KeyMask
        {
            Even = Flag(isReal[firstToken + Math.Min(evenKey, tokens - 1)] != 0) & Flag(evenKey < tokens),
            Odd = Flag(isReal[firstToken + Math.Min(oddKey, tokens - 1)] != 0) & Flag(oddKey < tokens),
        };
    }

    /// <summary>
    /// The tensor-core kernels' output: O/l rounded to bf16 (zeros for a pad query row); rows past T are not written.
    /// Every lane takes part (the row sums are reduced by shfl). Inlined: the PTX blocks name the kernel's registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreOutput(ArrayView<int> isReal, long output, QueryBlock block, int tokens, int heads, int warp, int lane)
    {
        CudaAsm.Emit(ReduceRowSums);
        int row0 = block.FirstQuery + 16 * warp + (lane >> 2), row1 = row0 + 8;
        long rowBytes = 2L * heads * TensorCoreHeadDim;
        long column = output + 2L * (block.Head * TensorCoreHeadDim + 2 * (lane & 3));
        int inside0 = row0 < tokens ? 1 : 0, inside1 = row1 < tokens ? 1 : 0;
        int real0 = Flag(isReal[block.FirstToken + Math.Min(row0, tokens - 1)] != 0);
        int real1 = Flag(isReal[block.FirstToken + Math.Min(row1, tokens - 1)] != 0);
        CudaAsm.Emit(StoreRow0, column + (block.FirstToken + row0) * rowBytes, real0, inside0);
        CudaAsm.Emit(StoreRow1, column + (block.FirstToken + row1) * rowBytes, real1, inside1);
    }

    /// <summary>
    /// Starts the cp.async copies of one tile: rows <paramref name="firstRow"/>..+63 of a [tokens, stride] bf16 matrix
    /// (batch row starting at token <paramref name="firstToken"/>), 128 elements from byte address
    /// <paramref name="global"/> on, into a padded shared tile. Thread i copies 16-byte chunk i mod 16 of rows
    /// i/16 + 8j (j = 0..7); rows at or past <paramref name="tokens"/> are zero-filled (0 source bytes).
    /// </summary>
    private static void LoadTile(uint tile, long global, int stride, int firstToken, int firstRow, int tokens, int tid)
    {
        int chunk = tid & 15;
        for (int j = 0; j < 8; j++)
        {
            int row = (tid >> 4) + 8 * j;
            bool inside = firstRow + row < tokens;
            long source = inside ? global + 2L * ((long)(firstToken + firstRow + row) * stride + 8 * chunk) : global;
            Ptx.CopyAsync16(tile + (uint)(row * RowBytes + 16 * chunk), source, inside ? 16 : 0);
        }
    }

    private static int Flag(bool value) => value ? 1 : 0;

    /// <summary>float32 → bf16 bits, round to nearest, ties to even (NaN stays a quiet NaN), as Dream.Core.Numerics.BFloat16.FromFloat.</summary>
    private static ushort RoundToBf16(float value)
    {
        uint u = (uint)Interop.FloatAsInt(value);
        if ((u & 0x7FFF_FFFFu) > 0x7F80_0000u) return (ushort)((u >> 16) | 0x0040u);
        return (ushort)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
    }

    /// <summary>A 16-byte element for the dynamic shared memory view (so ILGPU aligns it to 16 bytes).</summary>
    private readonly struct Int4(int value)
    {
        public readonly int X = value, Y = value, Z = value, W = value;
    }
}
