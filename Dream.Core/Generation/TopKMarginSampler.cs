namespace Dream.Core.Generation;

/// <summary>`topk_margin`: confidence = p₁ − p₂, the two largest probabilities (0 when they tie).</summary>
public sealed class TopKMarginSampler(TokenFilter filter) : TokenSampler(filter)
{
    protected override double Confidence(ReadOnlySpan<double> probs, int token)
    {
        if (probs.Length < 2) return probs[0];
        double first = double.NegativeInfinity, second = double.NegativeInfinity;
        foreach (double p in probs)
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
