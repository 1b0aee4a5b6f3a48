using Dream.Cli;
using Dream.Cli.Commands;
using Dream.Core.Checkpoint;
using Dream.Core.Model;
using Dream.Core.Training;
using Dream.Core.Training.Sudoku;
using Dream.Kernels.Training;

namespace Dream.Tests.Training;

/// <summary>Short end-to-end runs: the loss falls, a resumed run replays the uninterrupted one, the command works.</summary>
public class TrainingRunTests
{
    private static readonly SudokuTask Task = new(new SudokuGrid(2));

    private static DreamConfig Small => new()
    {
        VocabSize = Task.VocabSize, HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 1,
        NumAttentionHeads = 2, NumKeyValueHeads = 1, TieWordEmbeddings = true, MaxPositionEmbeddings = 64, MaskTokenId = Task.MaskId,
    };

    private static Trainer NewTrainer(DreamParameters<float> parameters, int totalSteps)
    {
        var pool = new SudokuGenerator(Task.Grid).GenerateMany(5, 0, 400, 4, 12);
        var scheduler = new NoiseScheduler { MaskTokenId = Task.MaskId };
        var eligible = Task.AnswerPositions();
        const int batch = 16;
        TrainingBatch Batch(long step)
        {
            var rng = new TrainingRandom(5, -1, step);
            var clean = new int[batch * Task.Length];
            for (int b = 0; b < batch; b++) Task.Encode(pool[rng.NextInt(pool.Length)], clean.AsSpan(b * Task.Length, Task.Length));
            return scheduler.Corrupt(clean, batch, Task.Length, eligible, 5, step);
        }
        return new Trainer(new CpuTrainableModel(parameters), Batch, new LearningRateSchedule(3e-3, 10, totalSteps));
    }

    [Fact]
    public void LossFalls()
    {
        var trainer = NewTrainer(DreamParameters<float>.Initialize(Small, 2), 120);
        var losses = new List<double>();
        trainer.Run(1, r => losses.Add(r.Loss));
        Assert.Equal(120, losses.Count);
        double first = losses.Take(10).Average(), last = losses.TakeLast(10).Average();
        Assert.True(last < 0.8 * first, $"loss went from {first:F4} (first 10 steps) to {last:F4} (last 10)");
    }

    [Fact]
    public void ResumedRunReplaysTheUninterruptedOne()
    {
        var straight = DreamParameters<float>.Initialize(Small, 3);
        NewTrainer(straight, 20).Run(100, _ => { });

        using var dir = new TempDirectory();
        var first = DreamParameters<float>.Initialize(Small, 3);
        var t1 = NewTrainer(first, 20);
        for (int i = 0; i < 9; i++) t1.RunStep();
        TrainingState.Save(dir.Path, first, t1.Optimizer, t1.Step, seed: 3);

        var resumed = DreamParameters<float>.Zeros(Small);
        var t2 = NewTrainer(resumed, 20);
        var (step, seed) = TrainingState.Load(dir.Path, resumed, t2.Optimizer);
        Assert.Equal((9L, 3UL), (step, seed));
        t2.Step = step;
        t2.Run(100, _ => { });
        for (int i = 0; i < straight.Tensors.Count; i++)
            Assert.Equal(straight.Tensors[i].Data, resumed.Tensors[i].Data); // bit for bit
    }

    [Fact]
    public void TrainCommandWritesALoadableCheckpointAndScoresIt()
    {
        using var dir = new TempDirectory();
        var stdout = new StringWriter();
        string[] args =
        {
            "sudoku", "--size", "4", "--steps", "12", "--batch", "8", "--hidden", "16", "--layers", "1", "--heads", "2",
            "--kv-heads", "1", "--eval", "20", "--train-puzzles", "300", "--report-every", "5", "--out", dir.Path,
        };
        var cl = new CommandLine("train", args, TrainCommand.ValueOptions, TrainCommand.FlagOptions);
        Assert.Equal(0, TrainCommand.Run(cl, stdout, new StringWriter(), CancellationToken.None));
        string text = stdout.ToString();
        Assert.Contains("step     12/12", text);
        Assert.Contains("tok/s", text);
        Assert.Contains("eval: entropy, 17 steps", text);
        using var checkpoint = DreamCheckpoint.Open(dir.Path);
        Assert.Equal(16, checkpoint.Config.HiddenSize);
        Assert.True(File.Exists(Path.Combine(dir.Path, "tokenizer.json")));
        Assert.True(File.Exists(Path.Combine(dir.Path, TrainingState.FileName)));
        Assert.Contains("\"eval_solved\"", File.ReadAllText(Path.Combine(dir.Path, "training.json")));
    }

    [Fact]
    public void TrainCommandResumesFromItsSavedState()
    {
        using var dir = new TempDirectory();
        string[] Args(int steps, params string[] more) => new[]
        {
            "sudoku", "--size", "4", "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture), "--batch", "4",
            "--hidden", "16", "--layers", "1", "--heads", "2", "--kv-heads", "1", "--eval", "0", "--train-puzzles", "100",
            "--report-every", "2", "--seed", "7",
        }.Concat(more).ToArray();
        int Run(string[] args, StringWriter stdout) =>
            TrainCommand.Run(new CommandLine("train", args, TrainCommand.ValueOptions, TrainCommand.FlagOptions), stdout, new StringWriter(), CancellationToken.None);

        Assert.Equal(0, Run(Args(6, "--out", dir.Path), new StringWriter()));
        var stdout = new StringWriter();
        Assert.Equal(0, Run(Args(10, "--resume", dir.Path, "--out", dir.Path), stdout));
        Assert.Contains("at step 6", stdout.ToString());
        Assert.Contains("step     10/10", stdout.ToString());
        Assert.DoesNotContain("step      2/", stdout.ToString());
        var wrongSeed = Args(10, "--resume", dir.Path).Select(a => a == "7" ? "8" : a).ToArray();
        Assert.Throws<UsageException>(() => Run(wrongSeed, new StringWriter()));
    }

    [Theory]
    [InlineData("sudoku")]                                     // --size missing
    [InlineData("sudoku", "--size", "5")]
    [InlineData("chess", "--size", "4")]
    [InlineData("sudoku", "--size", "4", "--weighting", "loud")]
    [InlineData("sudoku", "--size", "4", "--hidden", "30", "--heads", "4")]
    [InlineData("sudoku", "--size", "4", "--lr", "2")]
    public void BadOptionsAreUsageErrors(params string[] args)
    {
        var cl = new CommandLine("train", args, TrainCommand.ValueOptions, TrainCommand.FlagOptions);
        Assert.Throws<UsageException>(() => TrainCommand.Run(cl, new StringWriter(), new StringWriter(), CancellationToken.None));
    }
}
