namespace Dream.Core.Model;

/// <summary>Argument checks shared by every backend, so each names the same problem the same way.</summary>
public static class ForwardChecks
{
    public static void Validate(DreamConfig config, ForwardInput input, ReadOnlySpan<int> rows, long logitsLength)
    {
        if (input.Length > config.MaxPositionEmbeddings)
            throw new ArgumentException($"sequence length {input.Length} exceeds max_position_embeddings {config.MaxPositionEmbeddings}", nameof(input));
        foreach (int id in input.Ids)
            if ((uint)id >= (uint)config.VocabSize)
                throw new ArgumentException($"token id {id} lies outside the vocabulary [0, {config.VocabSize})", nameof(input));
        int total = input.Batch * input.Length;
        foreach (int r in rows)
            if ((uint)r >= (uint)total)
                throw new ArgumentOutOfRangeException(nameof(rows), $"row {r} lies outside [0, {total})");
        if (logitsLength != (long)rows.Length * config.VocabSize)
            throw new ArgumentException($"logits buffer has {logitsLength} elements, expected rows·V = {(long)rows.Length * config.VocabSize}", "logits");
    }
}
