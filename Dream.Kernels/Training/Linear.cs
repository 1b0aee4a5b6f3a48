using System.Numerics.Tensors;

namespace Dream.Kernels.Training;

/// <summary>
/// The trainer's Linear, y = x·Wᵀ + b with W [out, in], and its two backward products, as long dot products over
/// contiguous rows so TensorPrimitives can vectorise them:
///   forward       y[n, o]  = x[n, :] · W[o, :] + b[o]
///   input grad    dx[n, i] += dy[n, :] · Wᵀ[i, :]          (Wᵀ transposed once per call)
///   weight grad   dW[o, i] += dyᵀ[o, :] · xᵀ[i, :]         (dot products of length N, the batch's rows)
///   bias grad     db[o]    += Σ_n dy[n, o]
/// Work is split by output row, so every element is one thread's sum in a fixed order: results do not depend
/// on scheduling. Oracle: Dream.Reference.Linear (Forward, Backward).
/// </summary>
public static class Linear
{
    /// <param name="x">[N, In].</param>
    /// <param name="weight">[Out, In].</param>
    /// <param name="bias">[Out] or null.</param>
    /// <param name="y">[N, Out], overwritten.</param>
    public static void Forward(float[] x, float[] weight, float[]? bias, float[] y, int rows, int inFeatures, int outFeatures)
    {
        Parallel.For(0, Blocks(rows), block =>
        {
            var (start, end) = Range(block, rows);
            for (int n = start; n < end; n++)
            {
                var xRow = x.AsSpan(n * inFeatures, inFeatures);
                var yRow = y.AsSpan(n * outFeatures, outFeatures);
                for (int o = 0; o < outFeatures; o++)
                    yRow[o] = TensorPrimitives.Dot(xRow, weight.AsSpan(o * inFeatures, inFeatures));
                if (bias is not null) TensorPrimitives.Add(yRow, bias, yRow);
            }
        });
    }

    /// <param name="dy">[N, Out].</param>
    /// <param name="weight">[Out, In].</param>
    /// <param name="dx">[N, In], accumulated into (+=).</param>
    /// <param name="scratch">at least In·Out floats for Wᵀ.</param>
    public static void BackwardInput(float[] dy, float[] weight, float[] dx, float[] scratch, int rows, int inFeatures, int outFeatures)
    {
        var wt = scratch;
        Transpose(weight, wt, outFeatures, inFeatures);                        // [In, Out]
        Parallel.For(0, Blocks(rows), block =>
        {
            var (start, end) = Range(block, rows);
            for (int n = start; n < end; n++)
            {
                var dyRow = dy.AsSpan(n * outFeatures, outFeatures);
                var dxRow = dx.AsSpan(n * inFeatures, inFeatures);
                for (int i = 0; i < inFeatures; i++)
                    dxRow[i] += TensorPrimitives.Dot(dyRow, wt.AsSpan(i * outFeatures, outFeatures));
            }
        });
    }

    /// <param name="x">[N, In] the forward input.</param>
    /// <param name="dy">[N, Out].</param>
    /// <param name="dWeight">[Out, In], accumulated into (+=).</param>
    /// <param name="dBias">[Out] or null, accumulated into (+=).</param>
    /// <param name="xT">at least In·N floats for xᵀ.</param>
    /// <param name="dyT">at least Out·N floats for dyᵀ.</param>
    public static void BackwardWeight(float[] x, float[] dy, float[] dWeight, float[]? dBias, float[] xT, float[] dyT,
        int rows, int inFeatures, int outFeatures)
    {
        Transpose(x, xT, rows, inFeatures);                                    // [In, N]
        Transpose(dy, dyT, rows, outFeatures);                                 // [Out, N]
        Parallel.For(0, outFeatures, o =>
        {
            var g = dyT.AsSpan(o * rows, rows);
            var dwRow = dWeight.AsSpan(o * inFeatures, inFeatures);
            for (int i = 0; i < inFeatures; i++) dwRow[i] += TensorPrimitives.Dot(g, xT.AsSpan(i * rows, rows));
            if (dBias is not null) dBias[o] += TensorPrimitives.Sum(g);
        });
    }

    /// <summary>destination[c, r] = source[r, c] for a [rows, cols] source.</summary>
    public static void Transpose(ReadOnlySpan<float> source, Span<float> destination, int rows, int cols)
    {
        // Tiles of 16×16 keep both the reads and the writes within a few cache lines.
        const int tile = 16;
        for (int r0 = 0; r0 < rows; r0 += tile)
        for (int c0 = 0; c0 < cols; c0 += tile)
        {
            int rEnd = Math.Min(rows, r0 + tile), cEnd = Math.Min(cols, c0 + tile);
            for (int r = r0; r < rEnd; r++)
            for (int c = c0; c < cEnd; c++)
                destination[c * rows + r] = source[r * cols + c];
        }
    }

    /// <summary>Rows per parallel task: enough work per task that scheduling costs stay small.</summary>
    private const int RowsPerBlock = 32;

    private static int Blocks(int rows) => (rows + RowsPerBlock - 1) / RowsPerBlock;

    private static (int Start, int End) Range(int block, int rows) =>
        (block * RowsPerBlock, Math.Min(rows, (block + 1) * RowsPerBlock));
}
