namespace Dream.Core.Generation;

/// <summary>
/// What a generate call returns:
///   Tokens  [B, T] the final canvas, prompt included (T = prompt length + new tokens)
///   History [steps][B, T] the canvas after each step, when asked for
/// </summary>
public sealed class GenerationResult
{
    private readonly int[] _tokens;

    public int Batch { get; }
    public int Length { get; }
    public int PromptLength { get; }
    public ReadOnlySpan<int> Tokens => _tokens;
    public IReadOnlyList<int[]>? History { get; }

    public GenerationResult(int batch, int length, int promptLength, int[] tokens, IReadOnlyList<int[]>? history)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Length != batch * length)
            throw new ArgumentException($"tokens has {tokens.Length} entries, expected batch·length = {batch * length}", nameof(tokens));
        if ((uint)promptLength > (uint)length)
            throw new ArgumentOutOfRangeException(nameof(promptLength), promptLength, $"prompt length must lie in [0, {length}]");
        Batch = batch;
        Length = length;
        PromptLength = promptLength;
        _tokens = tokens;
        History = history;
    }

    /// <summary>Row <paramref name="b"/> of the final canvas [T].</summary>
    public ReadOnlySpan<int> Row(int b)
    {
        if ((uint)b >= (uint)Batch) throw new ArgumentOutOfRangeException(nameof(b), b, $"row must lie in [0, {Batch})");
        return _tokens.AsSpan(b * Length, Length);
    }

    /// <summary>The tokens after the prompt in row <paramref name="b"/> [T − P].</summary>
    public ReadOnlySpan<int> Generated(int b) => Row(b)[PromptLength..];
}
