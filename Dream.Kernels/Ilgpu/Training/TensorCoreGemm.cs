using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>How a bf16 operand of <see cref="TensorCoreGemm"/> is laid out in memory.</summary>
public enum OperandLayout
{
    /// <summary>Rows are the operand's M (or N) index, K contiguous: A [M, K], B [N, K] (x and W of y = x·Wᵀ).</summary>
    KContiguous = 0,
    /// <summary>Rows are the K index, M (or N) contiguous: A stored [K, M], B stored [K, N] (W in dx = dy·W; dy and x in dW = dyᵀ·x).</summary>
    KMajor = 1,
}

/// <summary>
/// One batched product of <see cref="TensorCoreGemm"/>, C[z] (+)= A[z]·B[z] (+ bias), A [M, K], B [K, N], C [M, N] f32.
/// Element (m, k) of A lives at element base_A(z) + m·ARowStride + k (KContiguous) or k·ARowStride + m (KMajor);
/// B likewise with n; C at base_C(z) + m·CRowStride + n. base(z) = (z / Heads)·BatchStride + ((z mod Heads) / divisor)·HeadStride,
/// the divisor being <see cref="BHeadDivisor"/> for B (grouped-query attention) and 1 for A and C.
/// Split-K: with <see cref="KTotal"/> &gt; 0, batch z multiplies only k ∈ [z·K, min((z + 1)·K, KTotal)) (the batch
/// strides step along K) and writes its own C.
/// </summary>
public struct GemmShape
{
    public int M, N, K, KTotal;
    public int ALayout, BLayout;
    public long ARowStride, BRowStride, CRowStride;
    public long ABatchStride, BBatchStride, CBatchStride;
    public long AHeadStride, BHeadStride, CHeadStride;
    public int Heads, BHeadDivisor;
    /// <summary>1: C += A·B; 0: C = A·B (+ bias).</summary>
    public int Accumulate;
    public int HasBias;
    /// <summary>Device addresses of A's and B's element 0 (CUDA only; set by the launcher).</summary>
    public long AAddress, BAddress;

    internal readonly long BaseA(int z) => (long)(z / Heads) * ABatchStride + (long)(z % Heads) * AHeadStride;
    internal readonly long BaseB(int z) => (long)(z / Heads) * BBatchStride + (long)(z % Heads / BHeadDivisor) * BHeadStride;
    internal readonly long BaseC(int z) => (long)(z / Heads) * CBatchStride + (long)(z % Heads) * CHeadStride;
    internal readonly int KEnd(int z) => KTotal > 0 && KTotal - z * K < K ? KTotal - z * K : K;
}

