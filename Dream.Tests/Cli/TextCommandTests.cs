using System.Text.Json;
using Dream.Tests.Support;

namespace Dream.Tests.Cli;

/// <summary>`dream generate`, `infill` and `chat` in-process.</summary>
public class TextCommandTests
{
    [Fact]
    public void GenerateReproducesAGoldenCaseFromPromptIds()
    {
        // Golden tiny-a case: entropy, 16 steps, 16 new tokens, temperature 0 (the official loop's output).
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestData.Golden, "generate-tiny-a.json")));
        var c = doc.RootElement.GetProperty("cases").EnumerateArray().First(e =>
            e.GetProperty("alg").GetString() == "entropy" && !e.TryGetProperty("attention_mask", out _)
            && e.GetProperty("prompt").GetArrayLength() == 1 && !e.TryGetProperty("top_k", out _)
            && !(e.TryGetProperty("top_p", out var p) && p.ValueKind != JsonValueKind.Null) && !e.TryGetProperty("eps", out _));
        string ids = string.Join(',', c.GetProperty("prompt")[0].EnumerateArray().Select(x => x.GetInt32()));
        var (code, stdout, stderr) = CliRunner.Run("generate", "--model", TestData.GoldenModel("tiny-a"), "--prompt-ids", ids,
            "--steps", c.GetProperty("steps").GetInt32().ToString(), "--max-new-tokens", c.GetProperty("max_new_tokens").GetInt32().ToString(),
            "--alg", "entropy", "--temperature", "0", "--json", "--backend", "reference");
        Assert.True(code == 0, stderr);
        using var result = JsonDocument.Parse(stdout.Trim());
        var actual = result.RootElement.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var expected = c.GetProperty("expected")[0].EnumerateArray().Select(x => x.GetInt32()).ToArray();
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void GenerateWithVisualJsonEmitsEveryStep()
    {
        var (code, stdout, stderr) = CliRunner.Run("generate", "--model", TestData.GoldenModel("tiny-a"), "--prompt-ids", "1,2,3",
            "--steps", "4", "--max-new-tokens", "4", "--json", "--visual", "--history-out", Path.Combine(Path.GetTempPath(), "dream-hist.json"));
        Assert.True(code == 0, stderr);
        var lines = stdout.TrimEnd().Split('\n');
        Assert.Equal(6, lines.Length); // before the loop, 4 steps, the result
        Assert.Contains("\"step\":null", lines[0]);
        using var history = JsonDocument.Parse(File.ReadAllText(Path.Combine(Path.GetTempPath(), "dream-hist.json")));
        Assert.Equal(4, history.RootElement.GetProperty("history").GetArrayLength());
    }

    [Fact]
    public void InfillFillsMaskedSudokuCells()
    {
        // The planner's own format: PUZZLE=SOLUTION with a few solution cells knocked out.
        string[] row = File.ReadLines(Path.Combine(TestData.SudokuModel, "sudoku-test.csv")).Skip(2).First().Split(',');
        var holes = new[] { 3, 40, 77 };
        var text = new System.Text.StringBuilder(row[0] + "=");
        for (int i = 0; i < 81; i++) text.Append(holes.Contains(i) ? "<|mask|>" : row[1][i].ToString());
        var (code, stdout, stderr) = CliRunner.Run("infill", text.ToString(), "--model", TestData.SudokuModel);
        Assert.True(code == 0, stderr);
        Assert.Equal(row[0] + "=" + row[1], stdout.Trim());
        Assert.Contains("[3 steps", stderr);
    }

    [Fact]
    public void ChatRunsTurnsUntilExit()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Dream.Cli.DreamCommand.Run(new[] { "chat", "--model", TestData.SudokuModel, "--max-new-tokens", "4", "--steps", "2" },
            stdout, stderr, stdin: new StringReader("123\n456\n/exit\n"));
        Assert.True(code == 0, stderr.ToString());
        Assert.Equal(2, stdout.ToString().Split("dream> ").Length - 1);
    }

    [Theory]
    [InlineData(new[] { "generate" }, "exactly one of --prompt TEXT or --prompt-ids")]
    [InlineData(new[] { "generate", "--prompt-ids", "1,x" }, "comma-separated integers")]
    [InlineData(new[] { "infill", "no holes here" }, "no <|mask|> hole")]
    [InlineData(new[] { "generate", "--prompt", "hi" }, "has no tokenizer.json")]
    [InlineData(new[] { "generate", "--prompt-ids", "1,2", "--temperature", "-1" }, "--temperature must be ≥ 0")]
    public void BadInputIsOneClearLine(string[] args, string expected)
    {
        string model = args[0] == "infill" ? TestData.SudokuModel : TestData.GoldenModel("tiny-a");
        var (code, _, stderr) = CliRunner.Run(args.Concat(new[] { "--model", model }).ToArray());
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void PromptLongerThanTheContextIsRefused()
    {
        string ids = string.Join(',', Enumerable.Repeat(1, 2040));
        var (code, _, stderr) = CliRunner.Run("generate", "--model", TestData.GoldenModel("tiny-a"), "--prompt-ids", ids, "--max-new-tokens", "16");
        Assert.NotEqual(0, code);
        Assert.Contains("max_position_embeddings", stderr);
    }
}
