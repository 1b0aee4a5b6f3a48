using Dream.Cli.Verify;
using Dream.Core.Tokenization;
using Xunit;

namespace Dream.Tests.Tokenization;

/// <summary>The 253 Hugging Face cases (ids, decode, decode skipping special tokens), all of them exactly.</summary>
public class GoldenTokenizerCaseTests
{
    [Fact]
    public void EveryGoldenCaseMatchesHuggingFace()
    {
        Assert.Equal(253, GoldenTokenizer.Cases.Count);
        var report = new StringWriter();
        var (passed, failed) = TokenizerConformance.Run(GoldenTokenizer.Tokenizer, GoldenTokenizer.Cases, report);
        Assert.True(failed == 0, $"{failed} of {passed + failed} golden cases fail:\n{report}");
        Assert.Equal(253, passed);
    }

    [Fact]
    public void ConformanceEntryPointLoadsTheGoldenDirectory()
    {
        var report = new StringWriter();
        var (passed, failed) = TokenizerConformance.Run(GoldenTokenizer.GoldenDir, report);
        Assert.Equal((253, 0), (passed, failed));
        Assert.Equal("", report.ToString());
    }

    [Fact]
    public void AFailingCaseIsReportedWithItsText()
    {
        var good = GoldenTokenizer.Cases.First(c => c.Text == "hello world");
        var broken = new[]
        {
            good with { Index = 0, Ids = [14990, 1880] },
            good with { Index = 1, Decoded = "hello there" },
            good with { Index = 2, DecodedSkipSpecial = "" },
            good with { Index = 3 },
        };
        var report = new StringWriter();
        var (passed, failed) = TokenizerConformance.Run(GoldenTokenizer.Tokenizer, broken, report);
        Assert.Equal((1, 3), (passed, failed));
        string[] lines = report.ToString().TrimEnd().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.Contains("\"hello world\"", l));
        Assert.Contains("ids differ at 1", lines[0]);
        Assert.Contains("decode:", lines[1]);
        Assert.Contains("skipping special", lines[2]);
    }

    [Fact]
    public void MissingGoldenFilesAreOneFailureNotAnException()
    {
        string empty = Directory.CreateTempSubdirectory("dream-tok-").FullName;
        try
        {
            var report = new StringWriter();
            Assert.Equal((0, 1), TokenizerConformance.Run(empty, report));
            Assert.StartsWith("FAIL tokenizer:", report.ToString());
        }
        finally { Directory.Delete(empty, true); }
    }

    [Fact]
    public void GoldenTokenizerShape()
    {
        var t = GoldenTokenizer.Tokenizer;
        Assert.Equal(151667, t.VocabSize);
        Assert.Equal(24, t.AddedTokens.Count);
        Assert.Equal(Enumerable.Range(151643, 24), t.AddedTokens.Select(a => a.Id));
        Assert.True(t.TryGetId("<|mask|>", out int mask) && mask == 151666);
        Assert.True(t.TryGetId("<|endoftext|>", out int eos) && eos == 151643);
        Assert.True(t.TryGetId("<|beginoftext|>", out int bos) && bos == 151665);
        Assert.True(t.TryGetId("Ġthe", out int the) && the == 279);
        Assert.Equal("Ġthe", t.IdToToken(279));
        Assert.Equal("<|im_start|>", t.IdToToken(151644));
        Assert.Null(t.IdToToken(151667));
        Assert.Null(t.IdToToken(-1));
        Assert.False(t.TryGetId("the quick", out _));
        // Some added tokens are not special: decoding with skipSpecialTokens keeps them.
        Assert.False(t.AddedTokens.Single(a => a.Content == "<tool_call>").Special);
        Assert.True(t.AddedTokens.Single(a => a.Content == "<|im_end|>").Special);
    }
}
