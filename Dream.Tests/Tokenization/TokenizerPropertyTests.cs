using System.Text;
using Dream.Core.Tokenization;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Dream.Tests.Tokenization;

/// <summary>
/// Properties of the golden tokenizer over generated text. The generator mixes the characters that have
/// tripped tokenizers up — contractions, every kind of whitespace, newlines, combining marks and NFC pairs,
/// Hangul jamo, astral letters and emoji, controls, noncharacters, lone surrogates, fragments of added tokens —
/// with random code points from the whole range.
/// </summary>
public class TokenizerPropertyTests
{
    /// <summary>Any .NET string, lone surrogates included.</summary>
    public sealed record AnyText(string Value)
    {
        public override string ToString() => Escape(Value);
    }

    /// <summary>Well-formed UTF-16 holding no added token.</summary>
    public sealed record PlainText(string Value)
    {
        public override string ToString() => Escape(Value);
    }

    private static readonly string[] Atoms =
    [
        "'s", "'S", "'\u017F", "'re", "'VE", "'ll", "'d", "'m", "'t", "'", " ", "  ", "\t", "\n", "\r\n", "\r",
        "\u00A0", "\u3000", "\u2028", "\u000B", "\u000C", "\u0085", "\u001C", "the", " the", "Hello", "WORLD",
        "é", "e\u0301", "\u0301", "\u0338", "A\u030A", "\u212B", "\u1100\u1161\u11A8", "한국어", "日本語", "Ω", "\u2126",
        "\U0001F600", "\U0001F44D\U0001F3FD", "\U0001D400\U0001D401", "\U00020000", "123", "\u0663", "½", "Ⅻ", "²",
        "!", "?!", "...", "—", "“", "(", ")", "{", "$", "#", "@", "_", "=", "<", ">", "<|", "|>", "im_start", "ǅ",
        "ﬆ", "ß", "İ", "ı", "\u200B", "\u200D", "\uFEFF", "\u0000", "\u007F", "\uFFFD", "\uFFFE", "\uFFFF", "ह", "ि",
        "्", "\u0344", "\u08D1", "\u0958", "\u00AD", "aaaaaaaaaaaaaaaaaaaa", "    ", "\n\n", " \n ", "0",
    ];

    private static Gen<string> Char(bool allowLoneSurrogates) => Gen.Frequency(
    [
        (3, Gen.Choose(32, 126).Select(c => ((char)c).ToString())),
        (2, Gen.Choose(0x80, 0x2FFF).Select(c => ((char)c).ToString())),
        (2, Gen.Choose(0x3000, 0xFFFF)
            .Where(c => allowLoneSurrogates || !char.IsSurrogate((char)c))
            .Select(c => ((char)c).ToString())),
        (1, Gen.Choose(0x10000, 0x10FFFF).Select(char.ConvertFromUtf32)),
        (1, Gen.Choose(0, 31).Select(c => ((char)c).ToString())),
    ]);

    private static Gen<string> Text(bool allowLoneSurrogates) =>
        Gen.Frequency([(7, Gen.Elements(Atoms)), (3, Char(allowLoneSurrogates))])
            .ArrayOf()
            .Select(parts => string.Concat(parts));

    public static Arbitrary<AnyText> AnyTexts() =>
        Gen.Frequency(
            [
                (4, Text(allowLoneSurrogates: true)),
                (1, from before in Text(true)
                    from token in Gen.Elements(GoldenTokenizer.Tokenizer.AddedTokens.Select(t => t.Content).ToArray())
                    from after in Text(true)
                    select before + token + after),
            ])
            .Select(s => new AnyText(s))
            .ToArbitrary();

    public static Arbitrary<PlainText> PlainTexts() =>
        Text(allowLoneSurrogates: false)
            .Where(s => !GoldenTokenizer.Tokenizer.AddedTokens.Any(t => s.Contains(t.Content, StringComparison.Ordinal)))
            .Select(s => new PlainText(s))
            .ToArbitrary();

    public static Arbitrary<AddedToken> AddedTokens() =>
        Gen.Elements(GoldenTokenizer.Tokenizer.AddedTokens.ToArray()).ToArbitrary();

    private static readonly Lazy<BpeTokenizer> Uncached = new(() => BpeTokenizer.Load(GoldenTokenizer.TokenizerPath, pieceCacheCapacity: 0));

    [Property(MaxTest = 500, Arbitrary = [typeof(TokenizerPropertyTests)])]
    public void EncodeNeverThrowsAndIdsAreInTheVocabulary(AnyText text)
    {
        var tok = GoldenTokenizer.Tokenizer;
        int[] ids = tok.Encode(text.Value);
        Assert.All(ids, id => Assert.NotNull(tok.IdToToken(id)));
        Assert.All(ids, id => Assert.InRange(id, 0, tok.VocabSize - 1));
        _ = tok.Decode(ids);
    }

    [Property(MaxTest = 500, Arbitrary = [typeof(TokenizerPropertyTests)])]
    public void DecodeOfEncodeIsTheNormalizedText(PlainText text)
    {
        var tok = GoldenTokenizer.Tokenizer;
        Assert.Equal(TextNormalization.ToNfc(text.Value), tok.Decode(tok.Encode(text.Value)));
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(TokenizerPropertyTests)])]
    public void LoneSurrogatesEncodeAsTheReplacementCharacter(AnyText text)
    {
        var tok = GoldenTokenizer.Tokenizer;
        Assert.Equal(tok.Encode(TextNormalization.ReplaceLoneSurrogates(text.Value)), tok.Encode(text.Value));
    }

    [Property(MaxTest = 500, Arbitrary = [typeof(TokenizerPropertyTests)])]
    public void AnAddedTokenSplitsTheEncoding(AnyText before, AddedToken token, AnyText after)
    {
        var tok = GoldenTokenizer.Tokenizer;
        int[] expected = [.. tok.Encode(before.Value), token.Id, .. tok.Encode(after.Value)];
        Assert.Equal(expected, tok.Encode(before.Value + token.Content + after.Value));
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(TokenizerPropertyTests)])]
    public void TheCacheChangesNothing(AnyText text) =>
        Assert.Equal(Uncached.Value.Encode(text.Value), GoldenTokenizer.Tokenizer.Encode(text.Value));

    [Property(MaxTest = 300, Arbitrary = [typeof(TokenizerPropertyTests)])]
    public void ReferenceNfcIsIcuNfcAwayFromBlockers(PlainText text)
    {
        // ToNfc departs from .NET's NFC only around U+FFFE and the characters the reference's tables lack.
        bool blocked = text.Value.EnumerateRunes().Any(r => r.Value == 0xFFFE
            || TextNormalization.UnknownToReference.Any(u => r.Value >= u.First && r.Value <= u.Last));
        if (!blocked) Assert.Equal(text.Value.Normalize(NormalizationForm.FormC), TextNormalization.ToNfc(text.Value));
    }

    private static string Escape(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in s) sb.Append(c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:X4}");
        return sb.Append('"').ToString();
    }
}
