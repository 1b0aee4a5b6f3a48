namespace Dream.Core.Tokenization;

/// <summary>
/// The Qwen2 pre-tokenizer: a hand-written scanner that splits text exactly as Hugging Face `tokenizers` splits it
/// with <see cref="Pattern"/> (Split, behaviour Isolated, run by Oniguruma). Every character is covered by some
/// alternative, so the pieces tile the text with no gaps.
///
/// Alternatives are tried in order at each position and the first that matches wins (leftmost-first, with
/// backtracking). Worked out once, with the character classes of <see cref="CharClasses"/> (L letter, N number,
/// S whitespace, O other = none of these):
/// <list type="number">
/// <item><c>(?i:'s|'t|'re|'ve|'m|'ll|'d)</c> — an ASCII apostrophe and a contraction, case-insensitive with
///   Unicode simple case folding: 'ſ' (U+017F) folds to 's', so <c>'ſ</c> is a contraction.</item>
/// <item><c>[^\r\n\p{L}\p{N}]?\p{L}+</c> — a letter run, optionally led by one O or non-newline S character.</item>
/// <item><c>\p{N}</c> — one number character (digits are never grouped).</item>
/// <item><c> ?[^\s\p{L}\p{N}]+[\r\n]*</c> — an O run, optionally led by one U+0020, then any '\r'/'\n'.</item>
/// <item><c>\s*[\r\n]+</c> — if the whitespace run starting here holds a newline: up to and including its last
///   newline (the backtracking of <c>\s*</c> gives back everything after it).</item>
/// <item><c>\s+(?!\S)</c> — the whitespace run, minus its last character when a non-space follows (that character
///   then leads the next piece, e.g. " word"); a run of one followed by a non-space fails here.</item>
/// <item><c>\s+</c> — the whole run (only reached for a single whitespace character before a non-space).</item>
/// </list>
/// Why not System.Text.RegularExpressions: its case-insensitive matching and Unicode tables are its own, and this
/// scanner is several times faster; the golden cases and an exhaustive per-code-point comparison with the reference
/// implementation pin the semantics.
/// </summary>
public static class Qwen2PreTokenizer
{
    /// <summary>The Split regex of Qwen2-family tokenizer.json files, as stored there.</summary>
    public const string Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>
    /// Length in UTF-16 units of the piece that starts at the beginning of <paramref name="s"/> (non-empty);
    /// always ≥ 1 and never splits a surrogate pair.
    /// </summary>
    public static int PieceLength(ReadOnlySpan<char> s)
    {
        char c = s[0];
        CharClass k = CharClasses.At(s, 0, out int w);

        // 1. Contractions.
        if (c == '\'' && s.Length >= 2)
        {
            int n = ContractionLength(s);
            if (n > 0) return n;
        }

        // 2. Letter run, optionally led by one character that is neither newline, letter nor number.
        if (k == CharClass.Letter) return LetterRunEnd(s, w);
        if ((k & (CharClass.NewLine | CharClass.Number)) == 0 && w < s.Length
            && CharClasses.At(s, w, out int w2) == CharClass.Letter)
            return LetterRunEnd(s, w + w2);

        // 3. One number character.
        if (k == CharClass.Number) return w;

        // 4. Run of "other" characters, optionally led by one space, then trailing newlines.
        int otherStart = -1;
        if (k == CharClass.Other) otherStart = 0;
        else if (c == ' ' && s.Length > 1 && CharClasses.At(s, 1, out _) == CharClass.Other) otherStart = 1;
        if (otherStart >= 0)
        {
            int end = OtherRunEnd(s, otherStart);
            while (end < s.Length && s[end] is '\r' or '\n') end++;
            return end;
        }

        // Only whitespace is left. White_Space characters are all in the BMP, so one char is one code point.
        int runEnd = 1;
        int lastNewline = (k & CharClass.NewLine) != 0 ? 0 : -1;
        while (runEnd < s.Length && (CharClasses.Of(s[runEnd]) & CharClass.Space) != 0)
        {
            if (s[runEnd] is '\r' or '\n') lastNewline = runEnd;
            runEnd++;
        }
        // 5. \s*[\r\n]+
        if (lastNewline >= 0) return lastNewline + 1;
        // 6. \s+(?!\S)
        if (runEnd == s.Length) return runEnd;
        if (runEnd >= 2) return runEnd - 1;
        // 7. \s+
        return runEnd;
    }

    /// <summary>Appends the pieces of <paramref name="text"/> as ranges, in order; they tile the text.</summary>
    public static void Split(ReadOnlySpan<char> text, List<Range> pieces)
    {
        int start = 0;
        while (start < text.Length)
        {
            int length = PieceLength(text[start..]);
            pieces.Add(new Range(start, start + length));
            start += length;
        }
    }

    /// <summary>The pieces of <paramref name="text"/> as strings (for tests and tools).</summary>
    public static List<string> Split(string text)
    {
        var ranges = new List<Range>();
        Split(text.AsSpan(), ranges);
        return ranges.ConvertAll(r => text[r]);
    }

    // s[0] is an apostrophe. The alternatives share no prefix, so whichever matches is the answer.
    private static int ContractionLength(ReadOnlySpan<char> s)
    {
        char a = FoldAscii(s[1]);
        if (a is 's' or 't' or 'm' or 'd') return 2;
        if (s.Length >= 3)
        {
            char b = FoldAscii(s[2]);
            if (b == 'e' && a is 'r' or 'v') return 3;
            if (b == 'l' && a == 'l') return 3;
        }
        return 0;
    }

    // Unicode simple case folding restricted to the letters of the contractions: only 'ſ' folds onto one of
    // them from outside ASCII (the Kelvin sign folds to 'k', which no contraction uses).
    private static char FoldAscii(char c) => c switch
    {
        >= 'A' and <= 'Z' => (char)(c | 0x20),
        '\u017F' => 's',
        _ => c,
    };

    private static int LetterRunEnd(ReadOnlySpan<char> s, int i)
    {
        while (i < s.Length && CharClasses.At(s, i, out int w) == CharClass.Letter) i += w;
        return i;
    }

    private static int OtherRunEnd(ReadOnlySpan<char> s, int i)
    {
        while (i < s.Length && CharClasses.At(s, i, out int w) == CharClass.Other) i += w;
        return i;
    }
}
