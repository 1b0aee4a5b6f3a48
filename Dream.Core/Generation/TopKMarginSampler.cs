namespace Dream.Core.Generation;

/// <summary>`topk_margin`: confidence = p₁ − p₂, the two largest probabilities (0 when they tie), in float32.</summary>
public sealed class TopKMarginSampler(TokenFilter filter) : TokenSampler(filter)
{
    protected override float Confidence(ReadOnlySpan<float> probs, int token)
    {
        if (probs.Length < 2) return probs[0];
        float first = float.NegativeInfinity, second = float.NegativeInfinity;
        foreach (float p in probs)
        {
            if (p > first)
            {
                second = first;
                first = p;
            }
            else if (p > second)
            {
                second = p;
            }
        }
        return first - second;
    }
}
