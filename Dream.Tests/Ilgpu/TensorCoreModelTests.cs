using Dream.Cli.Verify;
using Dream.Core.Checkpoint;
using Dream.Core.Model;
using Dream.Kernels.Ilgpu;
using Dream.Tests.Support;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// The whole bf16 fast path (<see cref="TensorCoreModel"/>: fused QKV, RoPE to bf16, flash attention, fused SwiGLU
/// and residual epilogues, lm_head over requested rows) against the official code's float64 logits on the golden
/// checkpoints stored in bf16, with and without the pad mask. It rounds every product's input to bf16, so it is
/// held to what the official code's own bf16 run achieved on the same case (`logits_full_native_cuda`: max |Δ|
/// ≈ 0.10 for tiny-a-bf16, 0.43 for small-c), not to the float32 bound. On the CPU simulator this runs the
/// kernels' portable fallbacks; with DREAM_TEST_DEVICE=cuda the tensor cores.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class TensorCoreModelTests
{
    public static TheoryData<string> Models => new() { "tiny-a-bf16", "small-c" };

    [IlgpuTheory]
    [MemberData(nameof(Models))]
    public void TensorCoreModelIsAsCloseAsTheOfficialBf16Run(string name)
    {
        using var checkpoint = DreamCheckpoint.Open(TestData.GoldenModel(name));
        using var golden = GoldenForward.Load(Path.Combine(TestData.Golden, $"forward-{name}.safetensors"));
        using var model = new TensorCoreModel(checkpoint.Weights, IlgpuTestDevice.Kind, IlgpuTestDevice.Kernels);
        double bound = golden.NativeDeviation ?? throw new InvalidOperationException($"forward-{name} has no native bf16 logits");
        // What `dream verify` reads to hold this model to the same bound.
        Assert.Equal(ForwardPrecision.Bf16Inputs, ((IForwardModel)model).Precision);
        Assert.Equal(golden.NativeDeviation, ForwardConformance.Bound(model, golden, name));

        foreach (bool padded in new[] { false, true })
        {
            var (rows, actual) = GoldenForward.Run(model, golden, padded);
            var diff = GoldenForward.MaxAbsDiff(rows, actual, padded ? golden.LogitsPadded : golden.LogitsFull, golden.Vocab);
            Assert.True(diff.Max <= bound, $"{name} on {model.DeviceName} padded={padded}: max |Δ| {diff.Max:E3} > official bf16 run's {bound:E3} at row {diff.Row}, vocab {diff.Column}");
            // Far closer than that in practice; a broken fragment or epilogue lands at O(1).
            Console.WriteLine($"{name} padded={padded}: max |Δ| {diff.Max:E3} (official bf16 run: {bound:E3})");
        }
    }

    /// <summary>
    /// lm_head over the requested rows a chunk at a time (the logits buffer holds one chunk): with 3 rows per chunk
    /// — an odd size, the last chunk short — the logits, and the device sampler's tokens and confidences, are the same
    /// bits as with every row in one product. (The sampler's chunks per row are fixed at 2 in both models: left to
    /// pick, it cuts a row by how many rows it is handed at once, which orders its float32 sums differently.)
    /// </summary>
    [IlgpuFact]
    public void ChunkedLmHeadGivesTheSameLogits()
    {
        using var checkpoint = DreamCheckpoint.Open(TestData.GoldenModel("tiny-a-bf16"));
        using var whole = new TensorCoreModel(checkpoint.Weights, IlgpuTestDevice.Kind, IlgpuTestDevice.Kernels, TensorCoreRunState.MaxRowChunk, samplerChunks: 2);
        using var chunked = new TensorCoreModel(checkpoint.Weights, IlgpuTestDevice.Kind, IlgpuTestDevice.Kernels, rowChunk: 3, samplerChunks: 2);
        var c = whole.Config;
        var random = new Random(7);
        var input = new ForwardInput(1, 11);
        for (int i = 0; i < input.Ids.Length; i++) input.Ids[i] = random.Next(c.VocabSize);
        int[] rows = [10, 0, 3, 4, 5, 9, 1, 2];
        var expected = new float[rows.Length * c.VocabSize];
        var actual = new float[expected.Length];
        whole.Forward(input, rows, expected);
        chunked.Forward(input, rows, actual);
        Assert.Equal(expected, actual);

        var request = new SamplingRequest(Dream.Core.Generation.DecodingAlgorithm.Entropy, 0, null, null);
        int[] tokens = new int[rows.Length], chunkedTokens = new int[rows.Length];
        double[] confidence = new double[rows.Length], chunkedConfidence = new double[rows.Length];
        whole.ForwardSample(input, rows, request, [], tokens, confidence);
        chunked.ForwardSample(input, rows, request, [], chunkedTokens, chunkedConfidence);
        Assert.Equal(tokens, chunkedTokens);
        Assert.Equal(confidence, chunkedConfidence);
    }

    /// <summary>
    /// The layers replayed from a recorded CUDA graph give the same bits as the same launches made one by one, while
    /// what the recording cannot see changes under it: new ids every pass, a left-padded pass (the pad mask and the
    /// RoPE tables rewritten in place), and a second length (a new run state, recorded anew). Per length the first
    /// pass runs unrecorded, the second records, the rest replay. Off CUDA the stream cannot be recorded: the model
    /// says so and records nothing.
    /// </summary>
    [IlgpuFact]
    public void RecordedLayersGiveTheLaunchedLogits()
    {
        using var checkpoint = DreamCheckpoint.Open(TestData.GoldenModel("tiny-a-bf16"));
        using var launched = new TensorCoreModel(checkpoint.Weights, IlgpuTestDevice.Kind, IlgpuTestDevice.Kernels) { UsesGraphs = false };
        using var recorded = new TensorCoreModel(checkpoint.Weights, IlgpuTestDevice.Kind, IlgpuTestDevice.Kernels);
        Assert.Equal(IlgpuTestDevice.Kernels.IsCuda, recorded.UsesGraphs);
        Assert.False(launched.UsesGraphs);
        var c = recorded.Config;
        var random = new Random(11);
        foreach (int length in new[] { 9, 13 })
        {
            for (int pass = 0; pass < 4; pass++)
            {
                int[]? mask = pass == 2 ? [.. Enumerable.Repeat(0, 3), .. Enumerable.Repeat(1, length - 3)] : null;
                var input = new ForwardInput(1, length, mask);
                for (int i = 0; i < length; i++) input.Ids[i] = random.Next(c.VocabSize);
                int[] rows = Enumerable.Range(0, length).ToArray();
                var expected = new float[length * c.VocabSize];
                var actual = new float[expected.Length];
                launched.Forward(input, rows, expected);
                recorded.Forward(input, rows, actual);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"length {length}, pass {pass}: recorded layers differ from launched ones");
            }
            if (recorded.UsesGraphs)
                Assert.True(recorded.RecordedOperations >= 1 + 7 * c.NumHiddenLayers,
                    $"length {length}: {recorded.RecordedOperations} operations recorded, fewer than the embedding and 7 launches per layer");
            else
                Assert.Equal(0, recorded.RecordedOperations);
        }
        Assert.Equal(0, launched.RecordedOperations);
    }

    /// <summary>
    /// What `dream bench` prints as GPU memory in use: on CUDA the driver's count for the card, which holds at least
    /// the model's weights and grows by at least a run state's activations once a forward has run; elsewhere nothing.
    /// </summary>
    [IlgpuFact]
    public void DeviceMemoryInUseCountsTheModelOnCudaOnly()
    {
        using var checkpoint = DreamCheckpoint.Open(TestData.GoldenModel("small-c"));
        using var model = new TensorCoreModel(checkpoint.Weights, IlgpuTestDevice.Kind, IlgpuTestDevice.Kernels);
        long? before = model.DeviceMemoryInUse();
        if (!IlgpuTestDevice.Kernels.IsCuda)
        {
            Assert.Null(before);
            return;
        }
        var c = model.Config;
        long weightBytes = 2L * c.ParameterCount;   // bf16
        Assert.True(before >= weightBytes, $"{before} bytes in use, fewer than the {weightBytes} bytes of bf16 weights");
        const int length = 512;
        var input = new ForwardInput(1, length);
        model.ForwardOnDevice(input, Enumerable.Range(0, length).ToArray());
        // The residual stream alone is [length, hidden] f32.
        long? after = model.DeviceMemoryInUse();
        Assert.True(after - before >= 4L * length * c.HiddenSize, $"{after - before} bytes more after a {length}-token forward");
    }

    [IlgpuFact]
    public void RejectsShapesItCannotRun()
    {
        using var checkpoint = DreamCheckpoint.Open(TestData.GoldenModel("tiny-b"));
        var config = checkpoint.Weights.Config with { HiddenSize = 100 };
        Assert.Contains("not a multiple of 32", TensorCoreModel.Supports(config));
    }
}
