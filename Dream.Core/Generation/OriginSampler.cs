namespace Dream.Core.Generation;

/// <summary>
/// `origin`: the loop picks positions by coin flips, not by confidence, so only the token matters; the
/// confidence reported is the token's probability, for callers that want to look at it.
/// </summary>
public sealed class OriginSampler(TokenFilter filter) : TokenSampler(filter)
{
    protected override double Confidence(ReadOnlySpan<double> probs, int token) => probs[token];
}
