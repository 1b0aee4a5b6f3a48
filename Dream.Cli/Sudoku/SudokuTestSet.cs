using System.Globalization;

namespace Dream.Cli.Sudoku;

/// <summary>A `quizzes,solutions` CSV (81-digit strings, 0 = blank), as the planner's test set ships.</summary>
public static class SudokuTestSet
{
    public static List<(SudokuPuzzle Quiz, SudokuPuzzle Solution)> Load(string path, int? limit = null)
    {
        if (!File.Exists(path)) throw new UsageException($"puzzle file '{path}' not found");
        var result = new List<(SudokuPuzzle, SudokuPuzzle)>();
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNumber++;
            string line = raw.Trim();
            if (line.Length == 0) continue;
            if (lineNumber == 1 && !char.IsDigit(line[0])) continue; // header row
            string[] parts = line.Split(',');
            if (parts.Length != 2)
                throw new UsageException($"{path}:{lineNumber.ToString(CultureInfo.InvariantCulture)}: expected 'quiz,solution', found {parts.Length} fields");
            try
            {
                result.Add((SudokuPuzzle.Parse(parts[0], "quiz"), SudokuPuzzle.Parse(parts[1], "solution")));
            }
            catch (FormatException e)
            {
                throw new UsageException($"{path}:{lineNumber.ToString(CultureInfo.InvariantCulture)}: {e.Message}");
            }
            if (limit is { } n && result.Count >= n) break;
        }
        if (result.Count == 0) throw new UsageException($"{path}: no puzzles found");
        return result;
    }
}
