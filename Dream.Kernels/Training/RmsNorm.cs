using System.Numerics.Tensors;

namespace Dream.Kernels.Training;

/// <summary>
/// The trainer's RMSNorm, y = x · r · weight with r = 1/sqrt(mean(x²) + eps), keeping r per row for the backward:
///   dx = r·g − x · r³ · (g·x) / D  (g = dy·weight),   dWeight += Σ_n dy[n]·x[n]·r[n]
/// Rows in parallel; the weight gradient is summed over rows in order afterwards (deterministic).
/// Oracle: Dream.Reference.RmsNorm.
/// </summary>
public static class RmsNorm
{
    /// <param name="x">[N, D].</param>
    /// <param name="weight">[D].</param>
    /// <param name="y">[N, D], overwritten.</param>
    /// <param name="inverseRms">[N], written: r per row.</param>
    public static void Forward(float[] x, float[] weight, float eps, float[] y, float[] inverseRms, int rows, int dim)
    {
        Parallel.For(0, Blocks(rows), block =>
        {
            for (int n = block * RowsPerBlock, end = Math.Min(rows, n + RowsPerBlock); n < end; n++)
            {
                var xRow = x.AsSpan(n * dim, dim);
                var yRow = y.AsSpan(n * dim, dim);
                float r = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(xRow) / dim + eps);
                inverseRms[n] = r;
                TensorPrimitives.Multiply(xRow, r, yRow);
                TensorPrimitives.Multiply(yRow, weight, yRow);
            }
        });
    }

    /// <param name="dy">[N, D].</param>
    /// <param name="dx">[N, D], accumulated into (+=).</param>
    /// <param name="dWeight">[D], accumulated into (+=).</param>
    /// <param name="scratch">at least N·D floats.</param>
    public static void Backward(float[] x, float[] weight, float[] inverseRms, float[] dy, float[] dx, float[] dWeight, float[] scratch,
        int rows, int dim)
    {
        Parallel.For(0, Blocks(rows), block =>
        {
            for (int n = block * RowsPerBlock, end = Math.Min(rows, n + RowsPerBlock); n < end; n++)
            {
                var xRow = x.AsSpan(n * dim, dim);
                var g = scratch.AsSpan(n * dim, dim);
                TensorPrimitives.Multiply(dy.AsSpan(n * dim, dim), weight, g);
                float r = inverseRms[n];
                float along = TensorPrimitives.Dot(g, xRow) * r * r * r / dim;
                var dxRow = dx.AsSpan(n * dim, dim);
                TensorPrimitives.MultiplyAdd(g, r, dxRow, dxRow);             // dx += r·g
                TensorPrimitives.MultiplyAdd(xRow, -along, dxRow, dxRow);     // dx −= x·r³·(g·x)/D
                TensorPrimitives.Multiply(dy.AsSpan(n * dim, dim), xRow, g);  // g now holds dy·x, for the weight
                TensorPrimitives.Multiply(g, r, g);
            }
        });
        for (int n = 0; n < rows; n++) TensorPrimitives.Add(dWeight, scratch.AsSpan(n * dim, dim), dWeight);
    }

    private const int RowsPerBlock = 64;

    private static int Blocks(int rows) => (rows + RowsPerBlock - 1) / RowsPerBlock;
}
