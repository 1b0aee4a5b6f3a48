using Dream.Cli.Verify;
using Dream.Core.Checkpoint;
using Dream.Core.Model;
using Dream.Kernels.Cpu;
using Dream.Reference;
using Dream.Tests.Support;

namespace Dream.Tests.Cpu;

/// <summary>The whole cpu forward pass: golden logits, the reference model, batching, row selection, allocation.</summary>
public class CpuModelTests
{
    public static TheoryData<string> Models => new() { "tiny-a", "tiny-a-bf16", "tiny-b", "small-c" };

    /// <summary>Against the official code's float64 logits, with and without the pad mask: within 2e-4 absolute,
    /// the bound the float32 reference meets (GoldenForwardTests).</summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void MatchesOfficialLogits(string name)
    {
        using var checkpoint = DreamCheckpoint.Open(TestData.GoldenModel(name));
        using var golden = GoldenForward.Load(Path.Combine(TestData.Golden, $"forward-{name}.safetensors"));
        using var model = new CpuModel(checkpoint.Weights);
        Assert.Equal("cpu", model.BackendName);

        foreach (bool padded in new[] { false, true })
        {
            var (rows, actual) = GoldenForward.Run(model, golden, padded);
            var expected = padded ? golden.LogitsPadded : golden.LogitsFull;
            var diff = GoldenForward.MaxAbsDiff(rows, actual, expected, golden.Vocab);
            Assert.True(diff.Max <= 2e-4, $"{name} padded={padded}: max |Δ| {diff.Max:E3} at row {diff.Row}, vocab {diff.Column}");
        }
    }

    /// <summary>
    /// The embedded sudoku planner (bf16, 164-token canvas) against the float32 reference model: both are float32
    /// with different summation orders, through 3 layers; |Δlogit| ≤ 1e-3 + 1e-3·|ref| (measured ≈ 1e-5).
    /// Rows are requested out of order and with a repeat, to check the row → slot mapping.
    /// </summary>
    [Fact]
    public void SudokuPlannerMatchesReferenceModel()
    {
        using var checkpoint = DreamCheckpoint.Open(TestData.SudokuModel);
        var config = checkpoint.Config;
        var input = SudokuCanvas(config, batch: 1, seed: 7);
        int[] rows = Enumerable.Range(81, 82).Reverse().Append(100).Append(0).ToArray();

        var expected = new float[rows.Length * config.VocabSize];
        using (var reference = new ReferenceModel(checkpoint.Weights)) reference.Forward(input, rows, expected);
        var actual = new float[expected.Length];
        using var model = new CpuModel(checkpoint.Weights);
        model.Forward(input, rows, actual);
        CpuCheck.Close(actual, expected, 1e-3, 1e-3, "sudoku planner cpu vs reference");
    }

    /// <summary>A left-padded batch of two gives each row what it gives alone (same worker count, so the same
    /// arithmetic for the real tokens up to blocking: 1e-4 + 1e-4·|ref|).</summary>
    [Fact]
    public void PaddedBatchMatchesRowsRunAlone()
    {
        using var checkpoint = DreamCheckpoint.Open(TestData.SudokuModel);
        var config = checkpoint.Config;
        int n = 164, pads = 9, v = config.VocabSize;
        var mask = Enumerable.Range(0, 2 * n).Select(i => i >= n && i - n < pads ? 0 : 1).ToArray();
        var batch = new ForwardInput(2, n, mask);
        var single = SudokuCanvas(config, 1, seed: 3);
        single.Ids.CopyTo(batch.Ids, 0);
        var shorter = new ForwardInput(1, n - pads);
        for (int t = 0; t < n - pads; t++) shorter.Ids[t] = batch.Ids[n + pads + t] = single.Ids[(t * 7) % n];
        for (int t = 0; t < pads; t++) batch.Ids[n + t] = config.PadTokenId ?? 0;

        using var model = new CpuModel(checkpoint.Weights);
        int[] rows = [5, 163, n + pads, 2 * n - 1];
        var together = new float[rows.Length * v];
        model.Forward(batch, rows, together);

        var alone = new float[2 * v];
        model.Forward(single, [5, 163], alone);
        var aloneShort = new float[2 * v];
        model.Forward(shorter, [0, n - pads - 1], aloneShort);
        CpuCheck.Close(together.AsSpan(0, 2 * v), alone, 1e-4, 1e-4, "batch row 0 vs alone");
        CpuCheck.Close(together.AsSpan(2 * v, 2 * v), aloneShort, 1e-4, 1e-4, "padded batch row 1 vs unpadded alone");
    }

    /// <summary>After the first call at a shape, a forward allocates no buffers: the calling thread allocates only
    /// Parallel.For's own bookkeeping, measured at 1560 bytes per call on .NET 10, for 8 parallel ops per layer
    /// (7 Linear + attention) and lm_head — bounded here by 2 KB each, far below one activation buffer (≥ 246 KB).</summary>
    [Fact]
    public void RepeatedForwardAllocatesNoBuffers()
    {
        using var checkpoint = DreamCheckpoint.Open(TestData.SudokuModel);
        var config = checkpoint.Config;
        var input = SudokuCanvas(config, 1, seed: 11);
        int[] rows = Enumerable.Range(81, 82).ToArray();
        var logits = new float[rows.Length * config.VocabSize];
        using var model = new CpuModel(checkpoint.Weights);
        model.Forward(input, rows, logits);
        model.Forward(input, rows, logits);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 3; i++)
        {
            input.Ids[90 + i] = 1 + i;          // the canvas changes between steps, as when tokens are revealed
            model.Forward(input, rows, logits);
        }
        long perForward = (GC.GetAllocatedBytesForCurrentThread() - before) / 3;
        long bound = (8L * config.NumHiddenLayers + 1) * 2048;
        Assert.True(perForward < bound, $"{perForward} bytes allocated per forward, bound {bound}");
    }

    /// <summary>A planner canvas: 82 prompt ids (random digits/specials, all real tokens) then 82 mask ids.</summary>
    private static ForwardInput SudokuCanvas(DreamConfig config, int batch, int seed)
    {
        var random = new Random(seed);
        var input = new ForwardInput(batch, 164);
        for (int i = 0; i < input.Ids.Length; i++)
            input.Ids[i] = i % 164 < 82 ? random.Next(config.VocabSize) : config.MaskTokenId;
        return input;
    }
}
