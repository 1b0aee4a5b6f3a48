using System.Text;

namespace Dream.Core.Tokenization;

/// <summary>
/// What the encoder does to input text before anything else.
///
/// Lone surrogates: a .NET string can hold a UTF-16 surrogate half without its partner, which has no UTF-8 form
/// (Hugging Face only ever sees valid UTF-8). Each lone surrogate is replaced by U+FFFD — what .NET's UTF-8
/// encoder writes for it, and what a JavaScript or Python binding hands the Rust library — so encoding never
/// throws and a lone surrogate encodes like the replacement character.
///
/// NFC: the `normalizer` of Qwen2 tokenizers. Text with no character at or above U+0300 is already NFC (nothing
/// below the combining diacritics decomposes or composes), which skips the ICU call for ASCII and Latin-1.
/// Two sets of characters are "blockers": the text is normalized in parts around them and they are kept as they are.
/// <list type="bullet">
/// <item>U+FFFE, which .NET's ICU path refuses; it never decomposes or composes, so this changes nothing else.</item>
/// <item><see cref="UnknownToReference"/>: Hugging Face's normalization tables behave as Unicode 9.0, so to it
///   every later character is an inert starter (combining class 0, no decomposition, no composition), while ICU
///   reorders and composes it — e.g. U+0344 U+08D1 stays in that order in Hugging Face but not in ICU.</item>
/// </list>
/// </summary>
public static class TextNormalization
{
    /// <summary><paramref name="text"/> with every lone surrogate replaced by U+FFFD (the same instance if none).</summary>
    public static string ReplaceLoneSurrogates(string text)
    {
        int bad = FirstLoneSurrogate(text);
        if (bad < 0) return text;
        var sb = new StringBuilder(text.Length);
        sb.Append(text, 0, bad);
        for (int i = bad; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[i + 1]);
                i++;
            }
            else sb.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
        }
        return sb.ToString();
    }

    /// <summary>Index of the first surrogate half without a partner, or -1.</summary>
    public static int FirstLoneSurrogate(ReadOnlySpan<char> text)
    {
        int i = text.IndexOfAnyInRange('\uD800', '\uDFFF');
        if (i < 0) return -1;
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c)) continue;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            return i;
        }
        return -1;
    }

    /// <summary>True when <paramref name="text"/> is NFC without asking ICU (every char below U+0300).</summary>
    public static bool IsTriviallyNfc(ReadOnlySpan<char> text) => !text.ContainsAnyInRange('\u0300', '\uFFFF');

    /// <summary>
    /// Characters added after Unicode 9.0 whose normalization ICU (Unicode 15.0 as found on the build machines)
    /// knows and Hugging Face does not: found by normalizing probes of every code point with both
    /// (c, U+0345 c, c U+0345, NFD(c), "a" c, U+0301 c U+0300) and adding the parts of the one new composition,
    /// U+11938 = U+11935 U+11930. A newer ICU may need more entries (characters of Unicode 15.1 and later).
    /// </summary>
    public static IReadOnlyList<(int First, int Last)> UnknownToReference => UnknownRanges;

    private static readonly (int First, int Last)[] UnknownRanges =
    [
        (0x07FD, 0x07FD), (0x0898, 0x089F), (0x08CA, 0x08D3), (0x09FE, 0x09FE), (0x0C3C, 0x0C3C), (0x0D3B, 0x0D3C),
        (0x0EBA, 0x0EBA), (0x1715, 0x1715), (0x1ABF, 0x1ACE), (0x1DF6, 0x1DFA), (0xA82C, 0xA82C), (0x10D24, 0x10D27),
        (0x10EAB, 0x10EAC), (0x10EFD, 0x10EFF), (0x10F46, 0x10F50), (0x10F82, 0x10F85), (0x11070, 0x11070), (0x1133B, 0x1133B),
        (0x1145E, 0x1145E), (0x11839, 0x1183A), (0x11930, 0x11930), (0x11935, 0x11935), (0x11938, 0x11938), (0x1193D, 0x1193E),
        (0x11943, 0x11943), (0x119E0, 0x119E0), (0x11A34, 0x11A34), (0x11A47, 0x11A47), (0x11A99, 0x11A99), (0x11D42, 0x11D42),
        (0x11D44, 0x11D45), (0x11D97, 0x11D97), (0x11F41, 0x11F42), (0x16FF0, 0x16FF1), (0x1E08F, 0x1E08F), (0x1E130, 0x1E136),
        (0x1E2AE, 0x1E2AE), (0x1E2EC, 0x1E2EF), (0x1E4EC, 0x1E4EF),
    ];

    /// <summary>NFC of well-formed text (no lone surrogates: ICU refuses those), as Hugging Face computes it.</summary>
    public static string ToNfc(ReadOnlySpan<char> text)
    {
        if (IsTriviallyNfc(text)) return text.ToString();
        var sb = new StringBuilder(text.Length);
        int partStart = 0, i = 0;
        while (i < text.Length)
        {
            int width = char.IsHighSurrogate(text[i]) && i + 1 < text.Length ? 2 : 1;
            int codePoint = width == 2 ? char.ConvertToUtf32(text[i], text[i + 1]) : text[i];
            if (codePoint >= 0x07FD && IsBlocker(codePoint))
            {
                AppendNfc(sb, text[partStart..i]);
                sb.Append(text.Slice(i, width));
                partStart = i + width;
            }
            i += width;
        }
        if (partStart == 0) return text.ToString().Normalize(NormalizationForm.FormC);
        AppendNfc(sb, text[partStart..]);
        return sb.ToString();
    }

    private static void AppendNfc(StringBuilder sb, ReadOnlySpan<char> part)
    {
        if (part.IsEmpty) return;
        sb.Append(IsTriviallyNfc(part) ? part : part.ToString().Normalize(NormalizationForm.FormC));
    }

    private static bool IsBlocker(int codePoint)
    {
        if (codePoint == 0xFFFE) return true;
        foreach (var (first, last) in UnknownRanges)
        {
            if (codePoint < first) return false;
            if (codePoint <= last) return true;
        }
        return false;
    }
}
