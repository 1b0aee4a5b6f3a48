using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// Column sums over the N rows of a batch, for the gradients of per-feature parameters:
///   out[d] += Σ_n a[n, d]                  (a bias: Linear's db)
///   out[d] += Σ_n a[n, d]·x[n, d]·r[n]     (RmsNorm's dw, r = 1/rms of the row)
/// Two passes, each with one owner per sum, so the result does not depend on scheduling: one thread per
/// (chunk of <see cref="ChunkRows"/> rows, column) adds its chunk in row order into a partial [chunks, D]; then one
/// thread per column adds the partials in chunk order. Every column stays coalesced across threads. Chunks of 512
/// rows: the second pass is one thread per column (only D threads), so its serial walk over N/ChunkRows partials
/// must stay short — at 64 rows it was 1,312 partials for a batch of 512 × 164 (8.5 ms a step on an H200).
/// </summary>
public static class ColumnSum
{
    public const int ChunkRows = 512;

    /// <param name="a">[N, D].</param>
    /// <param name="x">[N, D], or an empty view for a plain sum.</param>
    /// <param name="r">[N], used with <paramref name="x"/>.</param>
    /// <param name="output">[D], accumulated (+=).</param>
    public static void Run(TrainingKernels kernels, ArrayView<float> a, ArrayView<float> x, ArrayView<float> r, ArrayView<float> output, int rows, int dim)
    {
        if (rows == 0 || dim == 0) return;
        int chunks = (rows + ChunkRows - 1) / ChunkRows;
        var partial = kernels.Scratch((long)chunks * dim);
        bool scaled = x.Length > 0;
        kernels.ColumnPartial(chunks * dim, a, scaled ? x : kernels.Dummy, scaled ? r : kernels.Dummy, partial, rows, dim, scaled ? 1 : 0);
        kernels.ColumnFinish(dim, partial, chunks, dim, output);
    }

    internal static void PartialKernel(Index1D i, ArrayView<float> a, ArrayView<float> x, ArrayView<float> r, ArrayView<float> partial,
        int rows, int dim, int scaled)
    {
        int chunk = i / dim, d = i - chunk * dim;
        int end = XMin(rows, (chunk + 1) * ChunkRows);
        float sum = 0f;
        for (int n = chunk * ChunkRows; n < end; n++)
        {
            long at = (long)n * dim + d;
            sum += scaled != 0 ? a[at] * x[at] * r[n] : a[at];
        }
        partial[i] = sum;
    }

    internal static void FinishKernel(Index1D d, ArrayView<float> partial, int chunks, int dim, ArrayView<float> output)
    {
        float sum = 0f;
        for (int c = 0; c < chunks; c++) sum += partial[(long)c * dim + d];
        output[d] += sum;
    }

    private static int XMin(int a, int b) => a < b ? a : b;
}
