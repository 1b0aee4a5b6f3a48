using System.IO.Compression;
using System.Text.Json;

namespace Dream.Core.Tokenization;

/// <summary>
/// Reads a Hugging Face `tokenizer.json` (plain or gzip, told apart by the gzip magic bytes). Layout:
/// <c>{"added_tokens": [{"id", "content", "special", "normalized", "lstrip", "rstrip", "single_word"}],
/// "normalizer", "pre_tokenizer", "post_processor", "decoder", "model": {"type": "BPE", "vocab": {token: id},
/// "merges": ["a b", ...] or [["a", "b"], ...]}}</c>.
/// Only what Qwen2 tokenizers use is accepted: a BPE model without dropout, unknown token, subword affixes, byte
/// fallback or ignore_merges; normalizer NFC or none; the Qwen2 Split + ByteLevel pre-tokenizer; the ByteLevel
/// decoder. Anything else is refused by name rather than encoded differently from Hugging Face. The
/// post_processor only matters for add_special_tokens=True, which this tokenizer never does, so it is ignored.
/// </summary>
internal static class TokenizerJsonFile
{
    public static TokenizerDefinition Read(string path)
    {
        byte[] bytes = ReadMaybeGzip(path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes); }
        catch (JsonException e) { throw new DreamFormatException(path, null, $"not valid JSON: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new DreamFormatException(path, null, "must be a JSON object");

            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw new DreamFormatException(path, "model", "missing or not an object");
            CheckModelOptions(model, path);
            bool nfc = ReadNormalizer(root, path);
            CheckPreTokenizer(root, path);
            CheckDecoder(root, path);

            return new TokenizerDefinition
            {
                Vocab = ReadVocab(model, path),
                Merges = ReadMerges(model, path),
                AddedTokens = ReadAddedTokens(root, path),
                Nfc = nfc,
                VocabPath = path,
                MergesPath = path,
                MergeItem = i => $"model.merges[{i}]",
            };
        }
    }

    /// <summary>The file's bytes, gunzipped when they start with the gzip magic 1f 8b.</summary>
    public static byte[] ReadMaybeGzip(string path)
    {
        try
        {
            byte[] bytes = File.ReadAllBytes(path);
            if (bytes.Length < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b) return bytes;
            using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var plain = new MemoryStream(bytes.Length * 4);
            gzip.CopyTo(plain);
            return plain.ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new DreamFormatException(path, null, $"cannot read: {e.Message}", e);
        }
    }

