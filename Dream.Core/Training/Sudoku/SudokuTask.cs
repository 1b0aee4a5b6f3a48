namespace Dream.Core.Training.Sudoku;

/// <summary>
/// The planning task as text the model reads: `PUZZLE=SOLUTION<|endoftext|>`, n² digits each row by row (0 for a
/// blank). One token per character, so ids are the digits themselves:
///   digits 0..n → ids 0..n,  `=` → n+1,  `<|endoftext|>` → n+2,  `<|beginoftext|>` → n+3,  `<|mask|>` → n+4
///   (9×9: `=` 10, eos 11, bos 12, mask 13 — the ids of the embedded 9×9 planner; 4×4: `=` 5, eos 6, bos 7, mask 8).
/// Canvas length 2n² + 2 (4×4: 34, 9×9: 164); the prompt is the puzzle and `=` (n² + 1 tokens); the model fills the
/// n² + 1 positions after it, and only those enter the loss.
/// </summary>
public sealed class SudokuTask(SudokuGrid grid)
{
    public SudokuGrid Grid { get; } = grid;
    public int EqualsId => Grid.Size + 1;
    public int EosId => Grid.Size + 2;
    public int BosId => Grid.Size + 3;
    public int MaskId => Grid.Size + 4;
    public int VocabSize => Grid.Size + 5;
    public int PromptLength => Grid.Cells + 1;
    public int AnswerLength => Grid.Cells + 1;
    public int Length => PromptLength + AnswerLength;

    public TokenTable Tokens => new(
        Enumerable.Range(0, Grid.Size + 1).Select(d => (d.ToString(System.Globalization.CultureInfo.InvariantCulture), d))
            .Append(("=", EqualsId)).ToArray(),
        EosId, BosId, MaskId);

    /// <summary>Positions that enter the loss: the solution and the end token, never the prompt.</summary>
    public bool[] AnswerPositions() => Enumerable.Range(0, Length).Select(p => p >= PromptLength).ToArray();

    /// <summary>Writes `PUZZLE=SOLUTION<eos>` into <paramref name="ids"/> [T].</summary>
    public void Encode(SudokuPair pair, Span<int> ids)
    {
        pair.Puzzle.CopyTo(ids);
        ids[Grid.Cells] = EqualsId;
        pair.Solution.CopyTo(ids[PromptLength..]);
        ids[Length - 1] = EosId;
    }

    /// <summary>Writes the generation canvas `PUZZLE=` followed by n² + 1 mask ids.</summary>
    public void EncodePrompt(int[] puzzle, Span<int> ids)
    {
        puzzle.CopyTo(ids);
        ids[Grid.Cells] = EqualsId;
        ids[PromptLength..Length].Fill(MaskId);
    }

    /// <summary>Whether the answer region of a filled canvas is a complete grid that keeps every given.</summary>
    public bool Solves(ReadOnlySpan<int> canvas, int[] puzzle)
    {
        var answer = canvas.Slice(PromptLength, Grid.Cells);
        if (!Grid.IsComplete(answer)) return false;
        for (int i = 0; i < Grid.Cells; i++)
            if (puzzle[i] != 0 && answer[i] != puzzle[i]) return false;
        return true;
    }
}
