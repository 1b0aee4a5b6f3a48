namespace Dream.Core.Generation;

/// <summary>
/// p_j = exp(l_j − max l) / Σ exp(l − max l), written as torch's CPU kernel writes it (exponentials, their sum,
/// then one multiply by the reciprocal), in double. Subtracting the max keeps exp from overflowing; that is why
/// TensorPrimitives.SoftMax (which does not) is never used on logits.
/// </summary>
public static class Softmax
{
    /// <param name="logits">[V]</param>
    /// <param name="probs">[V], may alias <paramref name="logits"/>.</param>
    public static void Compute(ReadOnlySpan<double> logits, Span<double> probs)
    {
        if (logits.Length == 0) throw new ArgumentException("softmax of an empty row", nameof(logits));
        if (probs.Length != logits.Length)
            throw new ArgumentException($"probs has {probs.Length} entries, logits {logits.Length}", nameof(probs));
        double max = logits[0];
        for (int j = 1; j < logits.Length; j++)
            if (logits[j] > max) max = logits[j];
        double sum = 0;
        for (int j = 0; j < logits.Length; j++)
        {
            double e = Math.Exp(logits[j] - max);
            probs[j] = e;
            sum += e;
        }
        double inverse = 1 / sum;
        for (int j = 0; j < probs.Length; j++) probs[j] *= inverse;
    }
}
