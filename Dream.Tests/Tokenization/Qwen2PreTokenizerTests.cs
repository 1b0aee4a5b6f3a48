using Dream.Core.Tokenization;
using Xunit;

namespace Dream.Tests.Tokenization;

/// <summary>
/// The regex semantics the scanner must reproduce, each expectation taken from Hugging Face `tokenizers`
/// (pre_tokenize_str of the Qwen2.5 tokenizer). Every code point was also compared in several contexts when the
/// scanner was written; these cases keep the interesting ones.
/// </summary>
public class Qwen2PreTokenizerTests
{
    public static TheoryData<string, string[]> Cases => new()
    {
        // Contractions: case-insensitive, only the seven, ſ folds to s, the Kelvin sign does not help.
        { "don't I'M we'RE they'll he'd she's", ["don", "'t", " I", "'M", " we", "'RE", " they", "'ll", " he", "'d", " she", "'s"] },
        { "x'\u017Fx x'\u212Ax x'Sx x'LL x'vE x'dx x'mm", ["x", "'\u017F", "x", " x", "'\u212Ax", " x", "'S", "x", " x", "'LL", " x", "'vE", " x", "'d", "x", " x", "'m", "m"] },
        { "'sup", ["'s", "up"] },
        { "''s", ["''", "s"] },
        { "x'll'", ["x", "'ll", "'"] },
        { "'", ["'"] },
        // Whitespace runs: the last space leads the next word; newlines end a run.
        { "hello  world", ["hello", " ", " world"] },
        { "a  ", ["a", "  "] },
        { "  1", [" ", " ", "1"] },
        { "  \n  x", ["  \n", " ", " x"] },
        { " \n \n  ", [" \n \n", "  "] },
        { "a \n b", ["a", " \n", " b"] },
        { "a\r\n\r\nb", ["a", "\r\n\r\n", "b"] },
        { "   \r\n", ["   \r\n"] },
        { "\t\tx", ["\t", "\tx"] },
        { "\t(", ["\t", "("] },
        { "\u2028\u2028a", ["\u2028", "\u2028a"] },
        { "\u3000\u3000x", ["\u3000", "\u3000x"] },
        // What counts as whitespace: U+000B and U+00A0 do; U+001C, U+200B and U+FEFF do not.
        { "x\u000B!", ["x", "\u000B", "!"] },
        { "x\u00A0!", ["x", "\u00A0", "!"] },
        { "x\u001C!", ["x", "\u001C!"] },
        { "x\u200B!", ["x", "\u200B!"] },
        { "x\uFEFF!", ["x", "\uFEFF!"] },
        // Punctuation runs take trailing newlines; one leading space only.
        { "x!!\n\n\r y", ["x", "!!\n\n\r", " y"] },
        { ";\n\n", [";\n\n"] },
        { "(int", ["(int"] },
        { " (int", [" (", "int"] },
        // Numbers are single characters, including other numeric categories.
        { "12abc", ["1", "2", "abc"] },
        { "ab12", ["ab", "1", "2"] },
        { "\u00BD\u00B2\u216B", ["\u00BD", "\u00B2", "\u216B"] },
        // Marks are neither letters nor numbers; astral letters and symbols are one code point each.
        { "\u0939\u093F\u0928\u094D\u0926\u0940", ["\u0939", "\u093F\u0928", "\u094D\u0926", "\u0940"] },
        { "a\u0301b", ["a", "\u0301b"] },
        { "\U0001D400\U0001D401 \U0001F600\U0001F600x", ["\U0001D400\U0001D401", " \U0001F600\U0001F600", "x"] },
        { "", [] },
        { " ", [" "] },
        { "\n", ["\n"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SplitsLikeHuggingFace(string text, string[] expected) =>
        Assert.Equal(expected, Qwen2PreTokenizer.Split(text));

    [Fact]
    public void LoneSurrogatesAreOtherAndPairsStayWhole()
    {
        // A lone surrogate behaves like U+FFFD (a symbol); a pair is never cut.
        Assert.Equal(["a", "\uD800!", " \uDC00"], Qwen2PreTokenizer.Split("a\uD800! \uDC00"));
        Assert.Equal(["\U0001F600\U0001F600"], Qwen2PreTokenizer.Split("\U0001F600\U0001F600"));
    }

    [Fact]
    public void ClassesFollowTheReferenceEngine()
    {
        Assert.Equal(CharClass.Space | CharClass.NewLine, CharClasses.Of('\r'));
        Assert.Equal(CharClass.Space, CharClasses.Of('\u0085'));
        Assert.Equal(CharClass.Other, CharClasses.Of('\u001F'));
        Assert.Equal(CharClass.Letter, CharClasses.Of('\u01C5'));       // titlecase ǅ
        Assert.Equal(CharClass.Number, CharClasses.Of('\u2160'));       // Ⅰ letter number
        Assert.Equal(CharClass.Letter, CharClasses.Of(0x20000));        // CJK extension B
        Assert.Equal(CharClass.Other, CharClasses.Of(0x1F600));         // emoji
    }
}
