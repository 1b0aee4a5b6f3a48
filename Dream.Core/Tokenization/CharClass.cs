using System.Globalization;

namespace Dream.Core.Tokenization;

/// <summary>
/// The four character classes the Qwen2 pre-tokenizer regex distinguishes, as Oniguruma (the regex engine behind
/// Hugging Face `tokenizers`) defines them for UTF-8 text:
/// <c>\p{L}</c> = Lu Ll Lt Lm Lo; <c>\p{N}</c> = Nd Nl No; <c>\s</c> = the Unicode White_Space set, i.e.
/// U+0009..U+000D, U+0020, U+0085 and Zs Zl Zp — not U+001C..U+001F (Python's <c>str.isspace</c> would say yes),
/// not U+200B, not U+FEFF (checked against the reference implementation); <c>[\r\n]</c> is its own class
/// because several alternatives single it out. A lone surrogate belongs to no class (the scanner treats it like
/// U+FFFD, which is what it becomes in the UTF-8 bytes).
/// </summary>
[Flags]
public enum CharClass : byte
{
    /// <summary>Neither letter, number nor whitespace: punctuation, symbols, marks, controls, unassigned.</summary>
    Other = 0,
    Letter = 1,
    Number = 2,
    Space = 4,
    /// <summary>Set, together with <see cref="Space"/>, for '\r' and '\n' only.</summary>
    NewLine = 8,
}

/// <summary>Classifies code points into <see cref="CharClass"/>; a table for the BMP, a category lookup above it.</summary>
public static class CharClasses
{
    // 64 KiB: one byte per BMP code point, built once (≈1 ms) so the scanner's hot loop is a single load.
    private static readonly CharClass[] Bmp = BuildBmp();

    public static CharClass Of(char c) => Bmp[c];

    public static CharClass Of(int codePoint) =>
        codePoint < 0x10000 ? Bmp[codePoint] : FromCategory(CharUnicodeInfo.GetUnicodeCategory(codePoint));

    /// <summary>
    /// The class of the code point starting at <paramref name="i"/> and its width in UTF-16 units (2 for a
    /// surrogate pair, else 1; a lone surrogate is width 1, class Other).
    /// </summary>
    public static CharClass At(ReadOnlySpan<char> s, int i, out int width)
    {
        char c = s[i];
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            width = 2;
            return FromCategory(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, s[i + 1])));
        }
        width = 1;
        return Bmp[c];
    }

    private static CharClass[] BuildBmp()
    {
        var table = new CharClass[0x10000];
        for (int c = 0; c < table.Length; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF) continue;   // surrogate halves: Other
            table[c] = c is >= 0x09 and <= 0x0D or 0x20 or 0x85
                ? CharClass.Space
                : FromCategory(CharUnicodeInfo.GetUnicodeCategory(c));
        }
        table['\r'] = CharClass.Space | CharClass.NewLine;
        table['\n'] = CharClass.Space | CharClass.NewLine;
        return table;
    }

    private static CharClass FromCategory(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharClass.Letter,
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharClass.Number,
        UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => CharClass.Space,
        _ => CharClass.Other,
    };
}
