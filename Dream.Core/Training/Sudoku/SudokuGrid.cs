namespace Dream.Core.Training.Sudoku;

/// <summary>
/// The geometry of an n×n Sudoku with b×b boxes (n = b²: 4×4 for b = 2, 9×9 for b = 3), and the two questions
/// the generator asks of a grid: which digits a cell still allows, and how many solutions a puzzle has.
/// Grids are n² digits row by row, 0 for a blank.
/// </summary>
public sealed class SudokuGrid
{
    public int BoxSize { get; }                  // b
    public int Size { get; }                     // n = b²
    public int Cells { get; }                    // n²
    /// <summary>Every digit 1..n as a bit: bit d set means d is possible.</summary>
    public int AllDigits { get; }

    public SudokuGrid(int boxSize)
    {
        if (boxSize is < 2 or > 4) throw new ArgumentOutOfRangeException(nameof(boxSize), boxSize, "box size must be 2, 3 or 4");
        BoxSize = boxSize;
        Size = boxSize * boxSize;
        Cells = Size * Size;
        AllDigits = ((1 << Size) - 1) << 1;
    }

    /// <summary>Digits (bits 1..n) that no given in the cell's row, column or box already uses.</summary>
    public int Candidates(ReadOnlySpan<int> grid, int cell)
    {
        int r = cell / Size, c = cell % Size;
        int br = r / BoxSize * BoxSize, bc = c / BoxSize * BoxSize;
        int used = 0;
        for (int i = 0; i < Size; i++)
        {
            used |= 1 << grid[r * Size + i];
            used |= 1 << grid[i * Size + c];
            used |= 1 << grid[(br + i / BoxSize) * Size + bc + i % BoxSize];
        }
        return AllDigits & ~used;
    }

    /// <summary>Whether filling naked singles alone (a blank with exactly one candidate) completes the grid.
    /// Such a puzzle has exactly one solution: every step was forced.</summary>
    public bool SolvableBySingles(ReadOnlySpan<int> puzzle)
    {
        Span<int> g = stackalloc int[Cells];
        puzzle.CopyTo(g);
        while (true)
        {
            bool progress = false, complete = true;
            for (int cell = 0; cell < Cells; cell++)
            {
                if (g[cell] != 0) continue;
                complete = false;
                int candidates = Candidates(g, cell);
                if (candidates == 0) return false;
                if ((candidates & (candidates - 1)) == 0)
                {
                    g[cell] = System.Numerics.BitOperations.TrailingZeroCount(candidates);
                    progress = true;
                }
            }
            if (complete) return true;
            if (!progress) return false;
        }
    }

    /// <summary>Solutions of <paramref name="puzzle"/>, counted by backtracking up to <paramref name="limit"/>.</summary>
    public int CountSolutions(ReadOnlySpan<int> puzzle, int limit = 2)
    {
        var g = puzzle.ToArray();
        int count = 0;
        Count(g, ref count, limit);
        return count;
    }

    private void Count(int[] g, ref int count, int limit)
    {
        // Branch on the blank with the fewest candidates: keeps 9×9 counting instant.
        int best = -1, bestCandidates = 0, bestCount = int.MaxValue;
        for (int cell = 0; cell < Cells; cell++)
        {
            if (g[cell] != 0) continue;
            int c = Candidates(g, cell);
            int n = System.Numerics.BitOperations.PopCount((uint)c);
            if (n < bestCount) { best = cell; bestCandidates = c; bestCount = n; }
        }
        if (best < 0) { count++; return; }
        for (int d = 1; d <= Size && count < limit; d++)
        {
            if ((bestCandidates & (1 << d)) == 0) continue;
            g[best] = d;
            Count(g, ref count, limit);
        }
        g[best] = 0;
    }

    /// <summary>Every cell filled with 1..n and no row, column or box repeating a digit.</summary>
    public bool IsComplete(ReadOnlySpan<int> grid)
    {
        if (grid.Length != Cells) return false;
        Span<int> g = stackalloc int[Cells];
        grid.CopyTo(g);
        for (int cell = 0; cell < Cells; cell++)
        {
            int d = g[cell];
            if (d < 1 || d > Size) return false;
            g[cell] = 0;
            bool allowed = (Candidates(g, cell) & (1 << d)) != 0;
            g[cell] = d;
            if (!allowed) return false;
        }
        return true;
    }
}