    /// <summary>One added-token object (tokenizer.json `added_tokens[i]` or an `added_tokens_decoder` value).</summary>
    public static AddedToken ReadAddedToken(JsonElement obj, int id, string path, string item)
    {
        if (obj.ValueKind != JsonValueKind.Object) throw new DreamFormatException(path, item, "expected an object");
        if (!obj.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String || content.GetString() is not { Length: > 0 } text)
            throw new DreamFormatException(path, item + ".content", "missing or not a non-empty string");
        foreach (string flag in (ReadOnlySpan<string>)["lstrip", "rstrip", "single_word"])
            if (OptionalBool(obj, flag, path, item) == true)
                throw new DreamFormatException(path, $"{item}.{flag}", $"added token '{text}': {flag}=true is not supported (Qwen2 tokenizers use false)");
        return new AddedToken(id, text,
            Special: OptionalBool(obj, "special", path, item) ?? false,
            Normalized: OptionalBool(obj, "normalized", path, item) ?? false);
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root, string path)
    {
        var tokens = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var list) || list.ValueKind == JsonValueKind.Null) return tokens;
        if (list.ValueKind != JsonValueKind.Array) throw new DreamFormatException(path, "added_tokens", "expected an array");
        int i = 0;
        foreach (var entry in list.EnumerateArray())
        {
            string item = $"added_tokens[{i++}]";
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("id", out var idElement)
                || !IsId(idElement, out int id))
                throw new DreamFormatException(path, item + ".id", "missing or not a non-negative integer");
            tokens.Add(ReadAddedToken(entry, id, path, item));
        }
        return tokens;
    }

    private static void CheckModelOptions(JsonElement model, string path)
    {
        // Hugging Face writes "type"; files from before it did are recognised by their fields.
        string? type = OptionalString(model, "type", path, "model");
        if (type is not null && type != "BPE")
            throw new DreamFormatException(path, "model.type", $"model type '{type}' is not supported; only BPE is");
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind != JsonValueKind.Null
            && !(dropout.ValueKind == JsonValueKind.Number && dropout.TryGetDouble(out double p) && p == 0))
            throw new DreamFormatException(path, "model.dropout", "BPE dropout is not supported (it makes encoding random)");
        if (OptionalString(model, "unk_token", path, "model") is { } unk)
            throw new DreamFormatException(path, "model.unk_token", $"unk_token '{unk}' is not supported (byte-level BPE never needs one)");
        foreach (string affix in (ReadOnlySpan<string>)["continuing_subword_prefix", "end_of_word_suffix"])
            if (OptionalString(model, affix, path, "model") is { Length: > 0 } value)
                throw new DreamFormatException(path, "model." + affix, $"'{value}' is not supported (byte-level BPE uses none)");
        foreach (string flag in (ReadOnlySpan<string>)["byte_fallback", "ignore_merges"])
            if (OptionalBool(model, flag, path, "model") == true)
                throw new DreamFormatException(path, "model." + flag, "true is not supported (Qwen2 tokenizers use false)");
    }

    private static Dictionary<string, int> ReadVocab(JsonElement model, string path)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw new DreamFormatException(path, "model.vocab", "missing or not an object of token → id");
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocab.EnumerateObject())
        {
            if (!IsId(entry.Value, out int id))
                throw new DreamFormatException(path, $"model.vocab[\"{entry.Name}\"]", $"expected a non-negative integer id, found {entry.Value.GetRawText()}");
            result[entry.Name] = id;
        }
        return result;
    }

    private static List<(string, string)> ReadMerges(JsonElement model, string path)
    {
        if (!model.TryGetProperty("merges", out var merges) || merges.ValueKind != JsonValueKind.Array)
            throw new DreamFormatException(path, "model.merges", "missing or not an array");
        var result = new List<(string, string)>(merges.GetArrayLength());
        int i = 0;
        foreach (var merge in merges.EnumerateArray())
        {
            string item = $"model.merges[{i++}]";
            if (merge.ValueKind == JsonValueKind.String)
                result.Add(SplitMergeLine(merge.GetString()!, path, item));
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                     && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
                result.Add((merge[0].GetString()!, merge[1].GetString()!));
            else
                throw new DreamFormatException(path, item, $"expected \"left right\" or [\"left\", \"right\"], found {Describe(merge)}");
        }
        return result;
    }

    /// <summary>A merge written as one string: two tokens separated by one space (byte-level tokens hold no spaces).</summary>
    public static (string, string) SplitMergeLine(string line, string path, string item)
    {
        int space = line.IndexOf(' ');
        if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
            throw new DreamFormatException(path, item, $"expected two tokens separated by one space, found \"{line}\"");
        return (line[..space], line[(space + 1)..]);
    }

    private static bool ReadNormalizer(JsonElement root, string path)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind == JsonValueKind.Null) return false;
        string? type = OptionalString(normalizer, "type", path, "normalizer");
        if (type == "NFC") return true;
        if (type == "Sequence" && normalizer.TryGetProperty("normalizers", out var list) && list.ValueKind == JsonValueKind.Array
            && list.EnumerateArray().All(n => n.ValueKind == JsonValueKind.Object
                && n.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "NFC"))
            return list.GetArrayLength() > 0;
        throw new DreamFormatException(path, "normalizer", $"only NFC (or none) is supported, found {Describe(normalizer)}");
    }

    private static void CheckPreTokenizer(JsonElement root, string path)
    {
        const string expected = "the Qwen2 Sequence [Split(Qwen2 regex, Isolated), ByteLevel(add_prefix_space=false, use_regex=false)]";
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
            throw new DreamFormatException(path, "pre_tokenizer", $"missing; expected {expected}");
        bool ok = pre.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "Sequence"
            && pre.TryGetProperty("pretokenizers", out var steps) && steps.ValueKind == JsonValueKind.Array
            && steps.GetArrayLength() == 2 && IsQwen2Split(steps[0]) && IsPlainByteLevel(steps[1]);
        if (!ok) throw new DreamFormatException(path, "pre_tokenizer", $"not supported; expected {expected}, found {Describe(pre)}");
    }

    private static bool IsQwen2Split(JsonElement split) =>
        split.ValueKind == JsonValueKind.Object
        && HasString(split, "type", "Split")
        && split.TryGetProperty("pattern", out var pattern) && pattern.ValueKind == JsonValueKind.Object
        && HasString(pattern, "Regex", Qwen2PreTokenizer.Pattern)
        && HasString(split, "behavior", "Isolated")
        && !(split.TryGetProperty("invert", out var invert) && invert.ValueKind == JsonValueKind.True);

    private static bool IsPlainByteLevel(JsonElement step) =>
        step.ValueKind == JsonValueKind.Object
        && HasString(step, "type", "ByteLevel")
        && !(step.TryGetProperty("add_prefix_space", out var prefix) && prefix.ValueKind == JsonValueKind.True)
        && step.TryGetProperty("use_regex", out var useRegex) && useRegex.ValueKind == JsonValueKind.False;

    private static void CheckDecoder(JsonElement root, string path)
    {
        if (!root.TryGetProperty("decoder", out var decoder) || decoder.ValueKind != JsonValueKind.Object
            || !HasString(decoder, "type", "ByteLevel"))
            throw new DreamFormatException(path, "decoder", $"only the ByteLevel decoder is supported, found {(root.TryGetProperty("decoder", out var d) ? Describe(d) : "none")}");
    }

    /// <summary>A JSON number that is a non-negative 32-bit integer.</summary>
    public static bool IsId(JsonElement v, out int id)
    {
        id = -1;
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out id) && id >= 0;
    }

    private static bool HasString(JsonElement obj, string name, string value) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() == value;

    private static string? OptionalString(JsonElement obj, string name, string path, string parent)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw new DreamFormatException(path, $"{parent}.{name}", $"expected a string, found {Describe(v)}");
        return v.GetString();
    }

    private static bool? OptionalBool(JsonElement obj, string name, string path, string parent)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new DreamFormatException(path, $"{parent}.{name}", $"expected true or false, found {Describe(v)}"),
        };
    }

    private static string Describe(JsonElement v)
    {
        string raw = v.GetRawText();
        return raw.Length > 200 ? raw[..200] + "…" : raw;
    }
}
