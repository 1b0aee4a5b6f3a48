using System.Text.Json;

namespace Dream.Core.Tokenization;

/// <summary>
/// Reads the older "slow tokenizer" layout of a Qwen2 checkpoint directory:
/// <list type="bullet">
/// <item>`vocab.json`: <c>{token: id}</c> in byte-level form;</item>
/// <item>`merges.txt`: one merge per line, "left right", an optional first line "#version: ..." and blank lines
///   skipped (as transformers' Qwen2Tokenizer does);</item>
/// <item>`tokenizer_config.json`: <c>"added_tokens_decoder": {"151643": {"content", "special", "normalized",
///   "lstrip", "rstrip", "single_word"}}</c>.</item>
/// </list>
/// The normalizer (NFC) and pre-tokenizer are implied by the layout: Qwen2Tokenizer hard-codes them.
/// </summary>
internal static class LegacyTokenizerFiles
{
    public const string VocabFile = "vocab.json";
    public const string MergesFile = "merges.txt";
    public const string ConfigFile = "tokenizer_config.json";

    public static TokenizerDefinition Read(string directory)
    {
        string vocabPath = Path.Combine(directory, VocabFile);
        string mergesPath = Path.Combine(directory, MergesFile);
        string configPath = Path.Combine(directory, ConfigFile);
        var mergeLines = new List<int>();
        return new TokenizerDefinition
        {
            Vocab = ReadVocab(vocabPath),
            Merges = ReadMerges(mergesPath, mergeLines),
            AddedTokens = ReadAddedTokens(configPath),
            Nfc = true,
            VocabPath = vocabPath,
            MergesPath = mergesPath,
            MergeItem = i => $"line {mergeLines[i]}",
        };
    }

    private static Dictionary<string, int> ReadVocab(string path)
    {
        using var doc = ParseJson(path);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new DreamFormatException(path, null, "must be a JSON object of token → id");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in doc.RootElement.EnumerateObject())
        {
            if (!TokenizerJsonFile.IsId(entry.Value, out int id))
                throw new DreamFormatException(path, entry.Name, $"expected a non-negative integer id, found {entry.Value.GetRawText()}");
            vocab[entry.Name] = id;
        }
        return vocab;
    }

    /// <param name="lineNumbers">receives the 1-based line of each merge, for error messages.</param>
    private static List<(string, string)> ReadMerges(string path, List<int> lineNumbers)
    {
        string[] lines = ReadLines(path);
        var merges = new List<(string, string)>(lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || (i == 0 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            merges.Add(TokenizerJsonFile.SplitMergeLine(line, path, $"line {i + 1}"));
            lineNumbers.Add(i + 1);
        }
        return merges;
    }

    private static List<AddedToken> ReadAddedTokens(string path)
    {
        using var doc = ParseJson(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new DreamFormatException(path, null, "must be a JSON object");
        if (!root.TryGetProperty("added_tokens_decoder", out var decoder) || decoder.ValueKind != JsonValueKind.Object)
            throw new DreamFormatException(path, "added_tokens_decoder",
                "missing or not an object; it lists the special tokens (<|endoftext|>, <|im_start|>, ...) and their ids");
        var tokens = new List<AddedToken>();
        foreach (var entry in decoder.EnumerateObject())
        {
            string item = $"added_tokens_decoder[\"{entry.Name}\"]";
            if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None, null, out int id))
                throw new DreamFormatException(path, item, "the key must be a non-negative integer id");
            tokens.Add(TokenizerJsonFile.ReadAddedToken(entry.Value, id, path, item));
        }
        return tokens;
    }

    private static JsonDocument ParseJson(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new DreamFormatException(path, null, $"cannot read: {e.Message}", e); }
        try { return JsonDocument.Parse(bytes); }
        catch (JsonException e) { throw new DreamFormatException(path, null, $"not valid JSON: {e.Message}", e); }
    }

    private static string[] ReadLines(string path)
    {
        try { return File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new DreamFormatException(path, null, $"cannot read: {e.Message}", e); }
    }
}
