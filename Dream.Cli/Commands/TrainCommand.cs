using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dream.Core.Checkpoint;
using Dream.Core.Model;
using Dream.Core.Numerics;
using Dream.Core.Training;
using Dream.Core.Training.Sudoku;
using Dream.Kernels.Ilgpu;
using Dream.Kernels.Ilgpu.Training;
using Dream.Kernels.Training;

namespace Dream.Cli.Commands;

/// <summary>
/// `dream train sudoku --size 4|9 [--steps N] [--batch N] [--lr X] [--seed S] [--out DIR] [--ar] [--eval N] ...`:
/// trains a Dream-architecture planner from scratch on generated puzzles (masked diffusion, or with --ar the
/// left-to-right baseline), prints a progress line, writes a Hugging Face Dream checkpoint, and scores the saved
/// (bf16) weights on fresh puzzles never seen in training. docs/training.md explains every option.
/// </summary>
public static class TrainCommand
{
    public static readonly string[] ValueOptions =
    {
        "size", "steps", "batch", "lr", "seed", "out", "eval", "hidden", "layers", "heads", "kv-heads", "ffn",
        "rope-theta", "warmup", "weighting", "minutes", "train-puzzles", "resume", "report-every", "backend", "time-limit",
        "precision",
    };

    /// <summary>Where a step runs: the managed CPU trainer, or an ILGPU device (the whole step, AdamW included).</summary>
    public static readonly string[] Backends = ["cpu", .. IlgpuDevice.Kinds];
    public static readonly string[] FlagOptions = { "ar" };

    private const string UsageLine =
        "usage: dream train sudoku --size 4|9 [--backend cpu|ilgpu-cpu|cuda|opencl] [--precision bf16|f32] [--steps N] [--batch N] [--lr X] [--seed S] [--out DIR] [--ar] [--eval N] [--time-limit SECONDS]";

