using System.Text.Json;

namespace Dream.Core.Model;

/// <summary>
/// The model geometry from a Hugging Face `config.json` (field names as Hugging Face spells them).
/// Dimension legend used across the project: T tokens, D hidden, H heads, Hkv kv heads, Dh head dim,
/// F ffn (intermediate), V vocab, L layers.
/// </summary>
public sealed record DreamConfig
{
    public required int VocabSize { get; init; }                 // V
    public required int HiddenSize { get; init; }                // D
    public required int IntermediateSize { get; init; }          // F
    public required int NumHiddenLayers { get; init; }           // L
    public required int NumAttentionHeads { get; init; }         // H
    public required int NumKeyValueHeads { get; init; }          // Hkv
    public double RopeTheta { get; init; } = 10000.0;
    public double RmsNormEps { get; init; } = 1e-6;
    public bool TieWordEmbeddings { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 32768;
    public int MaskTokenId { get; init; } = 151666;
    public int? PadTokenId { get; init; }
    public int? EosTokenId { get; init; }
    public int? BosTokenId { get; init; }
    /// <summary>The dtype the checkpoint declares (`torch_dtype`), informational.</summary>
    public string? TorchDType { get; init; }
    /// <summary>
    /// F32 (default): RoPE's inv_freq kept in float32. BF16/F16: rounded to that type, as Hugging Face's loader
    /// leaves it for a half-precision checkpoint (<see cref="RopeFrequencies.AsTransformersLoads"/>).
    /// </summary>
    public Checkpoint.TensorDType RopeInvFreqDType { get; init; } = Checkpoint.TensorDType.F32;

    public int HeadDim => HiddenSize / NumAttentionHeads;        // Dh
    public int KvDim => NumKeyValueHeads * HeadDim;              // Hkv·Dh
    /// <summary>Query heads that share one kv head (GQA group size).</summary>
    public int QueriesPerKv => NumAttentionHeads / NumKeyValueHeads;

    /// <summary>Parameters as stored (lm_head counted only when untied).</summary>
    public long ParameterCount
    {
        get
        {
            long d = HiddenSize, f = IntermediateSize, v = VocabSize, kv = KvDim;
            long perLayer = 2 * d                     // two RMSNorm weights
                + d * d + d                           // q_proj + bias
                + 2 * (kv * d + kv)                   // k_proj, v_proj + biases
                + d * d                               // o_proj
                + 3 * d * f;                          // gate, up, down
            return v * d + NumHiddenLayers * perLayer + d + (TieWordEmbeddings ? 0 : v * d);
        }
    }

    public static DreamConfig Load(string path)
    {
        if (!File.Exists(path)) throw new DreamFormatException(path, null, "config.json not found");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new DreamFormatException(path, null, $"cannot read: {e.Message}", e); }
        return Parse(bytes, path);
    }

