namespace Dream.Core.Generation;

/// <summary>
/// The official `generation_tokens_hook_func`: called once before the loop with step = null and after every
/// step's reveals (before the history copy). It may edit the canvas [B, T] in place — e.g. force tokens, or put
/// mask ids back to have them generated again.
/// </summary>
public delegate void TokensHook(int? step, Span<int> canvas);

/// <summary>
/// The official `generation_logits_hook_func`, after the shift and before sampling. Only masked positions have
/// logits here (the loop never computes the others): <paramref name="maskedPositions"/> are flat indices b·T + p,
/// ascending, and <paramref name="logits"/> is [maskedPositions.Length, V], row m belonging to position m. Edit the
/// logits in place.
/// </summary>
public delegate void LogitsHook(int step, ReadOnlySpan<int> canvas, ReadOnlySpan<int> maskedPositions, Span<float> logits);

/// <summary>What one finished step did.</summary>
/// <param name="Step">steps finished so far, 1..Steps.</param>
/// <param name="Revealed">positions that received a token this step (before the tokens hook).</param>
/// <param name="MasksLeft">mask ids left on the canvas after the step (and the tokens hook).</param>
public readonly record struct GenerationProgress(int Step, int Steps, int Revealed, int MasksLeft);

/// <summary>Optional callbacks of one generate call.</summary>
public sealed class GenerationHooks
{
    public TokensHook? Tokens { get; init; }
    public LogitsHook? Logits { get; init; }
    public Action<GenerationProgress>? Progress { get; init; }
}