    public static int Run(CommandLine cl, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (cl.Positionals.Count != 1 || cl.Positionals[0] != "sudoku")
            throw new UsageException($"dream train: expected the task 'sudoku'\n{UsageLine}");
        int size = cl.Int("size", 4, 9) ?? throw new UsageException($"dream train: --size is required\n{UsageLine}");
        if (size is not (4 or 9)) throw new UsageException("dream train: --size must be 4 or 9");
        bool small = size == 4, ar = cl.Flag("ar");
        var task = new SudokuTask(new SudokuGrid(small ? 2 : 3));

        int batchSize = cl.Int("batch", 1, 65536) ?? 64;
        int steps = cl.Int("steps", 1, 100_000_000) ?? (small ? 9000 : 20000);
        double lr = cl.Double("lr") ?? 2e-3;
        if (!(lr > 0 && lr < 1)) throw new UsageException("dream train: --lr must lie in (0, 1)");
        ulong seed = (ulong)(cl.Int("seed", 0) ?? 1);
        int evalCount = cl.Int("eval", 0, 1_000_000) ?? 1000;
        int warmup = cl.Int("warmup", 0) ?? Math.Min(100, steps / 10);
        int reportEvery = cl.Int("report-every", 1) ?? 100;
        int trainPuzzles = cl.Int("train-puzzles", 1) ?? (small ? 100_000 : 20_000);
        double? minutes = cl.Double("minutes");
        if (minutes is <= 0) throw new UsageException("dream train: --minutes must be positive");
        double? timeLimit = cl.Double("time-limit");
        if (timeLimit is <= 0) throw new UsageException("dream train: --time-limit must be a positive number of seconds");
        if (timeLimit is not null && minutes is not null) throw new UsageException("dream train: give --minutes or --time-limit, not both");
        string backend = cl.String("backend") ?? "cpu";
        if (!Backends.Contains(backend))
            throw new UsageException($"dream train: unknown backend '{backend}' (available: {string.Join(", ", Backends)})");
        // Mixed precision (bf16 tensor-core Linear products, f32 master weights and AdamW) is the default on CUDA only:
        // elsewhere the tensor-core kernels run their slow portable fallback.
        string precisionName = cl.String("precision") ?? (backend == IlgpuDevice.Cuda ? "bf16" : "f32");
        TrainingPrecision precision;
        try { precision = TrainingPrecisions.Parse(precisionName); }
        catch (ArgumentException e) { throw new UsageException($"dream train: --precision: {e.Message}"); }
        if (backend == "cpu" && precision != TrainingPrecision.Float32)
            throw new UsageException("dream train: --precision bf16 needs an ILGPU backend (the cpu trainer is float32)");
        var weighting = ParseWeighting(cl.String("weighting") ?? "cart");
        string? outDir = cl.String("out"), resume = cl.String("resume");

        var config = resume is not null ? TrainingState.ReadConfig(resume) : ModelConfig(cl, task, small);
        if (config.VocabSize != task.VocabSize || config.MaskTokenId != task.MaskId)
            throw new UsageException($"dream train: the model in {resume} was not trained on {size}×{size} puzzles");

        // Data: a seeded pool of training puzzles; evaluation puzzles come from another stream and skip any the pool holds.
        var clock = Stopwatch.StartNew();
        var generator = new SudokuGenerator(task.Grid);
        var (minBlanks, maxBlanks) = small ? (4, 12) : (40, 56);
        var pool = generator.GenerateMany(seed, 0, trainPuzzles, minBlanks, maxBlanks, cancel);
        stdout.WriteLine(F($"puzzles: {pool.Length:N0} {size}×{size} for training in {clock.Elapsed.TotalSeconds:F1}s, blanks mean {pool.Average(p => p.Puzzle.Count(d => d == 0)):F1}"));

        var parameters = DreamParameters<float>.Initialize(config, seed);
        using var device = OpenDevice(backend);
        using var kernels = device is null ? null : new TrainingKernels(device.Accelerator);
        ITrainableModel<float> model = kernels is null ? new CpuTrainableModel(parameters, causal: ar) : new IlgpuTrainableModel(kernels, parameters, causal: ar, precision);
        var schedule = new LearningRateSchedule(lr, warmup, steps);
        var scheduler = new NoiseScheduler { MaskTokenId = task.MaskId, Weighting = weighting };
        bool[] eligible = task.AnswerPositions();
        TrainingBatch Batch(long step)
        {
            var rng = new TrainingRandom(seed, -1, step);                   // the data stream, apart from the noise's (seed, step, b)
            var clean = new int[batchSize * task.Length];
            for (int b = 0; b < batchSize; b++) task.Encode(pool[rng.NextInt(pool.Length)], clean.AsSpan(b * task.Length, task.Length));
            return ar ? TrainingBatch.Autoregressive(clean, batchSize, task.Length, eligible)
                      : scheduler.Corrupt(clean, batchSize, task.Length, eligible, seed, step);
        }
        var trainer = new Trainer(model, Batch, schedule);
        if (resume is not null)
        {
            var (step, savedSeed) = TrainingState.Load(resume, parameters, trainer.Optimizer);
            if (savedSeed != seed) throw new UsageException($"dream train: {resume} was trained with --seed {savedSeed}; pass the same seed to resume");
            trainer.Step = step;
            trainer.UploadState();
            stdout.WriteLine(F($"resumed from {resume} at step {step}"));
        }

        stdout.WriteLine(F($"model: {config.ParameterCount:N0} parameters (D {config.HiddenSize}, L {config.NumHiddenLayers}, H {config.NumAttentionHeads}/{config.NumKeyValueHeads}, F {config.IntermediateSize}), {(ar ? "autoregressive baseline (causal)" : $"masked diffusion, {Name(weighting)} weighting")}"));
        stdout.WriteLine(F($"train: {steps} steps of {batchSize} × {task.Length} tokens, lr {lr:G3} (warm-up {warmup}, cosine), seed {seed}, {Environment.ProcessorCount} cores{(minutes is { } m ? $", limit {m:G3} min" : "")}{(timeLimit is { } tl ? $", limit {tl:G4} s" : "")}"));
        stdout.WriteLine(device is null ? "backend: cpu (managed trainer, AdamW on the host)" : F($"backend: {backend}, {device.Name} (forward, backward, clipping and AdamW on the device; Linear products in {precision.Name()}{(precision == TrainingPrecision.BFloat16 ? (kernels!.IsCuda ? " on tensor cores" : " (portable fallback)") + ", f32 accumulation and master weights" : "")})"));
        int stepTokens = batchSize * task.Length;
        var trainClock = Stopwatch.StartNew();
        double lastLoss = double.NaN, tokensPerSecond = 0;
        try
        {
            trainer.Run(reportEvery, r =>
            {
                lastLoss = r.Loss;
                tokensPerSecond = r.TokensPerSecond;
                stdout.WriteLine(F($"step {r.Step,6}/{r.TotalSteps}  loss {r.Loss:F4}  |g| {r.GradientNorm:F3}  lr {r.LearningRate:E2}  {r.TokensPerSecond,8:N0} tok/s  {1000.0 * stepTokens / r.TokensPerSecond,7:F1} ms/step  {Clock(r.Elapsed)} elapsed  ETA {Clock(r.Remaining)}"));
            }, minutes is { } limit ? TimeSpan.FromMinutes(limit) : timeLimit is { } seconds ? TimeSpan.FromSeconds(seconds) : null, cancel,
               hardLimit: timeLimit is { } hard ? TimeSpan.FromSeconds(hard) : null);
        }
        catch (OperationCanceledException) when (outDir is not null)
        {
            // Keep what was learned: `--resume` continues from here with the same options.
            trainer.DownloadState();
            TrainingState.Save(outDir, parameters, trainer.Optimizer, trainer.Step, seed);
            stderr.WriteLine(F($"dream train: stopped at step {trainer.Step}; state saved in {outDir} (continue with --resume {outDir})"));
            throw;
        }
        var trainTime = trainClock.Elapsed;
        trainer.DownloadState();
        (model as IDisposable)?.Dispose();
        stdout.WriteLine(F($"trained {trainer.Step} steps in {Clock(trainTime)} ({trainTime.TotalSeconds:F0}s), {tokensPerSecond:N0} tokens/s"));

        // Score the weights as they ship: bf16, read back from the checkpoint when one was written.
        var metadata = new Dictionary<string, string>
        {
            ["task"] = F($"{size}x{size} Sudoku"), ["steps"] = F($"{trainer.Step}"), ["seed"] = F($"{seed}"),
            ["objective"] = ar ? "autoregressive" : $"masked diffusion, {Name(weighting)}",
        };
        DreamParameters<float> shipped;
        if (outDir is not null)
        {
            TrainingState.Save(outDir, parameters, trainer.Optimizer, trainer.Step, seed);
            if (!ar)
            {
                CheckpointWriter.Write(outDir, parameters, task.Tokens, new GenerationSuggestion(task.AnswerLength, task.AnswerLength), metadata);
                using var checkpoint = DreamCheckpoint.Open(outDir);
                shipped = DreamParameters<float>.From(checkpoint.Weights);
            }
            else
            {
                // A causal model in the Dream layout would be loaded as bidirectional by the rest of the project:
                // the baseline keeps only its training state.
                shipped = RoundedToBFloat16(parameters);
            }
            stdout.WriteLine($"saved: {outDir}");
        }
        else
        {
            shipped = RoundedToBFloat16(parameters);
        }

        SudokuScore? score = null;
        if (evalCount > 0)
        {
            var seen = new HashSet<string>(pool.Select(p => string.Concat(p.Puzzle)));
            var fresh = new List<SudokuPair>();
            int skipped = 0;
            for (long i = 1L << 40; fresh.Count < evalCount; i++)             // far from the pool's indices 0..N−1
            {
                var pair = generator.Generate(seed, i, minBlanks, maxBlanks);
                if (seen.Add(string.Concat(pair.Puzzle))) fresh.Add(pair);
                else skipped++;
            }
            // On a device backend the shipped checkpoint is scored by that backend's forward; otherwise by the CPU trainer's.
            using var evalCheckpoint = device is not null && outDir is not null && !ar ? DreamCheckpoint.Open(outDir) : null;
            using IForwardModel evalModel = evalCheckpoint is not null
                ? BackendFactory.Create(backend, evalCheckpoint.Weights)
                : new CpuTrainableModel(shipped, causal: ar);
            var evalClock = Stopwatch.StartNew();
            var puzzles = fresh.Select(p => p.Puzzle).ToList();
            var canvases = ar
                ? SudokuEvaluation.SolveAutoregressive(evalModel, task, puzzles, cancel: cancel)
                : SudokuEvaluation.SolveDiffusion(evalModel, task, puzzles, cancel: cancel);
            score = SudokuEvaluation.Score(task, fresh, canvases);
            stdout.WriteLine(F($"eval: {(ar ? "left-to-right, argmax" : $"entropy, {task.AnswerLength} steps, temperature 0")}, bf16 weights: solved {score.SolvedFraction:P1} ({score.Solved}/{score.Puzzles}), cells {score.CellAccuracy:P1}; {skipped} generated puzzles skipped as seen in training; {evalClock.Elapsed.TotalSeconds:F1}s"));
        }

        if (outDir is not null)
        {
            var provenance = new JsonObject
            {
                ["command"] = CommandText(cl),
                ["task"] = F($"{size}x{size} Sudoku, puzzles solvable by naked singles (unique), {minBlanks}-{maxBlanks} blanks requested"),
                ["objective"] = metadata["objective"],
                ["seed"] = (long)seed, ["steps"] = trainer.Step, ["batch"] = batchSize, ["lr"] = lr, ["warmup"] = warmup,
                ["train_puzzles"] = pool.Length, ["parameters"] = config.ParameterCount,
                ["backend"] = device is null ? "cpu" : $"{backend} ({device.Name}), {precision.Name()} Linear products",
                ["train_seconds"] = Math.Round(trainTime.TotalSeconds, 1), ["tokens_per_second"] = Math.Round(tokensPerSecond),
                ["final_loss"] = Math.Round(lastLoss, 5), ["cores"] = Environment.ProcessorCount,
                ["eval_puzzles"] = score?.Puzzles, ["eval_solved"] = score?.SolvedFraction, ["eval_cells"] = score?.CellAccuracy,
            };
            File.WriteAllText(Path.Combine(outDir, "training.json"), provenance.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }
        return 0;
    }

    /// <summary>The options as given, in a fixed order (for the provenance record).</summary>
    private static string CommandText(CommandLine cl) =>
        "dream train sudoku" + string.Concat(ValueOptions.Where(o => cl.String(o) is not null).Select(o => $" --{o} {cl.String(o)}"))
        + (cl.Flag("ar") ? " --ar" : "");

    /// <summary>The ILGPU device for a device backend (null for cpu); a missing device is a usage error that says why.</summary>
    private static IlgpuDevice? OpenDevice(string backend)
    {
        if (backend == "cpu") return null;
        try
        {
            return IlgpuDevice.Create(backend);
        }
        catch (IlgpuDeviceNotFoundException e)
        {
            throw new UsageException($"dream train: backend '{backend}': {e.Message}");
        }
    }

    private static DreamConfig ModelConfig(CommandLine cl, SudokuTask task, bool small)
    {
        int hidden = cl.Int("hidden", 8, 4096) ?? (small ? 64 : 384);
        int layers = cl.Int("layers", 1, 64) ?? (small ? 2 : 3);
        int heads = cl.Int("heads", 1, 64) ?? (small ? 4 : 6);
        int kvHeads = cl.Int("kv-heads", 1, 64) ?? (small ? 4 : 2);
        int ffn = cl.Int("ffn", 1, 65536) ?? Math.Max(64, hidden * 8 / 3 / 64 * 64); // the recipe's SwiGLU width
        double theta = cl.Double("rope-theta") ?? 10000.0;
        if (hidden % heads != 0 || hidden / heads % 2 != 0)
            throw new UsageException($"dream train: --hidden {hidden} must split into {heads} heads of an even size");
        if (heads % kvHeads != 0) throw new UsageException($"dream train: --kv-heads {kvHeads} must divide --heads {heads}");
        var config = new DreamConfig
        {
            VocabSize = task.VocabSize, HiddenSize = hidden, IntermediateSize = ffn, NumHiddenLayers = layers,
            NumAttentionHeads = heads, NumKeyValueHeads = kvHeads, RopeTheta = theta, RmsNormEps = 1e-6,
            TieWordEmbeddings = true, MaxPositionEmbeddings = 512,
            MaskTokenId = task.MaskId, PadTokenId = task.EosId, EosTokenId = task.EosId, BosTokenId = task.BosId,
            TorchDType = "bfloat16",
        };
        config.Validate("dream train");
        return config;
    }

    private static LossWeighting ParseWeighting(string s) => s switch
    {
        "cart" => LossWeighting.Cart,
        "inverse-t" => LossWeighting.InverseT,
        "one-minus-t" => LossWeighting.OneMinusT,
        "constant" => LossWeighting.Constant,
        _ => throw new UsageException($"dream train: --weighting must be cart, inverse-t, one-minus-t or constant, got '{s}'"),
    };

    private static string Name(LossWeighting w) => w switch
    {
        LossWeighting.Cart => "CART",
        LossWeighting.InverseT => "1/t",
        LossWeighting.OneMinusT => "1 − t",
        _ => "constant",
    };

    private static DreamParameters<float> RoundedToBFloat16(DreamParameters<float> p)
    {
        var copy = DreamParameters<float>.Zeros(p.Config);
        for (int i = 0; i < p.Tensors.Count; i++)
            for (int j = 0; j < p.Tensors[i].Data.Length; j++)
                copy.Tensors[i].Data[j] = BFloat16.ToFloat(BFloat16.FromFloat(p.Tensors[i].Data[j]));
        return copy;
    }

    private static string Clock(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
