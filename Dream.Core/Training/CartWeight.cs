namespace Dream.Core.Training;

/// <summary>
/// CART, Dream's context-adaptive token-level noise rescheduling: a masked position n weighs
///   w(n) = ½ · Σ_{i unmasked} p · (1 − p)^(|n − i| − 1)
/// i.e. a geometric kernel over its distance to each clean token, so masked tokens next to clean context weigh
/// more than ones deep inside a masked span. p = 0.1 by default (docs: dream-reference.md §6).
/// </summary>
public static class CartWeight
{
    public const double DefaultP = 0.1;

    /// <summary>
    /// The weight of every position in O(L) with two passes (it is meaningful only where masked[n]):
    ///   left[n]  = Σ_{i &lt; n, unmasked} (1 − p)^(n − i − 1),  left[n + 1]  = (1 − p)·left[n] + [n unmasked]
    ///   right[n] = Σ_{i &gt; n, unmasked} (1 − p)^(i − n − 1),  right[n − 1] = (1 − p)·right[n] + [n unmasked]
    ///   w(n) = ½ · p · (left[n] + right[n])
    /// </summary>
    /// <param name="masked">[L] true where the token is masked.</param>
    /// <param name="weights">[L] written.</param>
    public static void Compute(ReadOnlySpan<bool> masked, double p, Span<double> weights)
    {
        Check(masked, p, weights);
        int length = masked.Length;
        double keep = 1 - p;
        double left = 0;
        for (int n = 0; n < length; n++)
        {
            weights[n] = left;
            left = keep * left + (masked[n] ? 0 : 1);
        }
        double right = 0;
        for (int n = length - 1; n >= 0; n--)
        {
            weights[n] = 0.5 * p * (weights[n] + right);
            right = keep * right + (masked[n] ? 0 : 1);
        }
    }

    /// <summary>The definition, summed directly in O(L²): the oracle <see cref="Compute"/> is tested against.</summary>
    public static void Direct(ReadOnlySpan<bool> masked, double p, Span<double> weights)
    {
        Check(masked, p, weights);
        for (int n = 0; n < masked.Length; n++)
        {
            double sum = 0;
            for (int i = 0; i < masked.Length; i++)
                if (i != n && !masked[i]) sum += p * Math.Pow(1 - p, Math.Abs(n - i) - 1);
            weights[n] = 0.5 * sum;
        }
    }

    private static void Check(ReadOnlySpan<bool> masked, double p, Span<double> weights)
    {
        if (!(p > 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "CART's p must lie in (0, 1]");
        if (weights.Length != masked.Length)
            throw new ArgumentException($"weights has {weights.Length} entries, expected {masked.Length}", nameof(weights));
    }
}
