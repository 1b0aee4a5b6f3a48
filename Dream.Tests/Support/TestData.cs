namespace Dream.Tests.Support;

/// <summary>Paths of the test data copied next to the test assembly (never the shared folder).</summary>
public static class TestData
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "TestData");
    public static string Golden => Path.Combine(Root, "golden");
    public static string GoldenModel(string name) => Path.Combine(Golden, "models", name);

    /// <summary>The embedded planner shipped with the CLI (copied beside the test assembly by the CLI project).</summary>
    public static string SudokuModel => Path.Combine(AppContext.BaseDirectory, "models", "dream-sudoku");
}
