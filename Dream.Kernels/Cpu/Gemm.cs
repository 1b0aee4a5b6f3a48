using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Dream.Core.Checkpoint;

namespace Dream.Kernels.Cpu;

/// <summary>How the B operand of a product is stored.</summary>
public enum BLayout
{
    /// <summary>B is [N, K]: a Linear weight [Out, In], so C = A·Bᵀ.</summary>
    OutByIn,
    /// <summary>B is [K, N]: C = A·B (attention's probabilities times V).</summary>
    InByOut,
}

/// <summary>
/// One matrix product C[M, N] = A[M, K] · B (+ bias[N]), A and C float32 with row strides, B any
/// <see cref="WeightMatrix"/> dtype. Legend: M rows (tokens), K the reduction (input features), N columns
/// (output features).
/// </summary>
public readonly unsafe struct GemmProblem
{
    public required float* A { get; init; }            // [M, K], row stride Lda
    public required long Lda { get; init; }
    public required WeightMatrix B { get; init; }      // [N, K] (OutByIn) or [K, N] (InByOut)
    public required BLayout Layout { get; init; }
    public float* Bias { get; init; }                  // [N] or null
    public required float* C { get; init; }            // [M, N], row stride Ldc
    public required long Ldc { get; init; }
    public required int M { get; init; }
    public required int N { get; init; }
    public required int K { get; init; }
}

/// <summary>
/// A blocked float32 matrix multiply in the BLIS layout (Goto's algorithm), written for readability:
///
///   for each column block n0 (NC ≤ 256 wide; the unit of parallel work, chosen by the caller)
///     for each K block k0 (KC = 128)
///       pack B[n0.., k0..] into panels of NR columns, widened to float32:  pack[panel][k][NR]   (≤ 128 KB, L2)
///       for each MR = 6 rows of A                                          (6×KC floats, 3 KB, L1)
///         for each panel: the micro-kernel keeps a 6×NR tile of C in 12 vector registers and does
///                         kc rank-1 updates: broadcast A[i, k], one FMA per register.
///
/// KC = 128 keeps one packed panel (KC×NR floats, 16 KB at NR = 32) in a 32 KB L1 beside the A rows, and the packed
/// block plus the A slice it meets well inside a 1 MB L2; measured on Zen 4, KC = 512 lost a third of the speed
/// at M = 256 (the 512 KB block and A slice no longer fitted together) and KC = 64 paid too many C updates.
///
/// NR is two SIMD vectors: 32 with AVX-512 (Vector512), 16 with AVX2 (Vector256), so the 6×NR tile is always
/// 12 accumulators + 2 B vectors + 1 broadcast — it fits the register file in both cases. Packing is where bf16
/// is widened and the [N, K] weight is turned into K-major panels, once per call and per column block, so no
/// float32 copy of the checkpoint ever exists; its cost is 1/M of the arithmetic. Rows past M (when M is not a
/// multiple of 6) re-read the last valid row and their results are dropped; columns past N are zero in the pack.
/// Accumulation is float32 in k order within a K block, then C += block result: not the reference's order,
/// so results differ from it by float32 rounding (bounded in the tests).
/// </summary>
public static unsafe class Gemm
{
    public const int MR = 6;
    public const int KC = 128;
    public const int NCMax = 256;

    /// <summary>Columns per packed panel: two SIMD vectors.</summary>
    public static readonly int NR = Vector512.IsHardwareAccelerated ? 2 * Vector512<float>.Count : 2 * Vector256<float>.Count;

    /// <summary>Floats of per-worker scratch for one packed B block.</summary>
    public const int PackFloats = NCMax * KC;
    /// <summary>Floats of per-worker scratch for one edge tile of C.</summary>
    public const int TileFloats = MR * 32;

    /// <summary>Column-block width for <paramref name="n"/> columns so that <paramref name="workers"/> workers get
    /// about four blocks each (dynamic balance), at most <see cref="NCMax"/>, a multiple of <see cref="NR"/>.</summary>
    public static int ColumnBlockWidth(int n, int workers)
    {
        int panels = (n + NR - 1) / NR;
        int perBlock = Math.Clamp((panels + 4 * workers - 1) / (4 * workers), 1, NCMax / NR);
        return perBlock * NR;
    }

