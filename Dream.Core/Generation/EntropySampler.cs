namespace Dream.Core.Generation;

/// <summary>
/// `entropy`: confidence = Σ p·log(p + 1e-10), the negative entropy (0 for a certain prediction, more negative for
/// a flatter one, so higher = surer). Each term in float32 as torch computes it (the 1e-10 keeps log(0) finite and
/// is lost against any p above ~1e-3); the sum in double, rounded once.
/// </summary>
public sealed class EntropySampler(TokenFilter filter) : TokenSampler(filter)
{
    private const float LogEpsilon = 1e-10f;

    protected override float Confidence(ReadOnlySpan<float> probs, int token)
    {
        double sum = 0;
        foreach (float p in probs) sum += p * MathF.Log(p + LogEpsilon);
        return (float)sum;
    }
}
