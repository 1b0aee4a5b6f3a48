using System.Numerics;

namespace Dream.Reference;

/// <summary>
/// RMSNorm over the last axis: y = (x · 1/sqrt(mean(x²) + eps)) · weight.
/// The official code normalises in float32 and multiplies by the weight after casting back; in float32
/// arithmetic that cast is a no-op, so the formula above is the whole op.
/// Backward, with r = 1/sqrt(mean(x²) + eps) and g = dy · weight:
///   dx = r·g − x · r³ · (Σ_j g_j·x_j) / D,   dWeight += dy · x · r.
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

    /// <param name="x">[T, D] the forward input.</param>
    /// <param name="weight">[D].</param>
    /// <param name="dy">[T, D].</param>
    /// <param name="dx">[T, D] accumulated into (+=).</param>
    /// <param name="dWeight">[D] accumulated into (+=).</param>
    public static void Backward<T>(T[] x, T[] weight, T eps, T[] dy, T[] dx, T[] dWeight, int tokens, int dim)
        where T : IFloatingPointIeee754<T>
    {
        T n = T.CreateChecked(dim);
        for (int t = 0; t < tokens; t++)
        {
            int row = t * dim;
            T sumOfSquares = T.Zero;
            for (int i = 0; i < dim; i++) sumOfSquares += x[row + i] * x[row + i];
            T r = T.One / T.Sqrt(sumOfSquares / n + eps);

            // Σ_j g_j·x_j: how much the gradient pulls along x itself, which the normalisation removes.
            T along = T.Zero;
            for (int i = 0; i < dim; i++) along += dy[row + i] * weight[i] * x[row + i];
            for (int i = 0; i < dim; i++)
            {
                dWeight[i] += dy[row + i] * x[row + i] * r;
                dx[row + i] += r * dy[row + i] * weight[i] - x[row + i] * r * r * r * along / n;
            }
        }
    }
}
