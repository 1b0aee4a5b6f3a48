using Dream.Core.Training.Sudoku;
using FsCheck;
using FsCheck.Xunit;

namespace Dream.Tests.Training;

/// <summary>Generated puzzles: valid solutions, givens kept, unique solutions, seeded.</summary>
public class SudokuGeneratorTests
{
    [Property(MaxTest = 40)]
    public void FourByFourPuzzlesHaveOneSolution(ulong seed, NonNegativeInt index)
    {
        var grid = new SudokuGrid(2);
        var pair = new SudokuGenerator(grid).Generate(seed, index.Get, 6, 12);
        Check(grid, pair, 6);
    }

    [Property(MaxTest = 8)]
    public void NineByNinePuzzlesHaveOneSolution(ulong seed)
    {
        var grid = new SudokuGrid(3);
        var pair = new SudokuGenerator(grid).Generate(seed, 0, 40, 56);
        Check(grid, pair, 30); // the removal stops early when no further blank keeps singles enough
    }

    private static void Check(SudokuGrid grid, SudokuPair pair, int atLeastBlanks)
    {
        Assert.True(grid.IsComplete(pair.Solution), "solution is not a complete grid");
        for (int i = 0; i < grid.Cells; i++)
            if (pair.Puzzle[i] != 0) Assert.Equal(pair.Solution[i], pair.Puzzle[i]);
        Assert.True(pair.Puzzle.Count(d => d == 0) >= atLeastBlanks, $"only {pair.Puzzle.Count(d => d == 0)} blanks");
        Assert.True(grid.SolvableBySingles(pair.Puzzle));
        Assert.Equal(1, grid.CountSolutions(pair.Puzzle, limit: 2));
    }

    [Fact]
    public void SameSeedSamePuzzleAndIndicesDiffer()
    {
        var g = new SudokuGenerator(new SudokuGrid(3));
        var a = g.Generate(9, 4, 40, 56);
        Assert.Equal(a.Puzzle, g.Generate(9, 4, 40, 56).Puzzle);
        Assert.NotEqual(a.Solution, g.Generate(9, 5, 40, 56).Solution);
        var many = g.GenerateMany(9, 3, 3, 40, 56);
        Assert.Equal(a.Puzzle, many[1].Puzzle); // index 4 of the seed, wherever it is made
    }

    [Fact]
    public void SolutionCountingSeesAmbiguity()
    {
        var grid = new SudokuGrid(2);
        Assert.Equal(2, grid.CountSolutions(new int[16], limit: 2)); // an empty grid has 288 solutions
        Assert.False(grid.SolvableBySingles(new int[16]));
    }

    [Fact]
    public void TaskEncodesPuzzleEqualsSolutionEnd()
    {
        var task = new SudokuTask(new SudokuGrid(2));
        Assert.Equal((5, 6, 7, 8, 9, 34), (task.EqualsId, task.EosId, task.BosId, task.MaskId, task.VocabSize, task.Length));
        var pair = new SudokuGenerator(task.Grid).Generate(1, 0, 8, 8);
        var ids = new int[task.Length];
        task.Encode(pair, ids);
        Assert.Equal(pair.Puzzle, ids[..16]);
        Assert.Equal(5, ids[16]);
        Assert.Equal(pair.Solution, ids[17..33]);
        Assert.Equal(6, ids[33]);
        Assert.True(task.Solves(ids, pair.Puzzle));
        ids[17] = ids[18];
        Assert.False(task.Solves(ids, pair.Puzzle));
        var nine = new SudokuTask(new SudokuGrid(3));
        Assert.Equal((10, 11, 12, 13, 164), (nine.EqualsId, nine.EosId, nine.BosId, nine.MaskId, nine.Length)); // the embedded planner's ids
        Assert.Equal(Enumerable.Range(0, 34).Select(p => p >= 17), task.AnswerPositions());
    }
}
