using Dream.Cli.Sudoku;
using Dream.Tests.Support;

namespace Dream.Tests.Cli;

/// <summary>`dream sudoku` in-process on the embedded planner (cpu backend), plus the board renderer.</summary>
public class SudokuCommandTests
{
    private static string TestSet => Path.Combine(TestData.SudokuModel, "sudoku-test.csv");

    [Fact]
    public void SolvesABundledPuzzleAndSaysItIsValid()
    {
        var (code, stdout, stderr) = CliRunner.Run("sudoku", "--index", "3");
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("puzzle 3 of the bundled test set", stdout);
        Assert.Contains("valid, matches the test set's solution", stdout);
        string expected = File.ReadLines(TestSet).Skip(1 + 3).First().Split(',')[1];
        Assert.Contains(expected, stdout);
    }

    [Fact]
    public void SolvesAGivenPuzzleWithFewerStepsAndAnotherAlgorithm()
    {
        string quiz = File.ReadLines(TestSet).Skip(1).First().Split(',')[0];
        var (code, stdout, stderr) = CliRunner.Run("sudoku", quiz, "--steps", "41", "--alg", "topk_margin");
        Assert.True(code is 0 or 1, stderr);
        Assert.Contains("41 steps, topk_margin", stdout);
    }

    [Fact]
    public void VisualModeDrawsAFramePerStepWhenRedirected()
    {
        var (code, stdout, stderr) = CliRunner.Run("sudoku", "--index", "0", "--visual", "--steps", "10");
        Assert.True(code is 0 or 1, stderr);
        Assert.Contains("step 0/10 · ", stdout);
        Assert.Contains("step 10/10", stdout);
        Assert.DoesNotContain("\u001b[", stdout); // no ANSI when not on a terminal
        Assert.Equal(11, stdout.Split('\n').Count(l => l.StartsWith("step ", StringComparison.Ordinal))); // 1 + 10 frames
    }

    [Fact]
    public void EvalEndsWithTheSolvedLine()
    {
        var (code, stdout, stderr) = CliRunner.Run("sudoku", "--eval", TestSet, "--limit", "4", "--batch", "4", "--steps", "20");
        Assert.True(code == 0, stderr);
        string last = stdout.TrimEnd().Split('\n')[^1];
        Assert.Matches(@"^\d of 4 solved \(\d+\.\d%\)$", last);
        Assert.Contains("puzzles/s", stdout);
        Assert.Contains("puzzle 4/4", stderr); // progress goes to stderr
    }

    [Fact]
    public void EvalJsonEmitsOneLinePerPuzzleAndASummary()
    {
        var (code, stdout, _) = CliRunner.Run("sudoku", "--eval", TestSet, "--limit", "2", "--json", "--steps", "10");
        Assert.Equal(0, code);
        var lines = stdout.TrimEnd().Split('\n');
        Assert.Equal(3, lines.Length);
        foreach (var line in lines) System.Text.Json.JsonDocument.Parse(line).Dispose();
        Assert.Contains("\"total\":2", lines[^1]);
    }

    [Theory]
    [InlineData(new[] { "sudoku", "12345" }, "expected 81 cells, found 5")]
    [InlineData(new[] { "sudoku", "x00000000000000000000000000000000000000000000000000000000000000000000000000000000" }, "unexpected character 'x'")]
    [InlineData(new[] { "sudoku", "110000000000000000000000000000000000000000000000000000000000000000000000000000000" }, "1 twice in row 1")]
    [InlineData(new[] { "sudoku", "--steps", "0" }, "--steps must be in [1,")]
    [InlineData(new[] { "sudoku", "--alg", "greedy" }, "--alg takes entropy")]
    [InlineData(new[] { "sudoku", "--eval", "/no/such.csv" }, "not found")]
    [InlineData(new[] { "sudoku", "--backend", "abacus" }, "unknown backend 'abacus'")]
    [InlineData(new[] { "sudoku", "--top-p", "1.5" }, "--top-p must lie in (0, 1]")]
    public void BadInputIsOneClearLine(string[] args, string expected)
    {
        var (code, _, stderr) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void MalformedCsvNamesTheLine()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "quizzes,solutions\n" + new string('0', 81) + "\n");
            var (code, _, stderr) = CliRunner.Run("sudoku", "--eval", path);
            Assert.Equal(2, code);
            Assert.Contains(":2: expected 'quiz,solution'", stderr);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void RendersOneVisualFrame()
    {
        var cells = Enumerable.Repeat(-1, 81).ToArray();
        var givens = new bool[81];
        var newest = new bool[81];
        cells[0] = 5; givens[0] = true;
        cells[80] = 9; newest[80] = true;
        string plain = SudokuBoardRenderer.Render(cells, givens, newest, "step 1/82", ansi: false);
        string[] lines = plain.TrimEnd('\n').Split('\n');
        Assert.Equal(14, lines.Length);
        Assert.Equal("| 5 · · | · · · | · · · |", lines[1]);
        Assert.Equal("| · · · | · · · | · · 9 |", lines[11]);
        Assert.Equal("step 1/82", lines[13]);
        string ansi = SudokuBoardRenderer.Render(cells, givens, newest, "s", ansi: true);
        Assert.Contains("\u001b[1;32m9\u001b[0m", ansi); // the newest cell highlighted
        Assert.Contains("\u001b[2m5\u001b[0m", ansi);    // a given dimmed
    }

    [Fact]
    public void PuzzleValidation()
    {
        string solution = File.ReadLines(TestSet).Skip(1).First().Split(',')[1];
        string quiz = File.ReadLines(TestSet).Skip(1).First().Split(',')[0];
        var s = SudokuPuzzle.Parse(solution);
        Assert.True(s.IsSolutionOf(SudokuPuzzle.Parse(quiz)));
        var swapped = solution.ToCharArray();
        (swapped[0], swapped[1]) = (swapped[1], swapped[0]);
        Assert.False(SudokuPuzzle.FromDigits(swapped.Select(c => c - '0').ToArray()).IsSolutionOf(SudokuPuzzle.Parse(quiz)));
    }
}
