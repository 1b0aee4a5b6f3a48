namespace Dream.Core.Training.Sudoku;

/// <summary>A generated puzzle and its (unique) solution, each n² digits row by row, 0 for a blank.</summary>
public sealed record SudokuPair(int[] Puzzle, int[] Solution);

/// <summary>
/// Seeded puzzles with unique solutions, the way the 9×9 training recipe makes them:
///   1. fill a random complete grid (backtracking, each cell trying the digits in its own random order);
///   2. blank the cells in a random order, keeping a blank only while the puzzle stays solvable by naked singles,
///      until the requested number of blanks (drawn in [min, max]) is reached or no cell can go.
/// Singles-solvable implies a unique solution. Puzzle i of a seed comes from the stream (seed, i), so a set can
/// be made in parallel and extended without changing its first members.
/// </summary>
public sealed class SudokuGenerator(SudokuGrid grid)
{
    public SudokuGrid Grid { get; } = grid;

    public SudokuPair Generate(ulong seed, long index, int minBlanks, int maxBlanks)
    {
        if (minBlanks < 0 || maxBlanks < minBlanks || maxBlanks > Grid.Cells)
            throw new ArgumentOutOfRangeException(nameof(maxBlanks), $"blanks range [{minBlanks}, {maxBlanks}] is invalid for {Grid.Cells} cells");
        var rng = new TrainingRandom(seed, index);
        var solution = new int[Grid.Cells];
        Fill(solution, ref rng);

        var puzzle = (int[])solution.Clone();
        int target = minBlanks + rng.NextInt(maxBlanks - minBlanks + 1);
        var order = Enumerable.Range(0, Grid.Cells).ToArray();
        rng.Shuffle(order.AsSpan());
        int blanks = 0;
        foreach (int cell in order)
        {
            if (blanks >= target) break;
            int keep = puzzle[cell];
            puzzle[cell] = 0;
            if (Grid.SolvableBySingles(puzzle)) blanks++;
            else puzzle[cell] = keep;
        }
        return new SudokuPair(puzzle, solution);
    }

    /// <summary><paramref name="count"/> puzzles (indices first..first+count−1 of the seed), in parallel.</summary>
    public SudokuPair[] GenerateMany(ulong seed, long first, int count, int minBlanks, int maxBlanks, CancellationToken cancel = default)
    {
        var result = new SudokuPair[count];
        Parallel.For(0, count, new ParallelOptions { CancellationToken = cancel },
            i => result[i] = Generate(seed, first + i, minBlanks, maxBlanks));
        return result;
    }

    private void Fill(int[] g, ref TrainingRandom rng)
    {
        int n = Grid.Size;
        var order = new int[Grid.Cells * n]; // each cell's digits in its own random order
        for (int cell = 0; cell < Grid.Cells; cell++)
        {
            var digits = order.AsSpan(cell * n, n);
            for (int d = 0; d < n; d++) digits[d] = d + 1;
            rng.Shuffle(digits);
        }
        var tried = new int[Grid.Cells];
        int c = 0;
        while (c < Grid.Cells)
        {
            bool placed = false;
            g[c] = 0;
            int candidates = Grid.Candidates(g, c);
            while (tried[c] < n)
            {
                int d = order[c * n + tried[c]++];
                if ((candidates & (1 << d)) == 0) continue;
                g[c] = d;
                placed = true;
                break;
            }
            if (placed) { c++; continue; }
            tried[c] = 0;  // exhausted: back up one cell and try its next digit
            g[c] = 0;
            c--;
        }
    }
}
