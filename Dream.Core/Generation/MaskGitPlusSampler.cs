namespace Dream.Core.Generation;

/// <summary>`maskgit_plus`: confidence = p[token], the probability of the chosen token (max p at temperature 0).</summary>
public sealed class MaskGitPlusSampler(TokenFilter filter) : TokenSampler(filter)
{
    protected override double Confidence(ReadOnlySpan<double> probs, int token) => probs[token];
}
