using System.Text;
using System.Text.Json.Nodes;
using Dream.Core.Tokenization;

namespace Dream.Tests.Tokenization;

/// <summary>
/// A small byte-level BPE written out in both layouts: the 256 byte tokens (ids 0..255, in byte order), a few
/// merges building "hell", "Ġw" and "or", and two added tokens (one special, one not).
/// </summary>
public static class TinyTokenizerFiles
{
    public static readonly (string Left, string Right)[] Merges =
        [("h", "e"), ("l", "l"), ("he", "ll"), ("Ġ", "w"), ("o", "r"), ("Ġw", "or")];

    public static Dictionary<string, int> Vocab()
    {
        var vocab = new Dictionary<string, int>();
        for (int b = 0; b < 256; b++) vocab[ByteLevelAlphabet.ByteToChar((byte)b).ToString()] = b;
        foreach (var (left, right) in Merges) vocab[left + right] = vocab.Count;
        return vocab;   // he 256, ll 257, hell 258, Ġw 259, or 260, Ġwor 261
    }

    public static JsonObject AddedToken(int id, string content, bool special) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
        ["normalized"] = false, ["special"] = special,
    };

    /// <summary>tokenizer.json; merges as ["a", "b"] pairs, or as "a b" strings.</summary>
    public static JsonObject TokenizerJson(bool mergesAsPairs = true)
    {
        var vocab = new JsonObject();
        foreach (var (token, id) in Vocab()) vocab[token] = id;
        var merges = new JsonArray();
        foreach (var (left, right) in Merges)
            merges.Add(mergesAsPairs ? new JsonArray(left, right) : JsonValue.Create($"{left} {right}"));
        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(AddedToken(300, "<|endoftext|>", true), AddedToken(301, "<tool_call>", false)),
            ["normalizer"] = new JsonObject { ["type"] = "NFC" },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = Qwen2PreTokenizer.Pattern },
                        ["behavior"] = "Isolated", ["invert"] = false,
                    },
                    byteLevel.DeepClone()),
            },
            ["post_processor"] = byteLevel.DeepClone(),
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "", ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocab, ["merges"] = merges,
            },
        };
    }

    public static string WriteTokenizerJson(string directory, JsonNode json, string name = "tokenizer.json")
    {
        string path = Path.Combine(directory, name);
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    /// <summary>vocab.json + merges.txt + tokenizer_config.json, the older layout.</summary>
    public static void WriteLegacy(string directory)
    {
        var vocab = new JsonObject();
        foreach (var (token, id) in Vocab()) vocab[token] = id;
        File.WriteAllText(Path.Combine(directory, "vocab.json"), vocab.ToJsonString());
        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (left, right) in Merges) merges.Append(left).Append(' ').Append(right).Append('\n');
        File.WriteAllText(Path.Combine(directory, "merges.txt"), merges.ToString());
        var config = new JsonObject
        {
            ["tokenizer_class"] = "Qwen2Tokenizer",
            ["added_tokens_decoder"] = new JsonObject
            {
                ["300"] = StripId(AddedToken(300, "<|endoftext|>", true)),
                ["301"] = StripId(AddedToken(301, "<tool_call>", false)),
            },
        };
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), config.ToJsonString());
    }

    private static JsonObject StripId(JsonObject token)
    {
        token.Remove("id");
        return token;
    }
}
