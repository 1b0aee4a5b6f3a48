using System.Numerics;

namespace Dream.Reference;

/// <summary>
/// RMSNorm over the last axis: y = (x · 1/sqrt(mean(x²) + eps)) · weight.
/// The official code normalises in float32 and multiplies by the weight after casting back; in float32
/// arithmetic that cast is a no-op, so the formula above is the whole op.
/// </summary>
public static class RmsNorm
{
    /// <param name="x">[T, D] row-major.</param>
    /// <param name="weight">[D].</param>
    /// <param name="y">[T, D] row-major.</param>
    public static void Forward<T>(T[] x, T[] weight, T eps, T[] y, int tokens, int dim)
        where T : IFloatingPointIeee754<T>
    {
        for (int t = 0; t < tokens; t++)
        {
            int row = t * dim;
            T sumOfSquares = T.Zero;
            for (int i = 0; i < dim; i++) sumOfSquares += x[row + i] * x[row + i];
            T inverseRms = T.One / T.Sqrt(sumOfSquares / T.CreateChecked(dim) + eps);
            for (int i = 0; i < dim; i++) y[row + i] = x[row + i] * inverseRms * weight[i];
        }
    }
}
