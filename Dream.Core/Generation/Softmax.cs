namespace Dream.Core.Generation;

/// <summary>
/// p_j = exp(l_j − max l) / Σ exp(l − max l) in float32, written as torch's CPU kernel writes it (exponentials,
/// their sum, then one multiply by the reciprocal). Subtracting the max keeps exp from overflowing; that is why
/// TensorPrimitives.SoftMax (which does not) is never used on logits. The sum is accumulated in double so that it
/// does not depend on the vocabulary size's rounding walk; the result is rounded to float32 once.
/// </summary>
public static class Softmax
{
    /// <param name="logits">[V]</param>
    /// <param name="probs">[V], may alias <paramref name="logits"/>.</param>
    public static void Compute(ReadOnlySpan<float> logits, Span<float> probs)
    {
        if (logits.Length == 0) throw new ArgumentException("softmax of an empty row", nameof(logits));
        if (probs.Length != logits.Length)
            throw new ArgumentException($"probs has {probs.Length} entries, logits {logits.Length}", nameof(probs));
        float max = logits[0];
        for (int j = 1; j < logits.Length; j++)
            if (logits[j] > max) max = logits[j];
        double sum = 0;
        for (int j = 0; j < logits.Length; j++)
        {
            float e = MathF.Exp(logits[j] - max);
            probs[j] = e;
            sum += e;
        }
        float inverse = 1f / (float)sum;
        for (int j = 0; j < probs.Length; j++) probs[j] *= inverse;
    }
}
