namespace Dream.Core.Model;

/// <summary>
/// One forward pass's input, allocated once per (batch, length) and refilled in place every denoising step.
///   Ids           [B, T] row-major token ids
///   AttentionMask [B, T] 1 = real token, 0 = left padding; null = every position attends to every position
///   Positions     [B, T] RoPE positions (0..T−1, or cumsum(mask) − 1 with pads at 1 when padded)
/// </summary>
public sealed class ForwardInput
{
    public int Batch { get; }
    public int Length { get; }
    public int[] Ids { get; }
    public int[]? AttentionMask { get; }
    public int[] Positions { get; }

    public ForwardInput(int batch, int length, int[]? attentionMask = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        if (attentionMask is not null && attentionMask.Length != batch * length)
            throw new ArgumentException($"attention mask has {attentionMask.Length} entries, expected batch·length = {batch * length}", nameof(attentionMask));
        Batch = batch;
        Length = length;
        Ids = new int[batch * length];
        AttentionMask = attentionMask;
        Positions = new int[batch * length];
        FillPositions();
    }

    /// <summary>The official loop's positions: `cumsum(mask) − 1`, with pad positions set to 1; 0..T−1 without a mask.</summary>
    private void FillPositions()
    {
        for (int b = 0; b < Batch; b++)
        {
            int seen = 0;
            for (int t = 0; t < Length; t++)
            {
                int i = b * Length + t;
                if (AttentionMask is null) Positions[i] = t;
                else if (AttentionMask[i] != 0) Positions[i] = seen++;
                else Positions[i] = 1;
            }
        }
    }

    /// <summary>Whether query/key position (b, t) is a real token (always true without a mask).</summary>
    public bool IsReal(int b, int t) => AttentionMask is null || AttentionMask[b * Length + t] != 0;
}
