using System.Text.Json;
using System.Text.Json.Nodes;
using Dream.Core.Checkpoint;
using Dream.Core.Numerics;

namespace Dream.Core.Training;

/// <summary>The token table a trained checkpoint ships: plain tokens (one per character here) and the three specials.</summary>
public sealed record TokenTable(IReadOnlyList<(string Text, int Id)> Tokens, int EosId, int BosId, int MaskId);

/// <summary>What `generation_config.json` suggests for a trained planner (temperature 0, `entropy`).</summary>
public sealed record GenerationSuggestion(int MaxNewTokens, int Steps, string Alg = "entropy", double Eps = 1e-3);

/// <summary>
/// Writes a trained model in the Hugging Face Dream layout, so the rest of the project loads it unchanged with
/// DreamCheckpoint.Open: `config.json`, `generation_config.json`, bf16 `model.safetensors` (rounded to nearest
/// even, Hugging Face names, no lm_head.weight when tied) and a Qwen2-style byte-level `tokenizer.json` with no
/// merges (every token is one character, so the byte-level BPE never has anything to merge).
/// </summary>
public static class CheckpointWriter
{
    public static void Write(string directory, DreamParameters<float> parameters, TokenTable tokens, GenerationSuggestion generation,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var c = parameters.Config;
        if (c.MaskTokenId != tokens.MaskId || c.EosTokenId != tokens.EosId || c.BosTokenId != tokens.BosId)
            throw new ArgumentException("the config's special ids disagree with the token table", nameof(tokens));
        Directory.CreateDirectory(directory);

        var tensors = parameters.Tensors.Select(t =>
        {
            var bytes = new byte[t.Data.Length * 2];
            for (int i = 0; i < t.Data.Length; i++)
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), BFloat16.FromFloat(t.Data[i]));
            return (t.Name, TensorDType.BF16, t.Shape, bytes);
        });
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        if (metadata is not null) foreach (var (k, v) in metadata) meta[k] = v;
        SafetensorsFile.Write(Path.Combine(directory, "model.safetensors"), tensors, meta);

        WriteJson(Path.Combine(directory, "config.json"), ConfigJson(c));

        var gen = new JsonObject
        {
            ["mask_token_id"] = tokens.MaskId,
            ["pad_token_id"] = tokens.EosId,
            ["eos_token_id"] = tokens.EosId,
            ["bos_token_id"] = tokens.BosId,
            ["alg"] = generation.Alg,
            ["alg_temp"] = 0.0,
            ["temperature"] = 0.0,
            ["steps"] = generation.Steps,
            ["eps"] = generation.Eps,
            ["max_new_tokens"] = generation.MaxNewTokens,
        };
        WriteJson(Path.Combine(directory, "generation_config.json"), gen);
        WriteJson(Path.Combine(directory, "tokenizer.json"), TokenizerJson(tokens));
    }

    /// <summary>`config.json` for <paramref name="c"/>: Hugging Face field names, pad = eos as Dream has it.</summary>
    public static JsonObject ConfigJson(Model.DreamConfig c) => new()
    {
        ["architectures"] = new JsonArray("DreamModel"),
        ["model_type"] = "Dream",
        ["vocab_size"] = c.VocabSize,
        ["hidden_size"] = c.HiddenSize,
        ["intermediate_size"] = c.IntermediateSize,
        ["num_hidden_layers"] = c.NumHiddenLayers,
        ["num_attention_heads"] = c.NumAttentionHeads,
        ["num_key_value_heads"] = c.NumKeyValueHeads,
        ["rope_theta"] = c.RopeTheta,
        ["rms_norm_eps"] = c.RmsNormEps,
        ["tie_word_embeddings"] = c.TieWordEmbeddings,
        ["max_position_embeddings"] = c.MaxPositionEmbeddings,
        ["torch_dtype"] = "bfloat16",
        ["hidden_act"] = "silu",
        ["use_sliding_window"] = false,
        ["attention_dropout"] = 0.0,
        ["mask_token_id"] = c.MaskTokenId,
        ["pad_token_id"] = c.PadTokenId,
        ["eos_token_id"] = c.EosTokenId,
        ["bos_token_id"] = c.BosTokenId,
    };

    /// <summary>A `tokenizer.json` the Qwen2 tokenizer reads: NFC, Qwen2's split regex, byte-level, BPE with no merges.</summary>
    public static JsonObject TokenizerJson(TokenTable tokens)
    {
        JsonObject Added(int id, string content) => new()
        {
            ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false,
            ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
        };
        JsonObject ByteLevel() => new()
        {
            ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false,
        };
        var vocab = new JsonObject();
        foreach (var (text, id) in tokens.Tokens) vocab[text] = id;
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(
                Added(tokens.EosId, "<|endoftext|>"), Added(tokens.BosId, "<|beginoftext|>"), Added(tokens.MaskId, "<|mask|>")),
            ["normalizer"] = new JsonObject { ["type"] = "NFC" },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split",
                        ["pattern"] = new JsonObject { ["Regex"] = Qwen2SplitRegex },
                        ["behavior"] = "Isolated",
                        ["invert"] = false,
                    },
                    ByteLevel()),
            },
            ["post_processor"] = ByteLevel(),
            ["decoder"] = ByteLevel(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "", ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocab, ["merges"] = new JsonArray(),
            },
        };
    }

    /// <summary>Qwen2's pre-tokenisation regex (docs: dream-reference.md §4): every digit is its own piece.</summary>
    public const string Qwen2SplitRegex =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static void WriteJson(string path, JsonNode node) =>
        File.WriteAllText(path, node.ToJsonString(new JsonSerializerOptions
        {
            WriteIndented = true,
            // Keep `<|mask|>` readable: the default encoder would write it as \u003C|mask|\u003E.
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }) + "\n");
}