    public static DreamConfig Parse(ReadOnlySpan<byte> json, string path)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json)) throw new DreamFormatException(path, null, "not valid UTF-8");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json.ToArray()); }
        catch (JsonException e) { throw new DreamFormatException(path, null, $"not valid JSON: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new DreamFormatException(path, null, "must be a JSON object");
            var reader = new JsonFields(root, path);

            // Newer configs repeat theta under rope_parameters; two different values mean a broken file.
            double? topTheta = reader.OptionalDouble("rope_theta");
            double? nestedTheta = root.TryGetProperty("rope_parameters", out var rp) && rp.ValueKind == JsonValueKind.Object
                ? new JsonFields(rp, path).OptionalDouble("rope_theta") : null;
            if (topTheta is { } a && nestedTheta is { } b && a != b)
                throw new DreamFormatException(path, "rope_theta", $"{a} disagrees with rope_parameters.rope_theta {b}");
            double theta = topTheta ?? nestedTheta ?? 10000.0;
            CheckRopeScaling(root, path);

            var config = new DreamConfig
            {
                VocabSize = reader.RequiredInt("vocab_size"),
                HiddenSize = reader.RequiredInt("hidden_size"),
                IntermediateSize = reader.RequiredInt("intermediate_size"),
                NumHiddenLayers = reader.RequiredInt("num_hidden_layers"),
                NumAttentionHeads = reader.RequiredInt("num_attention_heads"),
                NumKeyValueHeads = reader.OptionalInt("num_key_value_heads") ?? reader.RequiredInt("num_attention_heads"),
                RopeTheta = theta,
                RmsNormEps = reader.OptionalDouble("rms_norm_eps") ?? 1e-6,
                TieWordEmbeddings = reader.OptionalBool("tie_word_embeddings") ?? false,
                MaxPositionEmbeddings = reader.OptionalInt("max_position_embeddings") ?? 32768,
                MaskTokenId = reader.OptionalInt("mask_token_id") ?? 151666,
                PadTokenId = reader.OptionalInt("pad_token_id"),
                EosTokenId = reader.OptionalInt("eos_token_id"),
                BosTokenId = reader.OptionalInt("bos_token_id"),
                TorchDType = reader.OptionalString("torch_dtype") ?? reader.OptionalString("dtype"),
            };
            config.Validate(path);
            return config;
        }
    }

    private static void CheckRopeScaling(JsonElement root, string path)
    {
        if (root.TryGetProperty("rope_scaling", out var rs) && rs.ValueKind != JsonValueKind.Null)
            throw new DreamFormatException(path, "rope_scaling", "RoPE scaling is not supported (Dream uses none)");
        if (root.TryGetProperty("rope_parameters", out var rp) && rp.ValueKind == JsonValueKind.Object
            && rp.TryGetProperty("rope_type", out var type) && type.ValueKind == JsonValueKind.String
            && type.GetString() != "default")
            throw new DreamFormatException(path, "rope_parameters.rope_type", $"'{type.GetString()}' is not supported (expected 'default')");
        if (root.TryGetProperty("hidden_act", out var act) && act.ValueKind == JsonValueKind.String && act.GetString() != "silu")
            throw new DreamFormatException(path, "hidden_act", $"'{act.GetString()}' is not supported (expected 'silu')");
    }

    /// <summary>Checks the geometry is one this implementation can run; the message names the field.</summary>
    public void Validate(string path = "config")
    {
        void Positive(string field, long value)
        {
            if (value <= 0) throw new DreamFormatException(path, field, $"must be positive, found {value}");
        }
        Positive("vocab_size", VocabSize);
        Positive("hidden_size", HiddenSize);
        Positive("intermediate_size", IntermediateSize);
        Positive("num_hidden_layers", NumHiddenLayers);
        Positive("num_attention_heads", NumAttentionHeads);
        Positive("num_key_value_heads", NumKeyValueHeads);
        Positive("max_position_embeddings", MaxPositionEmbeddings);
        if (HiddenSize % NumAttentionHeads != 0)
            throw new DreamFormatException(path, "num_attention_heads", $"{NumAttentionHeads} heads do not divide hidden_size {HiddenSize}");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw new DreamFormatException(path, "num_key_value_heads", $"{NumKeyValueHeads} kv heads do not divide {NumAttentionHeads} attention heads");
        if (HeadDim % 2 != 0)
            throw new DreamFormatException(path, "num_attention_heads", $"head_dim {HeadDim} must be even for rotate-half RoPE");
        if (!(RopeTheta > 0) || double.IsInfinity(RopeTheta))
            throw new DreamFormatException(path, "rope_theta", $"must be a positive finite number, found {RopeTheta}");
        if (!(RmsNormEps > 0) || RmsNormEps >= 1)
            throw new DreamFormatException(path, "rms_norm_eps", $"must lie in (0, 1), found {RmsNormEps}");
        // Bound the geometry so that a corrupt config cannot make the loader allocate absurd buffers.
        const long maxElements = 1L << 36;
        if ((long)VocabSize * HiddenSize > maxElements || (long)HiddenSize * IntermediateSize > maxElements)
            throw new DreamFormatException(path, "hidden_size", "geometry is implausibly large");
        if (NumHiddenLayers > 4096) throw new DreamFormatException(path, "num_hidden_layers", $"{NumHiddenLayers} is implausibly many");
        void Id(string field, int? id)
        {
            if (id is { } v && (v < 0 || v >= VocabSize))
                throw new DreamFormatException(path, field, $"id {v} lies outside the vocabulary [0, {VocabSize})");
        }
        Id("mask_token_id", MaskTokenId);
        Id("pad_token_id", PadTokenId);
        Id("eos_token_id", EosTokenId);
        Id("bos_token_id", BosTokenId);
    }
}
