using Dream.Core.Tokenization;
using FsCheck.Xunit;
using Xunit;

namespace Dream.Tests.Tokenization;

/// <summary>GPT-2's byte-to-unicode table: a bijection between bytes and 256 printable characters.</summary>
public class ByteLevelAlphabetTests
{
    [Fact]
    public void TableIsGpt2s()
    {
        var chars = Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.ByteToChar((byte)b)).ToArray();
        Assert.Equal(256, chars.Distinct().Count());
        Assert.Equal('Ġ', ByteLevelAlphabet.ByteToChar((byte)' '));
        Assert.Equal('Ċ', ByteLevelAlphabet.ByteToChar((byte)'\n'));
        Assert.Equal('Ā', ByteLevelAlphabet.ByteToChar(0));
        Assert.Equal('\u0143', ByteLevelAlphabet.ByteToChar(0xAD));   // the 68th and last unprintable byte gets U+0100 + 67
        for (int b = '!'; b <= '~'; b++) Assert.Equal((char)b, ByteLevelAlphabet.ByteToChar((byte)b));
        for (int b = 0; b < 256; b++) Assert.Equal(b, ByteLevelAlphabet.CharToByte(chars[b]));
        Assert.Equal(-1, ByteLevelAlphabet.CharToByte(' '));
        Assert.Equal(-1, ByteLevelAlphabet.CharToByte('\u0144'));
    }

    [Fact]
    public void EveryByteIsATokenOfTheGoldenVocabulary()
    {
        for (int b = 0; b < 256; b++)
            Assert.True(GoldenTokenizer.Tokenizer.TryGetId(ByteLevelAlphabet.ByteToChar((byte)b).ToString(), out _));
    }

    [Property(MaxTest = 200)]
    public void EncodeThenDecodeGivesTheBytesBack(byte[] bytes)
    {
        var back = new List<byte>();
        Assert.True(ByteLevelAlphabet.TryDecode(ByteLevelAlphabet.Encode(bytes), back));
        Assert.Equal(bytes, back);
        Assert.False(ByteLevelAlphabet.TryDecode("a b", back));
        Assert.Equal(bytes.Length, back.Count);   // nothing appended on failure
    }
}
