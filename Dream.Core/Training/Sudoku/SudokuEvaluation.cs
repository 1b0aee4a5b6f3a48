using Dream.Core.Model;

namespace Dream.Core.Training.Sudoku;

/// <summary>How many of a set of puzzles a model solves (exact boards), and how it filled them.</summary>
public sealed record SudokuScore(int Puzzles, int Solved, long CellsRight, long Cells)
{
    public double SolvedFraction => Puzzles == 0 ? 0 : Solved / (double)Puzzles;
    public double CellAccuracy => Cells == 0 ? 0 : CellsRight / (double)Cells;
}

/// <summary>
/// Solves puzzles with a trained model, temperature 0, in batches of canvases `PUZZLE=` + masks:
///   diffusion      one answer position per step, n² + 1 steps: among the masked positions, the one whose
///                  shifted logits (row p − 1) have the highest confidence Σ_v p·log p (lowest entropy) gets its
///                  argmax token; ties go to the lowest position. This is Dream's `entropy` loop with
///                  steps = answer length whenever its schedule reveals one token per step.
///   autoregressive left to right, each answer position the argmax of row p − 1 (causal model).
/// </summary>
public static class SudokuEvaluation
{
    public static SudokuScore Score(SudokuTask task, IReadOnlyList<SudokuPair> pairs, int[][] canvases)
    {
        int solved = 0;
        long right = 0;
        for (int i = 0; i < pairs.Count; i++)
        {
            if (task.Solves(canvases[i], pairs[i].Puzzle)) solved++;
            for (int c = 0; c < task.Grid.Cells; c++)
                if (canvases[i][task.PromptLength + c] == pairs[i].Solution[c]) right++;
        }
        return new SudokuScore(pairs.Count, solved, right, (long)pairs.Count * task.Grid.Cells);
    }

    public static int[][] SolveDiffusion(IForwardModel model, SudokuTask task, IReadOnlyList<int[]> puzzles, int batchSize = 250,
        CancellationToken cancel = default) =>
        Solve(model, task, puzzles, batchSize, autoregressive: false, cancel);

    public static int[][] SolveAutoregressive(IForwardModel model, SudokuTask task, IReadOnlyList<int[]> puzzles, int batchSize = 250,
        CancellationToken cancel = default) =>
        Solve(model, task, puzzles, batchSize, autoregressive: true, cancel);

    private static int[][] Solve(IForwardModel model, SudokuTask task, IReadOnlyList<int[]> puzzles, int batchSize, bool autoregressive,
        CancellationToken cancel)
    {
        int length = task.Length, vocab = model.Config.VocabSize, answer = task.AnswerLength;
        var result = new int[puzzles.Count][];
        for (int first = 0; first < puzzles.Count; first += batchSize)
        {
            int batch = Math.Min(batchSize, puzzles.Count - first);
            var input = new ForwardInput(batch, length);
            for (int b = 0; b < batch; b++) task.EncodePrompt(puzzles[first + b], input.Ids.AsSpan(b * length, length));

            for (int step = 0; step < answer; step++)
            {
                cancel.ThrowIfCancellationRequested();
                // Rows in front of the masked positions still open (diffusion), or of the next position (autoregressive).
                var rows = new List<int>();
                for (int b = 0; b < batch; b++)
                for (int p = task.PromptLength; p < length; p++)
                {
                    if (input.Ids[b * length + p] != task.MaskId) continue;
                    if (autoregressive && p != task.PromptLength + step) continue;
                    rows.Add(b * length + p - 1);
                }
                var logits = new float[rows.Count * vocab];
                model.Forward(input, rows.ToArray(), logits);

                var best = new (double Confidence, int Position, int Token)[batch];
                Array.Fill(best, (double.NegativeInfinity, int.MaxValue, 0));
                for (int r = 0; r < rows.Count; r++)
                {
                    int b = rows[r] / length, p = rows[r] % length + 1;
                    var (confidence, token) = EntropyConfidence(logits.AsSpan(r * vocab, vocab));
                    // Strictly greater: among equal confidences the lower position (seen first) stays.
                    if (confidence > best[b].Confidence) best[b] = (confidence, p, token);
                }
                for (int b = 0; b < batch; b++)
                    if (best[b].Position != int.MaxValue) input.Ids[b * length + best[b].Position] = best[b].Token;
            }
            for (int b = 0; b < batch; b++) result[first + b] = input.Ids.AsSpan(b * length, length).ToArray();
        }
        return result;
    }

    /// <summary>(Σ_v p·log(p + 1e-10), argmax) of softmax(logits): Dream's `entropy` confidence, in double.</summary>
    private static (double Confidence, int Token) EntropyConfidence(ReadOnlySpan<float> logits)
    {
        int argmax = 0;
        for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[argmax]) argmax = v;
        double max = logits[argmax], sum = 0;
        foreach (float z in logits) sum += Math.Exp(z - max);
        double confidence = 0;
        foreach (float z in logits)
        {
            double p = Math.Exp(z - max) / sum;
            confidence += p * Math.Log(p + 1e-10);
        }
        return (confidence, argmax);
    }
}
