namespace Dream.Core.Generation;

/// <summary>
/// `entropy`: confidence = Σ p·log(p + 1e-10), the negative entropy (0 for a certain prediction, more negative for
/// a flatter one, so higher = surer). The 1e-10 keeps log(0) finite, as in the official code.
/// </summary>
public sealed class EntropySampler(TokenFilter filter) : TokenSampler(filter)
{
    private const double LogEpsilon = 1e-10;

    protected override double Confidence(ReadOnlySpan<double> probs, int token)
    {
        double sum = 0;
        foreach (double p in probs) sum += p * Math.Log(p + LogEpsilon);
        return sum;
    }
}
