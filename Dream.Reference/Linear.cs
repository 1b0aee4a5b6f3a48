using System.Numerics;

namespace Dream.Reference;

/// <summary>
/// A Hugging Face Linear layer: y = x·Wᵀ + b, with W stored [out, in] (each output feature is one row of W).
/// Backward: dx = dy·W,  dW = dyᵀ·x,  db = Σ_t dy[t, :].
/// </summary>
public static class Linear
{
    /// <param name="x">[T, In] row-major.</param>
    /// <param name="weight">[Out, In] row-major.</param>
    /// <param name="bias">[Out], or null for layers without bias.</param>
    /// <param name="y">[T, Out] row-major.</param>
    public static void Forward<T>(T[] x, T[] weight, T[]? bias, T[] y, int tokens, int inFeatures, int outFeatures)
        where T : IFloatingPointIeee754<T>
    {
        // Tokens are independent: one row per task keeps the inner loop the textbook dot product.
        Parallel.For(0, tokens, t =>
        {
            for (int o = 0; o < outFeatures; o++)
            {
                T sum = T.Zero;
                for (int i = 0; i < inFeatures; i++)
                    sum += x[t * inFeatures + i] * weight[(long)o * inFeatures + i];
                y[t * outFeatures + o] = bias is null ? sum : sum + bias[o];
            }
        });
    }

    /// <param name="x">[T, In] the forward input.</param>
    /// <param name="weight">[Out, In].</param>
    /// <param name="dy">[T, Out] gradient of the loss with respect to y.</param>
    /// <param name="dx">[T, In] accumulated into (+=); null when x needs no gradient.</param>
    /// <param name="dWeight">[Out, In] accumulated into (+=).</param>
    /// <param name="dBias">[Out] accumulated into (+=); null for layers without bias.</param>
    public static void Backward<T>(T[] x, T[] weight, T[] dy, T[]? dx, T[] dWeight, T[]? dBias, int tokens, int inFeatures, int outFeatures)
        where T : IFloatingPointIeee754<T>
    {
        for (int t = 0; t < tokens; t++)
        for (int o = 0; o < outFeatures; o++)
        {
            T g = dy[t * outFeatures + o];
            if (dBias is not null) dBias[o] += g;
            for (int i = 0; i < inFeatures; i++)
            {
                if (dx is not null) dx[t * inFeatures + i] += g * weight[(long)o * inFeatures + i];
                dWeight[(long)o * inFeatures + i] += g * x[t * inFeatures + i];
            }
        }
    }
}
