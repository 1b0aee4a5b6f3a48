using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dream.Kernels.Training;

/// <summary>
/// The trainer's one matrix product, C[M, N] = A[M, K]·B[K, N] (or C += A·B), all row-major and dense. Every
/// Linear and attention product of the training step is written as this with explicit transposes.
///
/// Micro-kernel: 4 rows × 16 columns of C held in eight 256-bit registers while k runs, so each loaded row of B
/// serves four rows of A (the register blocking of every fast GEMM, in its simplest form). Edges fall back to
/// 1 row × 8 columns and then to scalar loops. Each element of C is one sum over k in order, whoever computes
/// it: results do not depend on how rows are split across threads.
/// </summary>
public static unsafe class MatMul
{
    /// <summary>Single-threaded product on spans (used inside tasks that are already parallel).</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n, bool accumulate)
    {
        if (a.Length < m * k || b.Length < k * n || c.Length < m * n) throw new ArgumentException("matrix buffers are smaller than M, K, N say");
        fixed (float* pa = a, pb = b, pc = c) Rows(pa, pb, pc, 0, m, k, n, accumulate);
    }

    /// <summary>The product with rows of C split across cores in blocks.</summary>
    public static void MultiplyParallel(float[] a, float[] b, float[] c, int m, int k, int n, bool accumulate)
    {
        if (a.Length < m * k || b.Length < k * n || c.Length < m * n) throw new ArgumentException("matrix buffers are smaller than M, K, N say");
        // Blocks of at least 4 rows (one micro-kernel) and about 8 per core, so that uneven cores balance out.
        int rowsPerBlock = Math.Max(4, (m / (8 * Environment.ProcessorCount) + 3) / 4 * 4);
        int blocks = (m + rowsPerBlock - 1) / rowsPerBlock;
        if (blocks == 1)
        {
            fixed (float* pa = a, pb = b, pc = c) Rows(pa, pb, pc, 0, m, k, n, accumulate);
            return;
        }
        Parallel.For(0, blocks, block =>
        {
            int start = block * rowsPerBlock, end = Math.Min(m, start + rowsPerBlock);
            fixed (float* pa = a, pb = b, pc = c) Rows(pa, pb, pc, start, end, k, n, accumulate);
        });
    }

    private static void Rows(float* a, float* b, float* c, int start, int end, int k, int n, bool accumulate)
    {
        int r = start;
        for (; r + 4 <= end; r += 4)
        {
            int j = 0;
            for (; j + 16 <= n; j += 16) Kernel4x16(a + r * k, b + j, c + r * n + j, k, n, accumulate);
            for (; j + 8 <= n; j += 8)
                for (int i = 0; i < 4; i++) Kernel1x8(a + (r + i) * k, b + j, c + (r + i) * n + j, k, n, accumulate);
            for (int i = 0; i < 4; i++) Scalar(a + (r + i) * k, b, c + (r + i) * n, j, k, n, accumulate);
        }
        for (; r < end; r++)
        {
            int j = 0;
            for (; j + 8 <= n; j += 8) Kernel1x8(a + r * k, b + j, c + r * n + j, k, n, accumulate);
            Scalar(a + r * k, b, c + r * n, j, k, n, accumulate);
        }
    }

    /// <summary>C[0..4, 0..16] (+)= A[0..4, :]·B[:, 0..16]; a, b, c point at the block's first elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel4x16(float* a, float* b, float* c, int k, int n, bool accumulate)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        float* a0 = a, a1 = a + k, a2 = a + 2 * k, a3 = a + 3 * k;
        for (int p = 0; p < k; p++)
        {
            var b0 = Vector256.Load(b + p * n);
            var b1 = Vector256.Load(b + p * n + 8);
            var x = Vector256.Create(a0[p]);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[p]);
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[p]);
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[p]);
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
        }
        Store(c, c00, accumulate); Store(c + 8, c01, accumulate);
        Store(c + n, c10, accumulate); Store(c + n + 8, c11, accumulate);
        Store(c + 2 * n, c20, accumulate); Store(c + 2 * n + 8, c21, accumulate);
        Store(c + 3 * n, c30, accumulate); Store(c + 3 * n + 8, c31, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel1x8(float* a, float* b, float* c, int k, int n, bool accumulate)
    {
        Vector256<float> acc = default;
        for (int p = 0; p < k; p++) acc = Vector256.FusedMultiplyAdd(Vector256.Create(a[p]), Vector256.Load(b + p * n), acc);
        Store(c, acc, accumulate);
    }

    /// <summary>Columns from <paramref name="first"/> to n of one row, one scalar sum each.</summary>
    private static void Scalar(float* a, float* b, float* c, int first, int k, int n, bool accumulate)
    {
        for (int j = first; j < n; j++)
        {
            float sum = 0;
            for (int p = 0; p < k; p++) sum = MathF.FusedMultiplyAdd(a[p], b[p * n + j], sum);
            c[j] = accumulate ? c[j] + sum : sum;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> v, bool accumulate) =>
        (accumulate ? Vector256.Load(c) + v : v).Store(c);
}
