using Dream.Core.Generation;
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

    /// <summary>
    /// Solves with the real diffusion loop (<see cref="DiffusionGenerator"/>): entropy confidence, temperature 0, one
    /// token per step (steps = answer length), exactly as `dream sudoku` and a 7B model decode.
    /// </summary>
    /// <param name="steps">denoising steps; default the answer length. The official schedule does not reveal exactly
    /// one token per step even then (its first step reveals int(n·(1 − s/t)) = 0), so more steps decode more gradually.</param>
    public static int[][] SolveDiffusion(IForwardModel model, SudokuTask task, IReadOnlyList<int[]> puzzles, int batchSize = 250,
        CancellationToken cancel = default, int? steps = null)
    {
        var generator = new DiffusionGenerator(model);
        var options = new GenerationOptions
        {
            MaxNewTokens = task.AnswerLength, Steps = steps ?? task.AnswerLength, Algorithm = DecodingAlgorithm.Entropy,
            MaskTokenId = task.MaskId,
        };
        var result = new int[puzzles.Count][];
        var canvas = new int[task.Length];
        for (int first = 0; first < puzzles.Count; first += batchSize)
        {
            int batch = Math.Min(batchSize, puzzles.Count - first);
            var prompts = new List<IReadOnlyList<int>>(batch);
            for (int b = 0; b < batch; b++)
            {
                task.EncodePrompt(puzzles[first + b], canvas);
                prompts.Add(canvas[..task.PromptLength]);
            }
            var generated = generator.Generate(new PromptBatch(prompts), options, cancellationToken: cancel);
            for (int b = 0; b < batch; b++) result[first + b] = generated.Row(b).ToArray();
        }
        return result;
    }

    public static int[][] SolveAutoregressive(IForwardModel model, SudokuTask task, IReadOnlyList<int[]> puzzles, int batchSize = 250,
        CancellationToken cancel = default) =>
        Solve(model, task, puzzles, batchSize, cancel);

    /// <summary>Left to right: each step decodes the next answer position from the row in front of it.</summary>
    private static int[][] Solve(IForwardModel model, SudokuTask task, IReadOnlyList<int[]> puzzles, int batchSize,
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
                // The row in front of the next position of each puzzle.
                var rows = new List<int>();
                for (int b = 0; b < batch; b++) rows.Add(b * length + task.PromptLength + step - 1);
                var logits = new float[rows.Count * vocab];
                model.Forward(input, rows.ToArray(), logits);

                for (int b = 0; b < batch; b++)
                {
                    var row = logits.AsSpan(b * vocab, vocab);
                    int argmax = 0; // first index on ties, as torch.argmax
                    for (int v = 1; v < vocab; v++) if (row[v] > row[argmax]) argmax = v;
                    input.Ids[b * length + task.PromptLength + step] = argmax;
                }
            }
            for (int b = 0; b < batch; b++) result[first + b] = input.Ids.AsSpan(b * length, length).ToArray();
        }
        return result;
    }
}