/// <summary>
/// The trainer's mixed-precision product on tensor cores: bf16 A and B, f32 accumulation, f32 C — the three
/// products of a Linear layer (y = x·Wᵀ, dx = dy·W, dW = dyᵀ·x) with no transposed copies, because each operand
/// is read in the layout it already has (<see cref="OperandLayout"/>):
///   forward          A = x  [N, In]  KContiguous,  B = W [Out, In]  KContiguous   (TensorCoreLinear's layout)
///   input gradient   A = dy [N, Out] KContiguous,  B = W [Out, In]  KMajor        (k = Out runs down W's rows)
///   weight gradient  A = dy [N, Out] KMajor,       B = x [N, In]    KMajor        (k = the N batch rows; split-K)
///
/// Work decomposition on CUDA (TensorCoreLinear's, proven on an H200, generalised): a group of 128 threads (4 warps)
/// owns a 128 × 128 block of C[z] and walks K in steps of 32. Per step cp.async copies an 8 KB A tile and an 8 KB B
/// tile into dynamic shared memory, three stages deep (48 KB). A KContiguous tile is 128 rows × 64 bytes with its
/// four 16-byte chunks XOR-swizzled by (row/2 mod 4) (as TensorCoreLinear); a KMajor tile is 32 k-rows × 256 bytes
/// with its sixteen chunks XOR-swizzled by (k-row mod 8), so the eight k-rows one ldmatrix phase reads land in eight
/// different bank groups. Fragments come from `ldmatrix.x4` (KContiguous) or `ldmatrix.x4.trans` (KMajor: the
/// transposing load turns 8 k-rows × 8 m-columns into exactly the A (or B) fragment the mma wants). Warp w owns
/// rows 64·(w mod 2).. and columns 64·(w/2).. of the block: per step 16 ldmatrix.x4 and 64 mma.sync.m16n8k16 into
/// 128 f32 accumulators per thread held in named PTX registers (TensorCoreLinear's register names and mma text).
/// Edges: rows past M/N and k past the slice end are zero-filled by cp.async (source size 0..16 bytes), so any
/// M, N, K work; row strides and bases must be multiples of 8 elements (16-byte rows). The grid runs M fastest.
///
/// Everywhere else (the CPU simulator, OpenCL) the same kernel takes a portable fallback: each thread computes
/// whole outputs of the block as f32 dot products of the bf16 inputs in ascending k.
/// </summary>
public static class TensorCoreGemm
{
    public const int Tile = 128;
    public const int TileK = 32;
    public const int Stages = 3;
    public const int CudaGroupSize = 128;
    private const int TileBytes = Tile * TileK * 2;      // 8 KB
    private const int StageBytes = 2 * TileBytes;
    public const int SharedBytes = Stages * StageBytes;  // 48 KB

    /// <summary>
    /// Launches C[z] (+)= A[z]·B[z] for z &lt; <paramref name="batch"/>. <paramref name="a"/>, <paramref name="b"/>
    /// and <paramref name="c"/> start at element 0 of z = 0 (pass sub-views); the shape's addresses are filled in here.
    /// </summary>
    public static void Run(TrainingKernels kernels, ArrayView<ushort> a, ArrayView<ushort> b, ArrayView<float> c, ArrayView<float> bias,
        GemmShape shape, int batch = 1)
    {
        if (shape.M == 0 || shape.N == 0 || batch == 0) return;
        if (shape.Heads <= 0) shape.Heads = 1;
        if (shape.BHeadDivisor <= 0) shape.BHeadDivisor = 1;
        shape.HasBias = bias.Length > 0 && shape.HasBias != 0 ? 1 : 0;
        bool cuda = kernels.IsCuda;
        if (cuda)
        {
            Aligned(shape.ARowStride, "A's row stride"); Aligned(shape.BRowStride, "B's row stride");
            Aligned(shape.ABatchStride, "A's batch stride"); Aligned(shape.BBatchStride, "B's batch stride");
            Aligned(shape.AHeadStride, "A's head stride"); Aligned(shape.BHeadStride, "B's head stride");
            shape.AAddress = Ptx.DeviceAddress(a);
            shape.BAddress = Ptx.DeviceAddress(b);
            if ((shape.AAddress | shape.BAddress) % 16 != 0)
                throw new ArgumentException("the tensor-core product needs A and B to start on 16-byte boundaries");
        }
        var config = new KernelConfig(
            new Index3D((shape.M + Tile - 1) / Tile, (shape.N + Tile - 1) / Tile, batch),
            new Index3D(cuda ? CudaGroupSize : kernels.ReductionGroupSize, 1, 1),
            SharedMemoryConfig.RequestDynamic<byte>(cuda ? SharedBytes : 16));
        kernels.TensorCoreGemmLoaded(config, a, b, c, shape.HasBias != 0 ? bias : kernels.Dummy, shape);
    }

    private static void Aligned(long elements, string what)
    {
        if (elements % 8 != 0)
            throw new ArgumentException($"the tensor-core product needs 16-byte rows: {what} is {elements} bf16 elements, not a multiple of 8");
    }

    // ---------------------------------------------------------------------------------------------------------
    // Fragment loads: TensorCoreLinear's (KContiguous) and their transposing twins (KMajor). Same register names.

