using System.Text.Json;
using Dream.Core;

namespace Dream.Cli.Verify;

/// <summary>One case of `tokenizer-cases.json`: what Hugging Face `tokenizers` produced for a text
/// (encode with add_special_tokens=False, then decode with and without skip_special_tokens).</summary>
public sealed record TokenizerCase(int Index, string Text, int[] Ids, string Decoded, string DecodedSkipSpecial);

/// <summary>Reads `tokenizer-cases.json`: <c>{"cases": [{"text", "ids", "decoded", "decoded_skip_special"}]}</c>.</summary>
public static class GoldenTokenizerCases
{
    public const string FileName = "tokenizer-cases.json";

    public static IReadOnlyList<TokenizerCase> Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new DreamFormatException(path, null, $"cannot read: {e.Message}", e); }
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("cases", out var cases)
                || cases.ValueKind != JsonValueKind.Array)
                throw new DreamFormatException(path, "cases", "expected {\"cases\": [...]}");
            var result = new List<TokenizerCase>(cases.GetArrayLength());
            foreach (var c in cases.EnumerateArray())
            {
                int index = result.Count;
                result.Add(new TokenizerCase(index,
                    String(c, "text", path, index),
                    c.TryGetProperty("ids", out var ids) && ids.ValueKind == JsonValueKind.Array
                        ? ids.EnumerateArray().Select(i => i.GetInt32()).ToArray()
                        : throw new DreamFormatException(path, $"cases[{index}].ids", "missing or not an array"),
                    String(c, "decoded", path, index),
                    String(c, "decoded_skip_special", path, index)));
            }
            return result;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new DreamFormatException(path, null, $"malformed golden cases: {e.Message}", e);
        }
    }

    private static string String(JsonElement c, string name, string path, int index) =>
        c.ValueKind == JsonValueKind.Object && c.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new DreamFormatException(path, $"cases[{index}].{name}", "missing or not a string");
}
