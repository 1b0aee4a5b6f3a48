using System.Numerics;

namespace Dream.Reference;

/// <summary>
/// A Hugging Face Linear layer: y = x·Wᵀ + b, with W stored [out, in] (each output feature is one row of W).
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
}
