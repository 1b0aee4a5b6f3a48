using Dream.Tests.Support;

namespace Dream.Tests.Cli;

/// <summary>`dream bench` on a golden tiny model: the table it prints and how it refuses what it cannot time.</summary>
public class BenchCommandTests
{
    [Fact]
    public void TimesEachLengthWithItsLayersColumn()
    {
        var (code, stdout, stderr) = CliRunner.Run("bench", "--backend", "cpu", "--model", TestData.GoldenModel("tiny-a"), "--lens", "5,9", "--reps", "1");
        Assert.True(code == 0, stderr);
        Assert.Contains("| tokens | layers | ms / forward |", stdout);
        Assert.Contains("| GPU memory in use, MiB |", stdout);
        // The CPU backend has no device memory to read: its rows say so rather than print a number.
        Assert.Matches(@"\| 5 \| launched \| [0-9.]+ \|.* \| — \|", stdout);
        Assert.Matches(@"\| 9 \| launched \| [0-9.]+ \|.* \| — \|", stdout);
        Assert.DoesNotContain("peak GPU memory", stdout);
    }

    [Theory]
    [InlineData("sometimes", "--graphs takes on, off or both, got 'sometimes'")]
    [InlineData("both", "--graphs both: only the tensor-core model on CUDA records graphs")]
    [InlineData("on", "--graphs on: only the tensor-core model on CUDA records graphs")]
    public void GraphsOnlyWhereTheyCanBeRecorded(string graphs, string expected)
    {
        var (code, _, stderr) = CliRunner.Run("bench", "--backend", "cpu", "--model", TestData.GoldenModel("tiny-a"), "--lens", "5", "--reps", "1", "--graphs", graphs);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
    }
}
