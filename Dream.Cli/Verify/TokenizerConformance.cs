using System.Text;
using Dream.Core;
using Dream.Core.Tokenization;

namespace Dream.Cli.Verify;

/// <summary>
/// `dream verify --only tokenizer`: the golden directory's tokenizer (`tokenizer.json.gz` or `tokenizer.json`)
/// encodes every text of `tokenizer-cases.json` to exactly Hugging Face's ids and decodes them to exactly its
/// strings, with and without skipping special tokens. One line per failing case.
/// </summary>
public static class TokenizerConformance
{
    public static (int Passed, int Failed) Run(string goldenDir, TextWriter output)
    {
        BpeTokenizer tokenizer;
        IReadOnlyList<TokenizerCase> cases;
        try
        {
            string file = Path.Combine(goldenDir, "tokenizer.json.gz");
            if (!File.Exists(file)) file = Path.Combine(goldenDir, "tokenizer.json");
            tokenizer = BpeTokenizer.Load(file);
            cases = GoldenTokenizerCases.Load(Path.Combine(goldenDir, GoldenTokenizerCases.FileName));
        }
        catch (DreamFormatException e)
        {
            output.WriteLine($"FAIL tokenizer: {e.Message}");
            return (0, 1);
        }
        return Run(tokenizer, cases, output);
    }

    /// <summary>Checks already-loaded cases against an already-loaded tokenizer.</summary>
    public static (int Passed, int Failed) Run(BpeTokenizer tokenizer, IReadOnlyList<TokenizerCase> cases, TextWriter output)
    {
        int passed = 0, failed = 0;
        foreach (var c in cases)
        {
            string? problem = Check(tokenizer, c);
            if (problem is null) passed++;
            else
            {
                failed++;
                output.WriteLine($"FAIL tokenizer case {c.Index} {Quote(c.Text)}: {problem}");
            }
        }
        return (passed, failed);
    }

    /// <summary>Null when the case passes, else what differs first.</summary>
    public static string? Check(BpeTokenizer tokenizer, TokenizerCase c)
    {
        int[] ids = tokenizer.Encode(c.Text);
        int at = FirstDifference(ids, c.Ids);
        if (at >= 0)
            return $"ids differ at {at} (expected {c.Ids.Length} ids, got {ids.Length}): expected {Window(c.Ids, at)}, got {Window(ids, at)}";
        string decoded = tokenizer.Decode(c.Ids);
        if (decoded != c.Decoded) return $"decode: expected {Quote(c.Decoded)}, got {Quote(decoded)}";
        string skipped = tokenizer.Decode(c.Ids, skipSpecialTokens: true);
        if (skipped != c.DecodedSkipSpecial) return $"decode skipping special tokens: expected {Quote(c.DecodedSkipSpecial)}, got {Quote(skipped)}";
        return null;
    }

    private static int FirstDifference(int[] a, int[] b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
            if (a[i] != b[i]) return i;
        return a.Length == b.Length ? -1 : n;
    }

    private static string Window(int[] ids, int at) =>
        "[" + (at > 0 ? "… " : "") + string.Join(", ", ids.Skip(at).Take(6)) + (ids.Length > at + 6 ? " …" : "") + "]";

    /// <summary>The text in quotes with control characters escaped, cut to 80 characters.</summary>
    private static string Quote(string text)
    {
        const int MaxChars = 80;
        var sb = new StringBuilder("\"");
        int end = Math.Min(text.Length, MaxChars);
        for (int i = 0; i < end; i++)
        {
            char ch = text[i];
            bool pair = char.IsHighSurrogate(ch) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            if (pair) sb.Append(ch).Append(text[++i]);
            else if (ch == '\n') sb.Append("\\n");
            else if (ch == '\r') sb.Append("\\r");
            else if (ch == '\t') sb.Append("\\t");
            else if (ch == '"') sb.Append("\\\"");
            else if (char.IsControl(ch) || char.IsSurrogate(ch)) sb.Append($"\\u{(int)ch:X4}");
            else sb.Append(ch);
        }
        return sb.Append(text.Length > MaxChars ? "\"…" : "\"").ToString();
    }
}