    private const string LoadA00T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tca0,tca1,tca2,tca3}, [%0];";
    private const string LoadA01T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tca4,tca5,tca6,tca7}, [%0];";
    private const string LoadA02T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tca8,tca9,tca10,tca11}, [%0];";
    private const string LoadA03T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tca12,tca13,tca14,tca15}, [%0];";
    private const string LoadB00T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tcb0,tcb1,tcb2,tcb3}, [%0];";
    private const string LoadB01T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tcb4,tcb5,tcb6,tcb7}, [%0];";
    private const string LoadB02T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tcb8,tcb9,tcb10,tcb11}, [%0];";
    private const string LoadB03T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tcb12,tcb13,tcb14,tcb15}, [%0];";
    private const string LoadA10T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tca16,tca17,tca18,tca19}, [%0];";
    private const string LoadA11T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tca20,tca21,tca22,tca23}, [%0];";
    private const string LoadA12T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tca24,tca25,tca26,tca27}, [%0];";
    private const string LoadA13T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tca28,tca29,tca30,tca31}, [%0];";
    private const string LoadB10T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tcb16,tcb17,tcb18,tcb19}, [%0];";
    private const string LoadB11T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tcb20,tcb21,tcb22,tcb23}, [%0];";
    private const string LoadB12T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tcb24,tcb25,tcb26,tcb27}, [%0];";
    private const string LoadB13T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {tcb28,tcb29,tcb30,tcb31}, [%0];";

    internal static void Kernel(ArrayView<ushort> a, ArrayView<ushort> b, ArrayView<float> c, ArrayView<float> bias, GemmShape s)
    {
        var dynamicShared = SharedMemory.GetDynamic<byte>();
        // Keeps the dynamic shared-memory symbol declared (the CUDA path addresses it only through assembly).
        if (s.M < 0) dynamicShared[0] = 0;

        if (CudaAsm.IsSupported) TensorCores(c, bias, s);
        else Portable(a, b, c, bias, s);
    }

    private static void TensorCores(ArrayView<float> c, ArrayView<float> bias, GemmShape s)
    {
        CudaAsm.Emit(TensorCoreLinear.DeclareRegisters);
        CudaAsm.Emit(TensorCoreLinear.ZeroAccumulators);

        int thread = Group.IdxX, lane = thread & 31, warp = thread >> 5;
        int m0 = Grid.IdxX * Tile, n0 = Grid.IdxY * Tile, z = Grid.IdxZ;
        int kEnd = s.KEnd(z);
        int steps = (kEnd + TileK - 1) / TileK;
        uint shared = Ptx.DynamicSharedBase();
        int aMajor = s.ALayout, bMajor = s.BLayout;

        var ca = new Copies(s.AAddress + 2 * s.BaseA(z), aMajor, s.ARowStride, m0, s.M, thread);
        var cb = new Copies(s.BAddress + 2 * s.BaseB(z), bMajor, s.BRowStride, n0, s.N, thread);

        // Per-lane byte offsets of the fragments inside a tile: slice i (A: rows 16i.. of the warp's 64; B: columns
        // 16i.. = 8-wide slices 2i, 2i + 1) of the first k16 half; the second half is + HalfA / HalfB.
        int warpRow = (warp & 1) * 64, warpCol = (warp >> 1) * 64;
        uint a0 = FragmentA(aMajor, lane, warpRow), a1 = FragmentA(aMajor, lane, warpRow + 16);
        uint a2 = FragmentA(aMajor, lane, warpRow + 32), a3 = FragmentA(aMajor, lane, warpRow + 48);
        uint b0 = FragmentB(bMajor, lane, warpCol), b1 = FragmentB(bMajor, lane, warpCol + 16);
        uint b2 = FragmentB(bMajor, lane, warpCol + 32), b3 = FragmentB(bMajor, lane, warpCol + 48);
        uint halfA = SecondHalf(aMajor, a0), halfB = SecondHalf(bMajor, b0);

        for (int st = 0; st < Stages - 1; st++)
        {
            if (st < steps) Issue(shared + (uint)(st * StageBytes), ca, cb, st, kEnd);
            Ptx.CommitCopies();
        }

        for (int step = 0; step < steps; step++)
        {
            Ptx.WaitCopies1();
            Group.Barrier();
            int next = step + Stages - 1;
            if (next < steps) Issue(shared + (uint)(next % Stages * StageBytes), ca, cb, next, kEnd);
            Ptx.CommitCopies();

            uint aTile = shared + (uint)(step % Stages * StageBytes), bTile = aTile + TileBytes;
            if (aMajor != 0)
            {
                CudaAsm.Emit(LoadA00T, aTile + a0); CudaAsm.Emit(LoadA01T, aTile + a1);
                CudaAsm.Emit(LoadA02T, aTile + a2); CudaAsm.Emit(LoadA03T, aTile + a3);
            }
            else
            {
                CudaAsm.Emit(TensorCoreLinear.LoadA00, aTile + a0); CudaAsm.Emit(TensorCoreLinear.LoadA01, aTile + a1);
                CudaAsm.Emit(TensorCoreLinear.LoadA02, aTile + a2); CudaAsm.Emit(TensorCoreLinear.LoadA03, aTile + a3);
            }
            if (bMajor != 0)
            {
                CudaAsm.Emit(LoadB00T, bTile + b0); CudaAsm.Emit(LoadB01T, bTile + b1);
                CudaAsm.Emit(LoadB02T, bTile + b2); CudaAsm.Emit(LoadB03T, bTile + b3);
            }
            else
            {
                CudaAsm.Emit(TensorCoreLinear.LoadB00, bTile + b0); CudaAsm.Emit(TensorCoreLinear.LoadB01, bTile + b1);
                CudaAsm.Emit(TensorCoreLinear.LoadB02, bTile + b2); CudaAsm.Emit(TensorCoreLinear.LoadB03, bTile + b3);
            }
            uint aHalf = aTile + halfA, bHalf = bTile + halfB;
            if (aMajor != 0)
            {
                CudaAsm.Emit(LoadA10T, aHalf + a0); CudaAsm.Emit(LoadA11T, aHalf + a1);
                CudaAsm.Emit(LoadA12T, aHalf + a2); CudaAsm.Emit(LoadA13T, aHalf + a3);
            }
            else
            {
                CudaAsm.Emit(TensorCoreLinear.LoadA10, aHalf + a0); CudaAsm.Emit(TensorCoreLinear.LoadA11, aHalf + a1);
                CudaAsm.Emit(TensorCoreLinear.LoadA12, aHalf + a2); CudaAsm.Emit(TensorCoreLinear.LoadA13, aHalf + a3);
            }
            if (bMajor != 0)
            {
                CudaAsm.Emit(LoadB10T, bHalf + b0); CudaAsm.Emit(LoadB11T, bHalf + b1);
                CudaAsm.Emit(LoadB12T, bHalf + b2); CudaAsm.Emit(LoadB13T, bHalf + b3);
            }
            else
            {
                CudaAsm.Emit(TensorCoreLinear.LoadB10, bHalf + b0); CudaAsm.Emit(TensorCoreLinear.LoadB11, bHalf + b1);
                CudaAsm.Emit(TensorCoreLinear.LoadB12, bHalf + b2); CudaAsm.Emit(TensorCoreLinear.LoadB13, bHalf + b3);
            }
            CudaAsm.Emit(TensorCoreLinear.Multiply0);
            CudaAsm.Emit(TensorCoreLinear.Multiply1);
        }
        Ptx.WaitCopies0();

        // Accumulator slice (i, j) holds rows warpRow + 16i + g and + 8, columns warpCol + 8j + 2q and + 1
        // (g = lane/4, q = lane mod 4), in tcc[4·(8i + j) ..]; read two slices (j, j + 1) at a time.
        long cBase = s.BaseC(z);
        int row = m0 + warpRow + (lane >> 2), col = n0 + warpCol + 2 * (lane & 3);
        var d0 = new Output<float>(); var d1 = new Output<float>(); var d2 = new Output<float>(); var d3 = new Output<float>();
        var e0 = new Output<float>(); var e1 = new Output<float>(); var e2 = new Output<float>(); var e3 = new Output<float>();
        CudaAsm.EmitRef("mov.b32 %0, tcc0; mov.b32 %1, tcc1; mov.b32 %2, tcc2; mov.b32 %3, tcc3; mov.b32 %4, tcc4; mov.b32 %5, tcc5; mov.b32 %6, tcc6; mov.b32 %7, tcc7;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 0, col + 0, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc8; mov.b32 %1, tcc9; mov.b32 %2, tcc10; mov.b32 %3, tcc11; mov.b32 %4, tcc12; mov.b32 %5, tcc13; mov.b32 %6, tcc14; mov.b32 %7, tcc15;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 0, col + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc16; mov.b32 %1, tcc17; mov.b32 %2, tcc18; mov.b32 %3, tcc19; mov.b32 %4, tcc20; mov.b32 %5, tcc21; mov.b32 %6, tcc22; mov.b32 %7, tcc23;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 0, col + 32, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc24; mov.b32 %1, tcc25; mov.b32 %2, tcc26; mov.b32 %3, tcc27; mov.b32 %4, tcc28; mov.b32 %5, tcc29; mov.b32 %6, tcc30; mov.b32 %7, tcc31;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 0, col + 48, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc32; mov.b32 %1, tcc33; mov.b32 %2, tcc34; mov.b32 %3, tcc35; mov.b32 %4, tcc36; mov.b32 %5, tcc37; mov.b32 %6, tcc38; mov.b32 %7, tcc39;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 16, col + 0, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc40; mov.b32 %1, tcc41; mov.b32 %2, tcc42; mov.b32 %3, tcc43; mov.b32 %4, tcc44; mov.b32 %5, tcc45; mov.b32 %6, tcc46; mov.b32 %7, tcc47;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 16, col + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc48; mov.b32 %1, tcc49; mov.b32 %2, tcc50; mov.b32 %3, tcc51; mov.b32 %4, tcc52; mov.b32 %5, tcc53; mov.b32 %6, tcc54; mov.b32 %7, tcc55;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 16, col + 32, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc56; mov.b32 %1, tcc57; mov.b32 %2, tcc58; mov.b32 %3, tcc59; mov.b32 %4, tcc60; mov.b32 %5, tcc61; mov.b32 %6, tcc62; mov.b32 %7, tcc63;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 16, col + 48, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc64; mov.b32 %1, tcc65; mov.b32 %2, tcc66; mov.b32 %3, tcc67; mov.b32 %4, tcc68; mov.b32 %5, tcc69; mov.b32 %6, tcc70; mov.b32 %7, tcc71;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 32, col + 0, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc72; mov.b32 %1, tcc73; mov.b32 %2, tcc74; mov.b32 %3, tcc75; mov.b32 %4, tcc76; mov.b32 %5, tcc77; mov.b32 %6, tcc78; mov.b32 %7, tcc79;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 32, col + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc80; mov.b32 %1, tcc81; mov.b32 %2, tcc82; mov.b32 %3, tcc83; mov.b32 %4, tcc84; mov.b32 %5, tcc85; mov.b32 %6, tcc86; mov.b32 %7, tcc87;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 32, col + 32, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc88; mov.b32 %1, tcc89; mov.b32 %2, tcc90; mov.b32 %3, tcc91; mov.b32 %4, tcc92; mov.b32 %5, tcc93; mov.b32 %6, tcc94; mov.b32 %7, tcc95;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 32, col + 48, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc96; mov.b32 %1, tcc97; mov.b32 %2, tcc98; mov.b32 %3, tcc99; mov.b32 %4, tcc100; mov.b32 %5, tcc101; mov.b32 %6, tcc102; mov.b32 %7, tcc103;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 48, col + 0, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc104; mov.b32 %1, tcc105; mov.b32 %2, tcc106; mov.b32 %3, tcc107; mov.b32 %4, tcc108; mov.b32 %5, tcc109; mov.b32 %6, tcc110; mov.b32 %7, tcc111;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 48, col + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc112; mov.b32 %1, tcc113; mov.b32 %2, tcc114; mov.b32 %3, tcc115; mov.b32 %4, tcc116; mov.b32 %5, tcc117; mov.b32 %6, tcc118; mov.b32 %7, tcc119;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 48, col + 32, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc120; mov.b32 %1, tcc121; mov.b32 %2, tcc122; mov.b32 %3, tcc123; mov.b32 %4, tcc124; mov.b32 %5, tcc125; mov.b32 %6, tcc126; mov.b32 %7, tcc127;", ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(c, bias, s, cBase, row + 48, col + 48, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
    }

    /// <summary>
    /// A KContiguous tile: 128 rows × 4 chunks of 16 bytes (8 k each), chunk c of row r at r·64 + ((c ^ (r/2 mod 4))·16).
    /// A KMajor tile: 32 k-rows × 16 chunks (8 columns each), chunk c of k-row r at r·256 + ((c ^ (r mod 8))·16).
    /// </summary>
    private static uint ContiguousOffset(int row, int chunk) => (uint)(row * 64 + ((chunk ^ ((row >> 1) & 3)) << 4));
    private static uint MajorOffset(int kRow, int chunk) => (uint)(kRow * 256 + ((chunk ^ (kRow & 7)) << 4));

    /// <summary>
    /// Lane l's row address for the ldmatrix.x4 that loads the A fragment (a0..a3) of rows <paramref name="rows"/>..+15
    /// of the tile, k 0..15. Matrix j = l/8 of the four is a0 (rows +0, k +0), a1 (rows +8, k +0), a2 (rows +0, k +8),
    /// a3 (rows +8, k +8). KContiguous: lane l addresses tile row rows + (l mod 16), chunk l/16 (TensorCoreLinear's).
    /// KMajor: lane l addresses k-row 8·((l/16) mod 2) + (l mod 8), columns rows + 8·((l/8) mod 2)..: the .trans load
    /// hands lane (g, q) the elements [k 2q, 2q + 1][column g] of each 8×8 block = A[g][2q..2q+1], the mma's layout.
    /// </summary>
    private static uint FragmentA(int major, int lane, int rows)
    {
        if (major == 0) return ContiguousOffset(rows + (lane & 15), lane >> 4);
        int kRow = ((lane >> 4) & 1) * 8 + (lane & 7);
        return MajorOffset(kRow, (rows + ((lane >> 3) & 1) * 8) >> 3);
    }

    /// <summary>
    /// Lane l's row address for the ldmatrix.x4 that loads the B fragments of columns <paramref name="cols"/>..+15
    /// (two 8-wide slices), k 0..15: matrix j = l/8 is b0 of the first slice (k +0), b1 of the first (k +8), b0 of
    /// the second (columns +8, k +0), b1 of the second (columns +8, k +8). KContiguous: tile row cols + (l mod 8) +
    /// 8·(l/16), chunk (l/8) mod 2 (TensorCoreLinear's). KMajor: k-row 8·((l/8) mod 2) + (l mod 8), columns cols + 8·(l/16)..
    /// </summary>
    private static uint FragmentB(int major, int lane, int cols)
    {
        if (major == 0) return ContiguousOffset(cols + (lane & 7) + ((lane >> 4) << 3), (lane >> 3) & 1);
        int kRow = ((lane >> 3) & 1) * 8 + (lane & 7);
        return MajorOffset(kRow, (cols + (lane >> 4) * 8) >> 3);
    }

    /// <summary>
    /// Byte distance from a lane's first-half fragment address to its second-half one (k + 16). KMajor: 16 k-rows
    /// further, 16·256 bytes (k-row mod 8 is unchanged, so is the swizzle). KContiguous: chunk c → c + 2 = c ^ 2
    /// (c is 0 or 1), so the swizzled chunk flips bit 1: +32 bytes if it was clear, −32 if set — the same for every
    /// slice of the lane, since the slices are 16 rows apart and (row/2 mod 4) repeats every 8 rows.
    /// </summary>
    private static uint SecondHalf(int major, uint firstOffset)
    {
        if (major != 0) return 16 * 256;
        return (firstOffset & 32) == 0 ? 32u : unchecked((uint)-32);
    }

    /// <summary>
    /// The four 16-byte copies one thread makes of one operand's tile per step. KContiguous: rows thread/4 + 32j
    /// (j &lt; 4), chunk thread mod 4 (k 8·chunk..); KMajor: k-rows thread/16 + 8j, chunk thread mod 16 (columns
    /// 8·chunk..). Row validity and column bytes are fixed; the k bound is applied per step.
    /// </summary>
    private readonly struct Copies
    {
        public readonly long Base, Source0, Source1, Source2, Source3, StepBytes;
        public readonly uint Store0, Store1, Store2, Store3;
        public readonly int Bytes0, Bytes1, Bytes2, Bytes3, Lead0, Lead1, Lead2, Lead3, Major;

        public Copies(long address, int major, long rowStride, int first, int count, int thread)
        {
            Base = address;
            Major = major;
            if (major == 0)
            {
                int row = thread >> 2, chunk = thread & 3;
                Store0 = ContiguousOffset(row, chunk); Store1 = ContiguousOffset(row + 32, chunk);
                Store2 = ContiguousOffset(row + 64, chunk); Store3 = ContiguousOffset(row + 96, chunk);
                Bytes0 = first + row < count ? 16 : 0; Bytes1 = first + row + 32 < count ? 16 : 0;
                Bytes2 = first + row + 64 < count ? 16 : 0; Bytes3 = first + row + 96 < count ? 16 : 0;
                long rowBytes = 2 * rowStride;
                Source0 = address + (first + row) * rowBytes + chunk * 16;
                Source1 = address + (first + row + 32) * rowBytes + chunk * 16;
                Source2 = address + (first + row + 64) * rowBytes + chunk * 16;
                Source3 = address + (first + row + 96) * rowBytes + chunk * 16;
                Lead0 = Lead1 = Lead2 = Lead3 = chunk * 8;
                StepBytes = TileK * 2;
            }
            else
            {
                int kRow = thread >> 4, chunk = thread & 15;
                Store0 = MajorOffset(kRow, chunk); Store1 = MajorOffset(kRow + 8, chunk);
                Store2 = MajorOffset(kRow + 16, chunk); Store3 = MajorOffset(kRow + 24, chunk);
                int columns = count - first - chunk * 8;
                int bytes = columns >= 8 ? 16 : columns > 0 ? 2 * columns : 0;
                Bytes0 = Bytes1 = Bytes2 = Bytes3 = bytes;
                long rowBytes = 2 * rowStride;
                long column = 2L * (first + chunk * 8);
                Source0 = address + kRow * rowBytes + column;
                Source1 = address + (kRow + 8) * rowBytes + column;
                Source2 = address + (kRow + 16) * rowBytes + column;
                Source3 = address + (kRow + 24) * rowBytes + column;
                Lead0 = kRow; Lead1 = kRow + 8; Lead2 = kRow + 16; Lead3 = kRow + 24;
                StepBytes = TileK * rowBytes;
            }
        }

    }

    /// <summary>Bytes to copy for a copy whose k offset in the step is <paramref name="lead"/> (0 past the slice's end).</summary>
    private static int Bytes(int major, int fixedBytes, int lead, int k0, int kEnd)
    {
        int left = kEnd - k0 - lead;
        if (major != 0) return left > 0 ? fixedBytes : 0;
        int bytes = left >= 8 ? 16 : left > 0 ? 2 * left : 0;
        return bytes < fixedBytes ? bytes : fixedBytes;
    }

    private static void Issue(uint stage, Copies a, Copies b, int step, int kEnd)
    {
        int k0 = step * TileK;
        IssueOne(stage, a, step, k0, kEnd);
        IssueOne(stage + TileBytes, b, step, k0, kEnd);
    }

    private static void IssueOne(uint tile, Copies o, int step, int k0, int kEnd)
    {
        long advance = step * o.StepBytes;
        int n0 = Bytes(o.Major, o.Bytes0, o.Lead0, k0, kEnd), n1 = Bytes(o.Major, o.Bytes1, o.Lead1, k0, kEnd);
        int n2 = Bytes(o.Major, o.Bytes2, o.Lead2, k0, kEnd), n3 = Bytes(o.Major, o.Bytes3, o.Lead3, k0, kEnd);
        // A copy that reads nothing still gets a valid address (the operand's base).
        Ptx.CopyAsync16(tile + o.Store0, n0 != 0 ? o.Source0 + advance : o.Base, n0);
        Ptx.CopyAsync16(tile + o.Store1, n1 != 0 ? o.Source1 + advance : o.Base, n1);
        Ptx.CopyAsync16(tile + o.Store2, n2 != 0 ? o.Source2 + advance : o.Base, n2);
        Ptx.CopyAsync16(tile + o.Store3, n3 != 0 ? o.Source3 + advance : o.Base, n3);
    }

    /// <summary>(d0, d1) at (row, col..col+1), (d2, d3) at (row + 8, col..), (e0..e3) likewise 8 columns further.</summary>
    private static void StorePair(ArrayView<float> c, ArrayView<float> bias, GemmShape s, long cBase, int row, int col,
        float d0, float d1, float d2, float d3, float e0, float e1, float e2, float e3)
    {
        StoreOne(c, bias, s, cBase, row, col, d0); StoreOne(c, bias, s, cBase, row, col + 1, d1);
        StoreOne(c, bias, s, cBase, row + 8, col, d2); StoreOne(c, bias, s, cBase, row + 8, col + 1, d3);
        StoreOne(c, bias, s, cBase, row, col + 8, e0); StoreOne(c, bias, s, cBase, row, col + 9, e1);
        StoreOne(c, bias, s, cBase, row + 8, col + 8, e2); StoreOne(c, bias, s, cBase, row + 8, col + 9, e3);
    }

    private static void StoreOne(ArrayView<float> c, ArrayView<float> bias, GemmShape s, long cBase, int row, int col, float value)
    {
        if (row >= s.M || col >= s.N) return;
        long at = cBase + row * s.CRowStride + col;
        if (s.HasBias != 0) value += bias[col];
        c[at] = s.Accumulate != 0 ? c[at] + value : value;
    }

    /// <summary>Everywhere but CUDA: thread i of the group computes outputs i, i + group, … of the block, each an f32 dot product in ascending k.</summary>
    private static void Portable(ArrayView<ushort> a, ArrayView<ushort> b, ArrayView<float> c, ArrayView<float> bias, GemmShape s)
    {
        int m0 = Grid.IdxX * Tile, n0 = Grid.IdxY * Tile, z = Grid.IdxZ;
        long aBase = s.BaseA(z), bBase = s.BaseB(z), cBase = s.BaseC(z);
        int kEnd = s.KEnd(z);
        for (int e = Group.IdxX; e < Tile * Tile; e += Group.DimX)
        {
            int m = m0 + e / Tile, n = n0 + e % Tile;
            if (m >= s.M || n >= s.N) continue;
            float sum = 0f;
            for (int k = 0; k < kEnd; k++)
            {
                long ai = aBase + (s.ALayout != 0 ? k * s.ARowStride + m : m * s.ARowStride + k);
                long bi = bBase + (s.BLayout != 0 ? k * s.BRowStride + n : n * s.BRowStride + k);
                sum += Bf16.ToFloat(a[ai]) * Bf16.ToFloat(b[bi]);
            }
            StoreOne(c, bias, s, cBase, m, n, sum);
        }
    }
}
