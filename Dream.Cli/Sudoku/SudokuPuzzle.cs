namespace Dream.Cli.Sudoku;

/// <summary>
/// A 9×9 grid as 81 digits row by row, 0 for a blank — the planner's text format (`PUZZLE=SOLUTION`).
/// Input may use '0' or '.' for blanks and may contain spaces, newlines, '|' and '-' as decoration.
/// </summary>
public sealed class SudokuPuzzle
{
    public const int Cells = 81;
    public int[] Digits { get; }

    private SudokuPuzzle(int[] digits) => Digits = digits;

    public static SudokuPuzzle Parse(string text, string what = "puzzle")
    {
        var digits = new List<int>(Cells);
        foreach (char c in text)
        {
            if (c is >= '0' and <= '9') digits.Add(c - '0');
            else if (c == '.') digits.Add(0);
            else if (char.IsWhiteSpace(c) || c is '|' or '-' or '+') continue;
            else throw new FormatException($"{what}: unexpected character '{c}' (expected digits 0-9, '.' for a blank)");
        }
        if (digits.Count != Cells)
            throw new FormatException($"{what}: expected {Cells} cells, found {digits.Count}");
        var puzzle = new SudokuPuzzle(digits.ToArray());
        if (puzzle.FirstConflict() is { } conflict)
            throw new FormatException($"{what}: the givens already conflict ({conflict})");
        return puzzle;
    }

    public static SudokuPuzzle FromDigits(int[] digits) =>
        digits.Length == Cells && digits.All(d => d is >= 0 and <= 9)
            ? new SudokuPuzzle((int[])digits.Clone())
            : throw new ArgumentException($"expected {Cells} digits in 0..9", nameof(digits));

    public int Blanks => Digits.Count(d => d == 0);

    public override string ToString() => string.Concat(Digits);

    /// <summary>The first repeated digit in a row, column or box, described for a person; null if none.</summary>
    public string? FirstConflict()
    {
        for (int unit = 0; unit < 27; unit++)
        {
            var seen = new bool[10];
            for (int i = 0; i < 9; i++)
            {
                int cell = UnitCell(unit, i);
                int d = Digits[cell];
                if (d == 0) continue;
                if (seen[d]) return $"{d} twice in {UnitName(unit)}";
                seen[d] = true;
            }
        }
        return null;
    }

    /// <summary>Every cell filled, no unit repeats a digit, and every given of <paramref name="puzzle"/> kept.</summary>
    public bool IsSolutionOf(SudokuPuzzle puzzle)
    {
        if (Blanks != 0 || FirstConflict() is not null) return false;
        for (int i = 0; i < Cells; i++)
            if (puzzle.Digits[i] != 0 && puzzle.Digits[i] != Digits[i]) return false;
        return true;
    }

    private static int UnitCell(int unit, int i) => unit switch
    {
        < 9 => unit * 9 + i,                                                    // row
        < 18 => i * 9 + (unit - 9),                                             // column
        _ => ((unit - 18) / 3 * 3 + i / 3) * 9 + (unit - 18) % 3 * 3 + i % 3,   // box
    };

    private static string UnitName(int unit) => unit switch
    {
        < 9 => $"row {unit + 1}",
        < 18 => $"column {unit - 8}",
        _ => $"box {unit - 17}",
    };
}
