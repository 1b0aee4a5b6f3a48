using System.Globalization;
using System.Text.Json;
using Dream.Cli.Sudoku;
using Dream.Core.Generation;

namespace Dream.Cli.Commands;

/// <summary>
/// `dream sudoku [PUZZLE]` solves one puzzle (a random one from the bundled test set when none is given) and
/// shows the board; `--visual` draws it filling in, cells appearing in the order the model commits them.
/// `dream sudoku --eval FILE` scores a `quizzes,solutions` CSV and ends with `SOLVED of TOTAL solved (P%)`.
/// </summary>
public static class SudokuCommand
{
    public static readonly string[] ValueOptions = GenerationFlags.ValueOptions
        .Concat(new[] { "model", "eval", "limit", "batch", "index" }).ToArray();
    public static readonly string[] FlagOptions = GenerationFlags.FlagOptions.Concat(new[] { "visual", "json" }).ToArray();

    public static string BundledTestSet => Path.Combine(ModelResolver.EmbeddedSudokuModel, "sudoku-test.csv");

    public static int Run(CommandLine cl, CliContext io)
    {
        cl.ExpectPositionals(1, "at most one puzzle of 81 digits");
        string modelDir = cl.String("model") is { } m ? ModelResolver.Resolve(m) : ModelResolver.EmbeddedSudokuModel;
        if (!Directory.Exists(modelDir))
            throw new UsageException($"the embedded planner is missing at '{modelDir}' (was the build output copied without its models folder?)");
        string backend = GenerationFlags.Backend(cl, "cpu");
        if (cl.String("eval") is { } file)
        {
            if (cl.Positionals.Count > 0) throw new UsageException("dream sudoku: give either a PUZZLE or --eval FILE, not both");
            return Evaluate(cl, io, modelDir, backend, file);
        }
        return SolveOne(cl, io, modelDir, backend);
    }

    private static int SolveOne(CommandLine cl, CliContext io, string modelDir, string backend)
    {
        SudokuPuzzle quiz;
        SudokuPuzzle? known = null;
        if (cl.Positionals.Count == 1)
        {
            try { quiz = SudokuPuzzle.Parse(cl.Positionals[0]); }
            catch (FormatException e) { throw new UsageException($"dream sudoku: {e.Message}"); }
        }
        else
        {
            var set = SudokuTestSet.Load(BundledTestSet);
            int index = cl.Int("index", 0, set.Count - 1) ?? Random.Shared.Next(set.Count);
            (quiz, known) = set[index];
            io.Out.WriteLine($"puzzle {index} of the bundled test set ({quiz.Blanks} blanks)");
        }

        using var solver = new SudokuSolver(modelDir, backend, GenerationFlags.Kernels(cl));
        var options = GenerationFlags.Build(cl, solver.Defaults, maxNewTokensFallback: SudokuPuzzle.Cells + 1);
        bool visual = cl.Flag("visual");
        var givens = quiz.Digits.Select(d => d != 0).ToArray();
        int promptLength = solver.Prompt(quiz).Length;
        var progress = new ProgressLine();
        int[]? previous = null;
        int frameLines = 0;

        void Draw(int? step, Span<int> canvas)
        {
            int[] cells = solver.Cells(canvas, promptLength);
            var newest = new bool[cells.Length];
            for (int i = 0; i < cells.Length; i++) newest[i] = cells[i] >= 0 && previous is not null && previous[i] < 0;
            previous = cells;
            string status = step is null
                ? $"step 0/{options.Steps} · {cells.Count(c => c < 0)} cells masked"
                : progress.Format(step.Value + 1, options.Steps, "step", $"{cells.Count(c => c < 0)} masked");
            string frame = SudokuBoardRenderer.Render(cells, givens, newest, status, ansi: io.Interactive);
            if (io.Interactive && frameLines > 0) io.Out.Write($"\u001b[{frameLines}A\r\u001b[J"); // up, then clear the old frame
            io.Out.Write(frame);
            if (!io.Interactive) io.Out.WriteLine();
            io.Out.Flush();
            frameLines = frame.Count(c => c == '\n');
        }

        if (!visual)
        {
            io.Out.WriteLine("puzzle:");
            io.Out.Write(SudokuBoardRenderer.Render(quiz.Digits.Select(d => d == 0 ? -1 : d).ToArray(), givens, new bool[81], "", false));
        }
        var answer = solver.Solve(new[] { quiz }, options, visual ? Draw : null, cancel: io.Cancel)[0];
        double seconds = progress.ElapsedSeconds;

        if (answer is null)
        {
            io.Out.WriteLine($"no solution: the model wrote a non-digit token among the 81 cells ({options.Steps} steps, {seconds:0.00}s)");
            return 1;
        }
        bool valid = answer.IsSolutionOf(quiz);
        if (!visual)
        {
            io.Out.WriteLine("solution:");
            io.Out.Write(SudokuBoardRenderer.Render(answer.Digits, givens, new bool[81], "", false));
        }
        io.Out.WriteLine(answer.ToString());
        string check = valid ? "valid" : $"INVALID ({answer.FirstConflict() ?? "a given was changed"})";
        string against = known is null ? "" : answer.ToString() == known.ToString() ? ", matches the test set's solution" : ", differs from the test set's solution";
        io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{check}{against} · {options.Steps} steps, {options.Algorithm.ToOfficialName()}, backend {solver.BackendName}, {seconds:0.00}s"));
        return valid ? 0 : 1;
    }

