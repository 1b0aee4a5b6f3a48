using Dream.Core.Tokenization;
using Xunit;

namespace Dream.Tests.Tokenization;

/// <summary>
/// Encode and decode edge cases on the golden tokenizer. Expected ids and strings come from Hugging Face
/// `tokenizers` (encode with add_special_tokens=False).
/// </summary>
public class BpeTokenizerTests
{
    private static BpeTokenizer Tok => GoldenTokenizer.Tokenizer;

    // Byte tokens: the id of the one-byte token for byte b (GPT-2 byte-to-unicode form).
    private static int ByteId(byte b)
    {
        Assert.True(Tok.TryGetId(ByteLevelAlphabet.ByteToChar(b).ToString(), out int id));
        return id;
    }

    public static TheoryData<string, int[]> EncodeCases => new()
    {
        { "<|im_start|>user\nhi<|im_end|>", [151644, 872, 198, 6023, 151645] },
        { "<|im_start|><|im_start|>", [151644, 151644] },
        { "\U0001F600", [141334] },
        // NFC: Å (A + ring), Å (angstrom sign) and Ω (ohm sign) all normalize.
        { "A\u030A\u212B\u2126", [144044, 144044, 144572] },
        // Added tokens are split out before NFC: '>' of <|mask|> does not compose with U+0338 into '≯'.
        { "<|mask|>\u0338", [151666, 136, 116] },
        // U+08D1 is newer than the reference's Unicode 9.0 tables, so it is not reordered before U+0308 U+0301.
        { "x\u0344\u08D1", [150603, 53839, 156, 96, 239] },
        // U+FFFE blocks composition and survives as EF BF BE.
        { "e\u0301\uFFFE\u0301", [963, 5564, 122, 53839] },
        // Lone surrogates encode as U+FFFD.
        { "\uD800x\uDC00", [5691, 87, 5691] },
        { "", [] },
    };

    [Theory]
    [MemberData(nameof(EncodeCases))]
    public void EncodesLikeHuggingFace(string text, int[] expected) => Assert.Equal(expected, Tok.Encode(text));

    [Fact]
    public void DecodeReplacesBrokenUtf8LikeHuggingFace()
    {
        // One U+FFFD per maximal invalid subsequence; these expectations are Hugging Face's outputs.
        Assert.Equal("\uFFFD", Tok.Decode([ByteId(0xE6)]));
        Assert.Equal("\uFFFD", Tok.Decode([ByteId(0xE6), ByteId(0x97)]));
        Assert.Equal("\uFFFD\uFFFD\uFFFD", Tok.Decode([ByteId(0xFF), ByteId(0xC0), ByteId(0x80)]));
        Assert.Equal("\uFFFD\uFFFD\uFFFD", Tok.Decode([ByteId(0xED), ByteId(0xA0), ByteId(0x80)]));   // an encoded surrogate
        Assert.Equal("\uFFFDb", Tok.Decode([ByteId(0xF0), ByteId(0x90), ByteId(0x80), ByteId((byte)'b')]));
        Assert.Equal("\uFFFD\uFFFD\uFFFD\uFFFD", Tok.Decode([ByteId(0xF4), ByteId(0x90), ByteId(0x80), ByteId(0x80)]));
    }

    [Fact]
    public void DecodeJoinsBytesAcrossTokensAndSkippedSpecials()
    {
        int[] ids = [ByteId(0xE6), ByteId(0x97), 151666, ByteId(0xA5)];   // 日 = E6 97 A5 around <|mask|>
        Assert.Equal("\uFFFD<|mask|>\uFFFD", Tok.Decode(ids));
        Assert.Equal("日", Tok.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void DecodeSkipsIdsWithoutTokenAndOnlySpecialAddedTokens()
    {
        Assert.Equal("", Tok.Decode([151667, 152063, -1, int.MaxValue]));
        Assert.Equal("b", Tok.Decode([152000, 65]));
        int[] ids = [151657, 151643, 151659];   // <tool_call> (not special), <|endoftext|>, <|fim_prefix|> (not special)
        Assert.Equal("<tool_call><|endoftext|><|fim_prefix|>", Tok.Decode(ids));
        Assert.Equal("<tool_call><|fim_prefix|>", Tok.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void EncodeBatchEqualsEncodeOneByOne()
    {
        var texts = GoldenTokenizer.Cases.Select(c => c.Text).ToArray();
        int[][] batch = Tok.EncodeBatch(texts);
        Assert.Equal(texts.Length, batch.Length);
        for (int i = 0; i < texts.Length; i++) Assert.Equal(GoldenTokenizer.Cases[i].Ids, batch[i]);
    }

    [Fact]
    public void ConcurrentEncodesOnAFreshTokenizerAgree()
    {
        // A fresh tokenizer with a tiny cache: threads race to fill, clear and read it.
        var fresh = BpeTokenizer.Load(GoldenTokenizer.TokenizerPath, pieceCacheCapacity: 64);
        var cases = GoldenTokenizer.Cases;
        Parallel.For(0, cases.Count * 4, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var c = cases[i % cases.Count];
            Assert.Equal(c.Ids, fresh.Encode(c.Text));
        });
    }

    [Fact]
    public void LongLetterRunMergesInLinearithmicTime()
    {
        // One 200,000-letter piece: the merge loop must not be quadratic.
        string text = new('a', 200_000);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        int[] ids = Tok.Encode(text);
        sw.Stop();
        Assert.Equal(text, Tok.Decode(ids));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }

    [Fact]
    public void NullInputIsAnArgumentError()
    {
        Assert.Throws<ArgumentNullException>(() => Tok.Encode(null!));
        Assert.Throws<ArgumentNullException>(() => Tok.EncodeBatch(null!));
        Assert.Throws<ArgumentException>(() => Tok.EncodeBatch(["a", null!]));
    }
}
