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
/// Work decomposition on CUDA: a group of 256 threads (8 warps) owns a 128-token × 128-feature block of y. It walks
/// In in steps of 32: cp.async copies the x tile [128, 32] and the W tile [128, 32] into dynamic shared memory,
/// three stages deep so two steps of copies are in flight while one is multiplied. Each 64-byte tile row is
/// stored with its four 16-byte chunks XOR-swizzled by (row/2 mod 4), so the eight rows one `ldmatrix` phase reads
/// hit eight different bank groups. Warp w owns rows 64·(w mod 2).. and features 32·(w/2).. of the block: per
/// 16-wide k slice it loads four A fragments (m16×k16) and four B fragments (n8×k16) with `ldmatrix.x4` and issues
/// 16 `mma.sync.m16n8k16` into 64 f32 accumulators per thread, kept in PTX registers named in the assembly text
/// (ILGPU does not unroll loops, and C# arrays would live in slow local memory). The block grid runs tokens fastest, so the
/// groups that share a weight tile run together and each weight is read from memory about once.
/// Everywhere else (the CPU simulator, OpenCL) the same kernel takes a plain fallback: each thread computes whole
/// outputs of the block as f32 dot products of the bf16 inputs, in ascending In order.
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
    /// <summary>Threads per group on CUDA (8 warps).</summary>
    public const int CudaGroupSize = 256;

    private const int TileBytes = TileTokens * TileIn * 2;                 // 8 KB: one bf16 tile [128, 32]
    private const int StageBytes = 2 * TileBytes;                           // x tile, then W tile
    /// <summary>Dynamic shared memory per group on CUDA: 48 KB, the most a launch gets without raising the limit.</summary>
    public const int SharedBytes = Stages * StageBytes;

    /// <param name="x">bf16 bits [T, In] row-major.</param>
    /// <param name="weight">bf16 bits [Out, In] row-major (for SwiGlu: [2F, In] interleaved, Out = 2F).</param>
    /// <param name="bias">[Out] f32, or null.</param>
    /// <param name="yF32">[T, Out] f32 for Store and AddInto (unused for SwiGlu).</param>
    /// <param name="yBf16">[T, Out/2] bf16 bits for SwiGlu (unused otherwise).</param>
    public static void Forward(IlgpuKernels kernels, ArrayView<ushort> x, ArrayView<ushort> weight, ArrayView<float>? bias,
        LinearEpilogue epilogue, ArrayView<float> yF32, ArrayView<ushort> yBf16, int tokens, int inFeatures, int outFeatures)
    {
        if (tokens == 0 || outFeatures == 0) return;
        if (inFeatures % TileIn != 0)
            throw new ArgumentException($"the tensor-core linear layer needs In to be a multiple of {TileIn}; got {inFeatures}", nameof(inFeatures));
        if (epilogue == LinearEpilogue.SwiGlu && outFeatures % 16 != 0)
            throw new ArgumentException($"the fused SwiGLU product needs 2F to be a multiple of 16; got {outFeatures}", nameof(outFeatures));
        if (x.Length < (long)tokens * inFeatures || weight.Length < (long)outFeatures * inFeatures)
            throw new ArgumentException($"x [{tokens}, {inFeatures}] or W [{outFeatures}, {inFeatures}] is larger than its buffer");

        bool cuda = kernels.IsCuda;
        int group = cuda ? CudaGroupSize : kernels.ReductionGroupSize;
        var config = new KernelConfig(
            new Index2D((tokens + TileTokens - 1) / TileTokens, (outFeatures + TileFeatures - 1) / TileFeatures),
            new Index2D(group, 1),
            SharedMemoryConfig.RequestDynamic<byte>(cuda ? SharedBytes : 16));
        long xAddress = cuda ? Ptx.DeviceAddress(x) : 0, wAddress = cuda ? Ptx.DeviceAddress(weight) : 0;
        kernels.TensorCoreLinear(config, x, weight, bias ?? kernels.Dummy, bias is null ? 0 : 1, (int)epilogue,
            yF32.Length > 0 ? yF32 : kernels.Dummy, yBf16.Length > 0 ? yBf16 : kernels.DummyBf16,
            xAddress, wAddress, tokens, inFeatures, outFeatures);
    }

    /// <summary>
    /// Interleaves gate [F, In] and up [F, In] into the [2F, In] layout the SwiGlu epilogue reads: blocks of eight
    /// gate rows, each followed by the same eight up rows.
    /// </summary>
    public static ushort[] InterleaveGateUp(ReadOnlySpan<ushort> gate, ReadOnlySpan<ushort> up, int features, int inFeatures)
    {
        if (features % 8 != 0) throw new ArgumentException($"F must be a multiple of 8 to interleave gate and up; got {features}", nameof(features));
        var result = new ushort[2L * features * inFeatures];
        for (int block = 0; block < features / 8; block++)
            for (int r = 0; r < 8; r++)
            {
                int source = block * 8 + r;
                gate.Slice(source * inFeatures, inFeatures).CopyTo(result.AsSpan((block * 16 + r) * inFeatures, inFeatures));
                up.Slice(source * inFeatures, inFeatures).CopyTo(result.AsSpan((block * 16 + 8 + r) * inFeatures, inFeatures));
            }
        return result;
    }

    // ---------------------------------------------------------------------------------------------------------
    // The kernel. Register names (tcc*, tca*, tcb*) are declared once at the top; the assembly strings below name
    // them literally because PTX has no indexed registers.

    private const string DeclareRegisters =
        ".reg .f32 tcc<64>;\n.reg .b32 tca<16>;\n.reg .b32 tcb<8>;\n";

    private const string ZeroAccumulators =
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
        "mov.f32 tcc60, 0f00000000; mov.f32 tcc61, 0f00000000; mov.f32 tcc62, 0f00000000; mov.f32 tcc63, 0f00000000;\n";

    // A fragments of the warp's four 16-row slices (a0..a3 of m16n8k16 each), B fragments of its four 8-feature
    // slices (b0, b1 each; one x4 load covers two slices).
    private const string LoadA0 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca0,tca1,tca2,tca3}, [%0];";
    private const string LoadA1 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca4,tca5,tca6,tca7}, [%0];";
    private const string LoadA2 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca8,tca9,tca10,tca11}, [%0];";
    private const string LoadA3 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca12,tca13,tca14,tca15}, [%0];";
    private const string LoadB01 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tcb0,tcb1,tcb2,tcb3}, [%0];";
    private const string LoadB23 = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tcb4,tcb5,tcb6,tcb7}, [%0];";

    private const string Multiply =
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc0,tcc1,tcc2,tcc3}, {tca0,tca1,tca2,tca3}, {tcb0,tcb1}, {tcc0,tcc1,tcc2,tcc3};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc4,tcc5,tcc6,tcc7}, {tca0,tca1,tca2,tca3}, {tcb2,tcb3}, {tcc4,tcc5,tcc6,tcc7};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc8,tcc9,tcc10,tcc11}, {tca0,tca1,tca2,tca3}, {tcb4,tcb5}, {tcc8,tcc9,tcc10,tcc11};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc12,tcc13,tcc14,tcc15}, {tca0,tca1,tca2,tca3}, {tcb6,tcb7}, {tcc12,tcc13,tcc14,tcc15};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc16,tcc17,tcc18,tcc19}, {tca4,tca5,tca6,tca7}, {tcb0,tcb1}, {tcc16,tcc17,tcc18,tcc19};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc20,tcc21,tcc22,tcc23}, {tca4,tca5,tca6,tca7}, {tcb2,tcb3}, {tcc20,tcc21,tcc22,tcc23};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc24,tcc25,tcc26,tcc27}, {tca4,tca5,tca6,tca7}, {tcb4,tcb5}, {tcc24,tcc25,tcc26,tcc27};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc28,tcc29,tcc30,tcc31}, {tca4,tca5,tca6,tca7}, {tcb6,tcb7}, {tcc28,tcc29,tcc30,tcc31};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc32,tcc33,tcc34,tcc35}, {tca8,tca9,tca10,tca11}, {tcb0,tcb1}, {tcc32,tcc33,tcc34,tcc35};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc36,tcc37,tcc38,tcc39}, {tca8,tca9,tca10,tca11}, {tcb2,tcb3}, {tcc36,tcc37,tcc38,tcc39};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc40,tcc41,tcc42,tcc43}, {tca8,tca9,tca10,tca11}, {tcb4,tcb5}, {tcc40,tcc41,tcc42,tcc43};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc44,tcc45,tcc46,tcc47}, {tca8,tca9,tca10,tca11}, {tcb6,tcb7}, {tcc44,tcc45,tcc46,tcc47};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc48,tcc49,tcc50,tcc51}, {tca12,tca13,tca14,tca15}, {tcb0,tcb1}, {tcc48,tcc49,tcc50,tcc51};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc52,tcc53,tcc54,tcc55}, {tca12,tca13,tca14,tca15}, {tcb2,tcb3}, {tcc52,tcc53,tcc54,tcc55};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc56,tcc57,tcc58,tcc59}, {tca12,tca13,tca14,tca15}, {tcb4,tcb5}, {tcc56,tcc57,tcc58,tcc59};\n" +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {tcc60,tcc61,tcc62,tcc63}, {tca12,tca13,tca14,tca15}, {tcb6,tcb7}, {tcc60,tcc61,tcc62,tcc63};\n";

    internal static void Kernel(ArrayView<ushort> x, ArrayView<ushort> weight, ArrayView<float> bias, int hasBias, int epilogue,
        ArrayView<float> yF32, ArrayView<ushort> yBf16, long xAddress, long wAddress, int tokens, int inFeatures, int outFeatures)
    {
        var dynamicShared = SharedMemory.GetDynamic<byte>();
        // Keeps the dynamic shared-memory symbol declared (the CUDA path addresses it only through assembly).
        if (inFeatures < 0) dynamicShared[0] = 0;

        if (CudaAsm.IsSupported) TensorCores(bias, hasBias, epilogue, yF32, yBf16, xAddress, wAddress, tokens, inFeatures, outFeatures);
        else Portable(x, weight, bias, hasBias, epilogue, yF32, yBf16, tokens, inFeatures, outFeatures);
    }

    private static void TensorCores(ArrayView<float> bias, int hasBias, int epilogue, ArrayView<float> yF32, ArrayView<ushort> yBf16,
        long xAddress, long wAddress, int tokens, int inFeatures, int outFeatures)
    {
        CudaAsm.Emit(DeclareRegisters);
        CudaAsm.Emit(ZeroAccumulators);

        int thread = Group.IdxX, lane = thread & 31, warp = thread >> 5;
        int t0 = Grid.IdxX * TileTokens, o0 = Grid.IdxY * TileFeatures;
        uint shared = Ptx.DynamicSharedBase();
        int steps = inFeatures / TileIn;

        // Each thread copies two 16-byte chunks of the x tile and two of the W tile per step: chunk c of 512 is
        // row c/4, column chunk c mod 4.
        int row0 = thread >> 2, row1 = row0 + 64, chunk = thread & 3;
        uint store0 = (uint)(row0 * 64 + ((chunk ^ ((row0 >> 1) & 3)) << 4));
        uint store1 = (uint)(row1 * 64 + ((chunk ^ ((row1 >> 1) & 3)) << 4));
        int xBytes0 = t0 + row0 < tokens ? 16 : 0, xBytes1 = t0 + row1 < tokens ? 16 : 0;
        int wBytes0 = o0 + row0 < outFeatures ? 16 : 0, wBytes1 = o0 + row1 < outFeatures ? 16 : 0;
        long rowBytes = (long)inFeatures * 2;
        // Rows past the end read nothing (0 source bytes zero-fill the chunk) from a valid address.
        long xSource0 = xAddress + (xBytes0 != 0 ? (t0 + row0) * rowBytes : 0) + chunk * 16;
        long xSource1 = xAddress + (xBytes1 != 0 ? (t0 + row1) * rowBytes : 0) + chunk * 16;
        long wSource0 = wAddress + (wBytes0 != 0 ? (o0 + row0) * rowBytes : 0) + chunk * 16;
        long wSource1 = wAddress + (wBytes1 != 0 ? (o0 + row1) * rowBytes : 0) + chunk * 16;

        // ldmatrix row addresses: lane l points at row (l mod 16) of a 16-row A slice, chunk l/16 of the k16 half;
        // for B, row (l mod 8) + 8·(l/16) of a 16-feature pair of slices, chunk (l/8) mod 2.
        int warpRow = (warp & 1) * 64, warpFeature = (warp >> 1) * 32;
        int aRow = warpRow + (lane & 15), aChunk = lane >> 4;
        int bRow = warpFeature + (lane & 7) + ((lane >> 4) << 3), bChunk = (lane >> 3) & 1;

        for (int s = 0; s < Stages - 1; s++)
        {
            if (s < steps) IssueCopies(shared, s, s, store0, store1, xSource0, xSource1, wSource0, wSource1, xBytes0, xBytes1, wBytes0, wBytes1);
            Ptx.CommitCopies();
        }

        for (int step = 0; step < steps; step++)
        {
            Ptx.WaitCopies1();
            Group.Barrier();
            int next = step + Stages - 1;
            if (next < steps)
                IssueCopies(shared, next % Stages, next, store0, store1, xSource0, xSource1, wSource0, wSource1, xBytes0, xBytes1, wBytes0, wBytes1);
            Ptx.CommitCopies();

            uint xTile = shared + (uint)((step % Stages) * StageBytes), wTile = xTile + TileBytes;
            for (int half = 0; half < 2; half++)
            {
                int a = 2 * half + aChunk, b = 2 * half + bChunk;
                CudaAsm.Emit(LoadA0, Swizzled(xTile, aRow, a));
                CudaAsm.Emit(LoadA1, Swizzled(xTile, aRow + 16, a));
                CudaAsm.Emit(LoadA2, Swizzled(xTile, aRow + 32, a));
                CudaAsm.Emit(LoadA3, Swizzled(xTile, aRow + 48, a));
                CudaAsm.Emit(LoadB01, Swizzled(wTile, bRow, b));
                CudaAsm.Emit(LoadB23, Swizzled(wTile, bRow + 16, b));
                CudaAsm.Emit(Multiply);
            }
        }
        Ptx.WaitCopies0();

        // Accumulator slice (i, j) holds rows warpRow + 16i + g and + 8, features warpFeature + 8j + 2q and + 1
        // (g = lane/4, q = lane mod 4): d0, d1 on the first row, d2, d3 on the second.
        int rowA = t0 + warpRow + (lane >> 2), feature = o0 + warpFeature + 2 * (lane & 3);
        var d0 = new Output<float>(); var d1 = new Output<float>(); var d2 = new Output<float>(); var d3 = new Output<float>();
        var e0 = new Output<float>(); var e1 = new Output<float>(); var e2 = new Output<float>(); var e3 = new Output<float>();
        // Slices are read two at a time (j, j+1): SwiGlu needs the gate slice j and the up slice j+1 together.
        CudaAsm.EmitRef("mov.b32 %0, tcc0; mov.b32 %1, tcc1; mov.b32 %2, tcc2; mov.b32 %3, tcc3; mov.b32 %4, tcc4; mov.b32 %5, tcc5; mov.b32 %6, tcc6; mov.b32 %7, tcc7;",
            ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc8; mov.b32 %1, tcc9; mov.b32 %2, tcc10; mov.b32 %3, tcc11; mov.b32 %4, tcc12; mov.b32 %5, tcc13; mov.b32 %6, tcc14; mov.b32 %7, tcc15;",
            ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA, feature + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc16; mov.b32 %1, tcc17; mov.b32 %2, tcc18; mov.b32 %3, tcc19; mov.b32 %4, tcc20; mov.b32 %5, tcc21; mov.b32 %6, tcc22; mov.b32 %7, tcc23;",
            ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA + 16, feature, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc24; mov.b32 %1, tcc25; mov.b32 %2, tcc26; mov.b32 %3, tcc27; mov.b32 %4, tcc28; mov.b32 %5, tcc29; mov.b32 %6, tcc30; mov.b32 %7, tcc31;",
            ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA + 16, feature + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc32; mov.b32 %1, tcc33; mov.b32 %2, tcc34; mov.b32 %3, tcc35; mov.b32 %4, tcc36; mov.b32 %5, tcc37; mov.b32 %6, tcc38; mov.b32 %7, tcc39;",
            ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA + 32, feature, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc40; mov.b32 %1, tcc41; mov.b32 %2, tcc42; mov.b32 %3, tcc43; mov.b32 %4, tcc44; mov.b32 %5, tcc45; mov.b32 %6, tcc46; mov.b32 %7, tcc47;",
            ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA + 32, feature + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc48; mov.b32 %1, tcc49; mov.b32 %2, tcc50; mov.b32 %3, tcc51; mov.b32 %4, tcc52; mov.b32 %5, tcc53; mov.b32 %6, tcc54; mov.b32 %7, tcc55;",
            ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA + 48, feature, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
        CudaAsm.EmitRef("mov.b32 %0, tcc56; mov.b32 %1, tcc57; mov.b32 %2, tcc58; mov.b32 %3, tcc59; mov.b32 %4, tcc60; mov.b32 %5, tcc61; mov.b32 %6, tcc62; mov.b32 %7, tcc63;",
            ref d0, ref d1, ref d2, ref d3, ref e0, ref e1, ref e2, ref e3);
        StorePair(bias, hasBias, epilogue, yF32, yBf16, tokens, outFeatures, rowA + 48, feature + 16, d0.Value, d1.Value, d2.Value, d3.Value, e0.Value, e1.Value, e2.Value, e3.Value);
    }

    private static void IssueCopies(uint shared, int stage, int step, uint store0, uint store1,
        long xSource0, long xSource1, long wSource0, long wSource1, int xBytes0, int xBytes1, int wBytes0, int wBytes1)
    {
        uint xTile = shared + (uint)(stage * StageBytes), wTile = xTile + TileBytes;
        long offset = (long)step * TileIn * 2;
        Ptx.CopyAsync16(xTile + store0, xSource0 + offset, xBytes0);
        Ptx.CopyAsync16(xTile + store1, xSource1 + offset, xBytes1);
        Ptx.CopyAsync16(wTile + store0, wSource0 + offset, wBytes0);
        Ptx.CopyAsync16(wTile + store1, wSource1 + offset, wBytes1);
    }

    /// <summary>Shared address of 16-byte chunk <paramref name="chunk"/> (0..3) of tile row <paramref name="row"/>.</summary>
    private static uint Swizzled(uint tile, int row, int chunk) => tile + (uint)(row * 64 + ((chunk ^ ((row >> 1) & 3)) << 4));

    /// <summary>
    /// Two neighbouring 8-feature slices of one 16-row slice: (d0, d1) at (row, f..f+1), (d2, d3) at (row + 8, f..f+1)
    /// for features starting at <paramref name="feature"/>, and (e0..e3) likewise 8 features further on.
    /// </summary>
    private static void StorePair(ArrayView<float> bias, int hasBias, int epilogue, ArrayView<float> yF32, ArrayView<ushort> yBf16,
        int tokens, int outFeatures, int row, int feature,
        float d0, float d1, float d2, float d3, float e0, float e1, float e2, float e3)
    {
        if (epilogue == (int)LinearEpilogue.SwiGlu)
        {
            // Features feature..+1 are gate rows, feature+8..+9 the matching up rows: output column
            // (feature − feature mod 16)/2 + feature mod 8.
            int width = outFeatures / 2, column = ((feature >> 4) << 3) + (feature & 7);
            if (row < tokens) StoreSwiGlu(yBf16, (long)row * width + column, d0, e0, d1, e1);
            if (row + 8 < tokens) StoreSwiGlu(yBf16, (long)(row + 8) * width + column, d2, e2, d3, e3);
            return;
        }
        StoreOne(bias, hasBias, epilogue, yF32, tokens, outFeatures, row, feature, d0);
        StoreOne(bias, hasBias, epilogue, yF32, tokens, outFeatures, row, feature + 1, d1);
        StoreOne(bias, hasBias, epilogue, yF32, tokens, outFeatures, row + 8, feature, d2);
        StoreOne(bias, hasBias, epilogue, yF32, tokens, outFeatures, row + 8, feature + 1, d3);
        StoreOne(bias, hasBias, epilogue, yF32, tokens, outFeatures, row, feature + 8, e0);
        StoreOne(bias, hasBias, epilogue, yF32, tokens, outFeatures, row, feature + 9, e1);
        StoreOne(bias, hasBias, epilogue, yF32, tokens, outFeatures, row + 8, feature + 8, e2);
        StoreOne(bias, hasBias, epilogue, yF32, tokens, outFeatures, row + 8, feature + 9, e3);
    }

    private static void StoreOne(ArrayView<float> bias, int hasBias, int epilogue, ArrayView<float> y, int tokens, int outFeatures, int row, int feature, float value)
    {
        if (row >= tokens || feature >= outFeatures) return;
        long index = (long)row * outFeatures + feature;
        if (epilogue == (int)LinearEpilogue.AddInto) y[index] += value;
        else y[index] = hasBias != 0 ? value + bias[feature] : value;
    }

    private static void StoreSwiGlu(ArrayView<ushort> y, long index, float gate0, float up0, float gate1, float up1)
    {
        y[index] = Bf16.FromFloat(Silu(gate0) * up0);
        y[index + 1] = Bf16.FromFloat(Silu(gate1) * up1);
    }

    private static float Silu(float g) => g / (1f + MathF.Exp(-g));

    /// <summary>
    /// Everywhere but CUDA: thread i of the group computes outputs i, i + group, ... of the block's 128 × 128
    /// outputs (for SwiGlu the block's 64 output columns, each needing its gate and its up row), each an f32 dot
    /// product over In in ascending order.
    /// </summary>
    private static void Portable(ArrayView<ushort> x, ArrayView<ushort> weight, ArrayView<float> bias, int hasBias, int epilogue,
        ArrayView<float> yF32, ArrayView<ushort> yBf16, int tokens, int inFeatures, int outFeatures)
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
                int gateRow = ((column >> 3) << 4) + (column & 7);
                float gate = Dot(x, weight, t, gateRow, inFeatures), up = Dot(x, weight, t, gateRow + 8, inFeatures);
                yBf16[(long)t * width + column] = Bf16.FromFloat(Silu(gate) * up);
            }
            else
            {
                int o = o0 + c;
                if (o < outFeatures) StoreOne(bias, hasBias, epilogue, yF32, tokens, outFeatures, t, o, Dot(x, weight, t, o, inFeatures));
            }
        }
    }

    private static float Dot(ArrayView<ushort> x, ArrayView<ushort> weight, int t, int o, int inFeatures)
    {
        long xRow = (long)t * inFeatures, wRow = (long)o * inFeatures;
        float sum = 0f;
        for (int i = 0; i < inFeatures; i++) sum += Bf16.ToFloat(x[xRow + i]) * Bf16.ToFloat(weight[wRow + i]);
        return sum;
    }
}

/// <summary>What <see cref="TensorCoreLinear"/> does with each f32 product (see there).</summary>
public enum LinearEpilogue
{
    Store = 0,
    AddInto = 1,
    SwiGlu = 2,
}