    private static int Evaluate(CommandLine cl, CliContext io, string modelDir, string backend, string file)
    {
        var set = SudokuTestSet.Load(file, cl.Int("limit", 1));
        int batchSize = cl.Int("batch", 1, 256) ?? 16;
        bool json = cl.Flag("json");
        using var solver = new SudokuSolver(modelDir, backend, GenerationFlags.Kernels(cl));
        var options = GenerationFlags.Build(cl, solver.Defaults, maxNewTokensFallback: SudokuPuzzle.Cells + 1);
        var progress = new ProgressLine();
        int solved = 0, exact = 0, done = 0;

        for (int start = 0; start < set.Count; start += batchSize)
        {
            io.Cancel.ThrowIfCancellationRequested();
            var batch = set.Skip(start).Take(batchSize).ToList();
            var answers = solver.Solve(batch.Select(p => p.Quiz).ToList(), options, cancel: io.Cancel);
            for (int i = 0; i < batch.Count; i++)
            {
                var (quiz, solution) = batch[i];
                bool ok = answers[i]?.IsSolutionOf(quiz) ?? false;
                bool same = answers[i]?.ToString() == solution.ToString();
                solved += ok ? 1 : 0;
                exact += same ? 1 : 0;
                if (json)
                    io.Out.WriteLine(JsonSerializer.Serialize(new
                    {
                        index = start + i, quiz = quiz.ToString(), answer = answers[i]?.ToString(), solved = ok, exact = same,
                    }));
            }
            done += batch.Count;
            io.Err.WriteLine(progress.Format(done, set.Count, "puzzle", $"{solved} solved"));
        }

        double seconds = progress.ElapsedSeconds;
        double percent = 100.0 * solved / set.Count;
        string summary = string.Create(CultureInfo.InvariantCulture,
            $"{solved} of {set.Count} solved ({percent:0.0}%)");
        string detail = string.Create(CultureInfo.InvariantCulture,
            $"{exact} equal the file's solution · {options.Steps} steps, {options.Algorithm.ToOfficialName()}, backend {solver.BackendName} · {seconds:0.0}s, {set.Count / seconds:0.00} puzzles/s");
        if (json)
        {
            io.Out.WriteLine(JsonSerializer.Serialize(new
            {
                solved, total = set.Count, percent = Math.Round(percent, 2), exact, steps = options.Steps,
                alg = options.Algorithm.ToOfficialName(), backend = solver.BackendName, seconds = Math.Round(seconds, 3),
                puzzles_per_second = Math.Round(set.Count / seconds, 3),
            }));
            io.Err.WriteLine(detail);
            io.Err.WriteLine(summary);
        }
        else
        {
            io.Out.WriteLine(detail);
            io.Out.WriteLine(summary);
        }
        return 0;
    }
}