    /// <summary>The whole product on the calling thread (used inside already-parallel attention tasks).</summary>
    public static void Run(in GemmProblem p, float* pack, float* tile)
    {
        for (int n0 = 0; n0 < p.N; n0 += NCMax) ColumnBlock(p, n0, Math.Min(NCMax, p.N - n0), pack, tile);
    }

    /// <summary>Columns [n0, n0 + nc) of C for every row. <paramref name="pack"/>: PackFloats, <paramref name="tile"/>: TileFloats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ColumnBlock(in GemmProblem p, int n0, int nc, float* pack, float* tile)
    {
        if (nc > NCMax) throw new ArgumentOutOfRangeException(nameof(nc), $"column block {nc} wider than {NCMax}");
        if (p.K == 0)
        {
            for (int i = 0; i < p.M; i++)
            for (int j = n0; j < n0 + nc; j++)
                p.C[i * p.Ldc + j] = p.Bias is null ? 0f : p.Bias[j];
            return;
        }
        int nr = NR;
        int panels = (nc + nr - 1) / nr;
        for (int k0 = 0; k0 < p.K; k0 += KC)
        {
            int kc = Math.Min(KC, p.K - k0);
            bool first = k0 == 0;
            Pack(p.B, p.Layout, n0, nc, k0, kc, pack);
            for (int m0 = 0; m0 < p.M; m0 += MR)
            {
                int mr = Math.Min(MR, p.M - m0);
                float* a = p.A + m0 * p.Lda + k0;
                for (int panel = 0; panel < panels; panel++)
                {
                    int j0 = n0 + panel * nr;
                    int width = Math.Min(nr, n0 + nc - j0);
                    float* bias = first && p.Bias is not null ? p.Bias + j0 : null;
                    float* c = p.C + m0 * p.Ldc + j0;
                    float* b = pack + (long)panel * kc * nr;
                    if (nr == 32) Kernel6x32(a, p.Lda, mr, b, kc, c, p.Ldc, width, first, bias, tile);
                    else Kernel6x16(a, p.Lda, mr, b, kc, c, p.Ldc, width, first, bias, tile);
                }
            }
        }
    }

    /// <summary>
    /// B[n0..n0+nc, k0..k0+kc] → pack[panel][k][NR] float32, columns past nc zero.
    /// OutByIn reads each weight row along k and writes it down a panel column (a transpose);
    /// InByOut copies rows of B straight into panel rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(in WeightMatrix b, BLayout layout, int n0, int nc, int k0, int kc, float* pack)
    {
        int nr = NR;
        int panels = (nc + nr - 1) / nr;
        for (int panel = 0; panel < panels; panel++)
        {
            float* dst = pack + (long)panel * kc * nr;
            int j0 = n0 + panel * nr;
            int width = Math.Min(nr, n0 + nc - j0);
            if (layout == BLayout.OutByIn)
            {
                int j = 0;
                if (Avx2.IsSupported && b.DType is TensorDType.BF16 or TensorDType.F32)
                    for (; j + 8 <= width; j += 8) PackRows8(b, j0 + j, k0, kc, dst + j, nr);
                for (; j < width; j++) PackColumn(b.At(j0 + j, k0), b.DType, dst + j, kc, nr);
                for (; j < nr; j++)
                    for (int k = 0; k < kc; k++) dst[k * nr + j] = 0f;
            }
            else
            {
                for (int k = 0; k < kc; k++)
                {
                    float* row = dst + k * nr;
                    Widen.ToFloat32(b.At(k0 + k, j0), b.DType, row, width);
                    for (int j = width; j < nr; j++) row[j] = 0f;
                }
            }
        }
    }

