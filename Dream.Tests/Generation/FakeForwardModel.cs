using Dream.Core.Model;

namespace Dream.Tests.Generation;

/// <summary>
/// A stand-in backend for loop tests: logits are a fixed hash of (row, the token at that row, position, token id),
/// so they change as the canvas fills in, with the mask id's logit pushed far down so that the fake never
/// "predicts" a mask. Records every request.
/// </summary>
internal sealed class FakeForwardModel : IForwardModel
{
    public DreamConfig Config { get; }
    public string BackendName => "fake";
    public int Forwards { get; private set; }
    public List<int[]> RequestedRows { get; } = [];
    public List<int[]> SeenIds { get; } = [];
    public ulong Salt { get; init; }
    /// <summary>Keep copies of every request (off for allocation measurements).</summary>
    public bool Record { get; init; } = true;
    public int[]? FirstAttentionMask { get; private set; }
    public int[]? FirstPositions { get; private set; }

    public FakeForwardModel(int vocabSize = 12, int maxPositions = 256)
    {
        Config = new DreamConfig
        {
            VocabSize = vocabSize,
            HiddenSize = 8,
            IntermediateSize = 8,
            NumHiddenLayers = 1,
            NumAttentionHeads = 2,
            NumKeyValueHeads = 1,
            MaxPositionEmbeddings = maxPositions,
            MaskTokenId = vocabSize - 1,
            PadTokenId = vocabSize - 2,
        };
    }

    public int MaskId => Config.MaskTokenId;
    public int PadId => Config.PadTokenId!.Value;

    public void Forward(ForwardInput input, ReadOnlySpan<int> rows, Span<float> logits)
    {
        ForwardChecks.Validate(Config, input, rows, logits.Length);
        Forwards++;
        if (Record)
        {
            RequestedRows.Add(rows.ToArray());
            SeenIds.Add(input.Ids.ToArray());
            FirstAttentionMask ??= input.AttentionMask?.ToArray();
            FirstPositions ??= input.Positions.ToArray();
        }
        int v = Config.VocabSize;
        for (int r = 0; r < rows.Length; r++)
        {
            int flat = rows[r];
            for (int j = 0; j < v; j++)
                logits[r * v + j] = j == MaskId ? -50f : Logit(flat, input.Ids[flat], input.Positions[flat], j);
        }
    }

    /// <summary>A logit in [−4, 4) from a hash; quantised to 1/8 so that ties happen.</summary>
    private float Logit(int row, int token, int position, int id)
    {
        ulong h = Salt ^ (ulong)row * 0x9E3779B97F4A7C15UL ^ (ulong)token * 0xC2B2AE3D27D4EB4FUL
            ^ (ulong)position * 0x165667B19E3779F9UL ^ (ulong)id * 0xD6E8FEB86659FD93UL;
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        return (int)(h % 64) / 8f - 4f;
    }

    public void Dispose() { }
}
