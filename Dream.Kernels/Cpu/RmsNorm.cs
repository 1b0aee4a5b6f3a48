using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace Dream.Kernels.Cpu;

/// <summary>
/// RMSNorm over the last axis: y = (x · 1/sqrt(mean(x²) + eps)) · weight, one row at a time with
/// TensorPrimitives (vectorised sum of squares and products). Rows are short (D ≤ 3584), so the rows run serially.
/// </summary>
public static class RmsNorm
{
    /// <param name="x">[T, D] row-major.</param>
    /// <param name="weight">[D].</param>
    /// <param name="y">[T, D] row-major (may be x itself).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y, int tokens, int dim)
    {
        if (weight.Length != dim) throw new ArgumentException($"weight has {weight.Length} elements, expected D = {dim}", nameof(weight));
        if (x.Length < (long)tokens * dim || y.Length < (long)tokens * dim)
            throw new ArgumentException($"x and y need T·D = {(long)tokens * dim} elements");
        for (int t = 0; t < tokens; t++)
        {
            var row = x.Slice(t * dim, dim);
            var output = y.Slice(t * dim, dim);
            float inverseRms = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(row) / dim + eps);
            TensorPrimitives.Multiply(row, inverseRms, output);
            TensorPrimitives.Multiply(output, weight, output);
        }
    }
}