    /// <summary>
    /// Eight weight rows at once: 8×8 tiles are loaded (bf16 widened by zero-extension and a 16-bit shift), transposed
    /// in registers with the classic unpack / shuffle / permute sequence and stored as eight 8-column panel rows —
    /// about a sixth of the scalar loop's time (measured 0.6 ns per element scalar).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackRows8(in WeightMatrix b, int row0, int k0, int kc, float* dst, int nr)
    {
        byte* r0 = b.At(row0, k0), r1 = b.At(row0 + 1, k0), r2 = b.At(row0 + 2, k0), r3 = b.At(row0 + 3, k0);
        byte* r4 = b.At(row0 + 4, k0), r5 = b.At(row0 + 5, k0), r6 = b.At(row0 + 6, k0), r7 = b.At(row0 + 7, k0);
        bool bf16 = b.DType == TensorDType.BF16;
        int size = bf16 ? 2 : 4;
        int k = 0;
        for (; k + 8 <= kc; k += 8)
        {
            long at = (long)k * size;
            var x0 = Load8(r0 + at, bf16); var x1 = Load8(r1 + at, bf16);
            var x2 = Load8(r2 + at, bf16); var x3 = Load8(r3 + at, bf16);
            var x4 = Load8(r4 + at, bf16); var x5 = Load8(r5 + at, bf16);
            var x6 = Load8(r6 + at, bf16); var x7 = Load8(r7 + at, bf16);
            // rows × k → k × rows
            var t0 = Avx.UnpackLow(x0, x1); var t1 = Avx.UnpackHigh(x0, x1);
            var t2 = Avx.UnpackLow(x2, x3); var t3 = Avx.UnpackHigh(x2, x3);
            var t4 = Avx.UnpackLow(x4, x5); var t5 = Avx.UnpackHigh(x4, x5);
            var t6 = Avx.UnpackLow(x6, x7); var t7 = Avx.UnpackHigh(x6, x7);
            var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
            var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
            var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
            var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
            float* d = dst + (long)k * nr;
            Avx.Permute2x128(s0, s4, 0x20).Store(d);
            Avx.Permute2x128(s1, s5, 0x20).Store(d + nr);
            Avx.Permute2x128(s2, s6, 0x20).Store(d + 2 * nr);
            Avx.Permute2x128(s3, s7, 0x20).Store(d + 3 * nr);
            Avx.Permute2x128(s0, s4, 0x31).Store(d + 4 * nr);
            Avx.Permute2x128(s1, s5, 0x31).Store(d + 5 * nr);
            Avx.Permute2x128(s2, s6, 0x31).Store(d + 6 * nr);
            Avx.Permute2x128(s3, s7, 0x31).Store(d + 7 * nr);
        }
        if (k < kc)
        {
            long at = (long)k * size;
            PackColumn(r0 + at, b.DType, dst + (long)k * nr, kc - k, nr);
            PackColumn(r1 + at, b.DType, dst + (long)k * nr + 1, kc - k, nr);
            PackColumn(r2 + at, b.DType, dst + (long)k * nr + 2, kc - k, nr);
            PackColumn(r3 + at, b.DType, dst + (long)k * nr + 3, kc - k, nr);
            PackColumn(r4 + at, b.DType, dst + (long)k * nr + 4, kc - k, nr);
            PackColumn(r5 + at, b.DType, dst + (long)k * nr + 5, kc - k, nr);
            PackColumn(r6 + at, b.DType, dst + (long)k * nr + 6, kc - k, nr);
            PackColumn(r7 + at, b.DType, dst + (long)k * nr + 7, kc - k, nr);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Load8(byte* p, bool bf16) => bf16
        ? Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32((ushort*)p), 16).AsSingle()
        : Avx.LoadVector256((float*)p);

    /// <summary>kc consecutive elements of one weight row → every nr-th float of <paramref name="dst"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackColumn(byte* src, TensorDType dtype, float* dst, int kc, int nr)
    {
        switch (dtype)
        {
            case TensorDType.BF16:
            {
                var s = (ushort*)src;
                for (int k = 0; k < kc; k++) dst[k * nr] = BitConverter.Int32BitsToSingle(s[k] << 16);
                break;
            }
            case TensorDType.F32:
            {
                var s = (float*)src;
                for (int k = 0; k < kc; k++) dst[k * nr] = s[k];
                break;
            }
            default:
            {
                var s = (Half*)src;
                for (int k = 0; k < kc; k++) dst[k * nr] = (float)s[k];
                break;
            }
        }
    }

    /// <summary>
    /// C[0..mr, 0..width] (+)= A[0..mr, 0..kc] · panel, AVX-512: 6 rows × 32 columns in 12 Vector512 registers.
    /// first: C = acc + bias (bias may be null); otherwise C += acc.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x32(float* a, long lda, int mr, float* b, int kc, float* c, long ldc, int width,
        bool first, float* bias, float* tile)
    {
        // Rows past mr alias the last valid row: same memory traffic, results discarded.
        float* a0 = a;
        float* a1 = mr > 1 ? a0 + lda : a0;
        float* a2 = mr > 2 ? a1 + lda : a1;
        float* a3 = mr > 3 ? a2 + lda : a2;
        float* a4 = mr > 4 ? a3 + lda : a3;
        float* a5 = mr > 5 ? a4 + lda : a4;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            b += 32;
            var x = Vector512.Create(a0[k]);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a1[k]);
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a2[k]);
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a3[k]);
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a4[k]);
            c40 = Vector512.FusedMultiplyAdd(x, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a5[k]);
            c50 = Vector512.FusedMultiplyAdd(x, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
        }

        if (mr == MR && width == 32)
        {
            Store512(c, first, bias, c00, c01);
            Store512(c + ldc, first, bias, c10, c11);
            Store512(c + 2 * ldc, first, bias, c20, c21);
            Store512(c + 3 * ldc, first, bias, c30, c31);
            Store512(c + 4 * ldc, first, bias, c40, c41);
            Store512(c + 5 * ldc, first, bias, c50, c51);
            return;
        }
        c00.Store(tile); c01.Store(tile + 16);
        c10.Store(tile + 32); c11.Store(tile + 48);
        c20.Store(tile + 64); c21.Store(tile + 80);
        c30.Store(tile + 96); c31.Store(tile + 112);
        c40.Store(tile + 128); c41.Store(tile + 144);
        c50.Store(tile + 160); c51.Store(tile + 176);
        StoreEdge(tile, 32, mr, width, c, ldc, first, bias);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, bool first, float* bias, Vector512<float> lo, Vector512<float> hi)
    {
        if (!first)
        {
            lo += Vector512.Load(c);
            hi += Vector512.Load(c + 16);
        }
        else if (bias is not null)
        {
            lo += Vector512.Load(bias);
            hi += Vector512.Load(bias + 16);
        }
        lo.Store(c);
        hi.Store(c + 16);
    }

    /// <summary>The AVX2 twin of <see cref="Kernel6x32"/>: 6 rows × 16 columns in 12 Vector256 registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16(float* a, long lda, int mr, float* b, int kc, float* c, long ldc, int width,
        bool first, float* bias, float* tile)
    {
        float* a0 = a;
        float* a1 = mr > 1 ? a0 + lda : a0;
        float* a2 = mr > 2 ? a1 + lda : a1;
        float* a3 = mr > 3 ? a2 + lda : a2;
        float* a4 = mr > 4 ? a3 + lda : a3;
        float* a5 = mr > 5 ? a4 + lda : a4;
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            b += 16;
            var x = Vector256.Create(a0[k]);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[k]);
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[k]);
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[k]);
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(a4[k]);
            c40 = Vector256.FusedMultiplyAdd(x, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(a5[k]);
            c50 = Vector256.FusedMultiplyAdd(x, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
        }

        if (mr == MR && width == 16)
        {
            Store256(c, first, bias, c00, c01);
            Store256(c + ldc, first, bias, c10, c11);
            Store256(c + 2 * ldc, first, bias, c20, c21);
            Store256(c + 3 * ldc, first, bias, c30, c31);
            Store256(c + 4 * ldc, first, bias, c40, c41);
            Store256(c + 5 * ldc, first, bias, c50, c51);
            return;
        }
        c00.Store(tile); c01.Store(tile + 8);
        c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40);
        c30.Store(tile + 48); c31.Store(tile + 56);
        c40.Store(tile + 64); c41.Store(tile + 72);
        c50.Store(tile + 80); c51.Store(tile + 88);
        StoreEdge(tile, 16, mr, width, c, ldc, first, bias);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, bool first, float* bias, Vector256<float> lo, Vector256<float> hi)
    {
        if (!first)
        {
            lo += Vector256.Load(c);
            hi += Vector256.Load(c + 8);
        }
        else if (bias is not null)
        {
            lo += Vector256.Load(bias);
            hi += Vector256.Load(bias + 8);
        }
        lo.Store(c);
        hi.Store(c + 8);
    }

    /// <summary>A partial tile (fewer rows or columns than the kernel computes): only the valid part reaches C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StoreEdge(float* tile, int nr, int mr, int width, float* c, long ldc, bool first, float* bias)
    {
        for (int i = 0; i < mr; i++)
        {
            float* row = c + i * ldc;
            float* t = tile + i * nr;
            for (int j = 0; j < width; j++)
                row[j] = (first ? (bias is null ? 0f : bias[j]) : row[j]) + t[j];
        }
    }
}
