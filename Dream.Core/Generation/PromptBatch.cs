namespace Dream.Core.Generation;

/// <summary>
/// The prompts of one generate call, all of one length:
///   Ids           [B, P] row-major token ids (mask ids inside a prompt are generated too: infilling)
///   AttentionMask [B, P] 1 = real token, 0 = padding; null when every position is real
/// Prompts of different lengths must be left-padded (<see cref="LeftPadded"/>), as the official code expects.
/// </summary>
public sealed class PromptBatch
{
    private readonly int[] _ids;
    private readonly int[]? _mask;

    public int Batch { get; }
    public int Length { get; }
    public ReadOnlySpan<int> Ids => _ids;
    public ReadOnlySpan<int> AttentionMask => _mask;
    public bool HasPadding => _mask is not null;

    /// <param name="rows">B prompts, all of one length (0 allowed: the canvas is then all masks).</param>
    /// <param name="attentionMask">optional [B, P] of 0/1; a mask without any 0 is the same as none.</param>
    public PromptBatch(IReadOnlyList<IReadOnlyList<int>> rows, IReadOnlyList<IReadOnlyList<int>>? attentionMask = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new ArgumentException("a batch needs at least one prompt", nameof(rows));
        Batch = rows.Count;
        Length = rows[0]?.Count ?? throw new ArgumentException("prompt row 0 is null", nameof(rows));
        _ids = new int[Batch * Length];
        for (int b = 0; b < Batch; b++)
        {
            var row = rows[b] ?? throw new ArgumentException($"prompt row {b} is null", nameof(rows));
            if (row.Count != Length)
                throw new ArgumentException(
                    $"prompt row {b} has {row.Count} tokens but row 0 has {Length}; left-pad the prompts and pass an attention mask (PromptBatch.LeftPadded)",
                    nameof(rows));
            for (int t = 0; t < Length; t++) _ids[b * Length + t] = row[t];
        }

        if (attentionMask is null) return;
        if (attentionMask.Count != Batch)
            throw new ArgumentException($"attention mask has {attentionMask.Count} rows, the batch {Batch}", nameof(attentionMask));
        var mask = new int[Batch * Length];
        bool anyPadding = false;
        for (int b = 0; b < Batch; b++)
        {
            var row = attentionMask[b] ?? throw new ArgumentException($"attention mask row {b} is null", nameof(attentionMask));
            if (row.Count != Length)
                throw new ArgumentException($"attention mask row {b} has {row.Count} entries, the prompts {Length}", nameof(attentionMask));
            for (int t = 0; t < Length; t++)
            {
                if (row[t] is not (0 or 1))
                    throw new ArgumentException($"attention mask entry ({b}, {t}) is {row[t]}, expected 0 or 1", nameof(attentionMask));
                mask[b * Length + t] = row[t];
                anyPadding |= row[t] == 0;
            }
        }
        _mask = anyPadding ? mask : null;
    }

    /// <summary>One prompt.</summary>
    public static PromptBatch Single(IReadOnlyList<int> prompt) => new([prompt]);

    /// <summary>Prompts of any lengths, left-padded with <paramref name="padTokenId"/> to the longest, with the
    /// matching attention mask.</summary>
    public static PromptBatch LeftPadded(IReadOnlyList<IReadOnlyList<int>> rows, int padTokenId)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new ArgumentException("a batch needs at least one prompt", nameof(rows));
        int length = 0;
        for (int b = 0; b < rows.Count; b++)
            length = Math.Max(length, (rows[b] ?? throw new ArgumentException($"prompt row {b} is null", nameof(rows))).Count);
        var padded = new int[rows.Count][];
        var mask = new int[rows.Count][];
        for (int b = 0; b < rows.Count; b++)
        {
            int pad = length - rows[b].Count;
            padded[b] = new int[length];
            mask[b] = new int[length];
            for (int t = 0; t < length; t++)
            {
                padded[b][t] = t < pad ? padTokenId : rows[b][t - pad];
                mask[b][t] = t < pad ? 0 : 1;
            }
        }
        return new PromptBatch(padded, mask);
    }

    public ReadOnlySpan<int> Row(int b)
    {
        if ((uint)b >= (uint)Batch) throw new ArgumentOutOfRangeException(nameof(b), b, $"row must lie in [0, {Batch})");
        return _ids.AsSpan(b * Length, Length);
    }
}
