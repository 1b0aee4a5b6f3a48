using Dream.Tests.Support;
using Dream.Core.Generation;
using Dream.Core.Model;

namespace Dream.Tests.Generation;

/// <summary>
/// A stand-in for a model that samples on its device: <see cref="FakeForwardModel"/>'s logits, sampled by Core's
/// own TokenSampler and revealed by Core's PositionSelector (lowest position on ties) — so the loop's device path
/// must reproduce its host path bit for bit, which pins the wiring (rows, uniforms drawn in the host's order,
/// per-row counts, origin's coins) independently of float32 kernels. Scratch is allocated once.
/// </summary>
internal sealed class FakeSamplingModel(FakeForwardModel inner) : ISamplingForwardModel
{
    private float[] _logits = [];
    private double[] _confidence = [];
    private int[] _tokens = [];
    public int SampleCalls { get; private set; }
    public int RevealCalls { get; private set; }

    public DreamConfig Config => inner.Config;
    public string BackendName => "fake-sampling";
    public void Forward(ForwardInput input, ReadOnlySpan<int> rows, Span<float> logits) => inner.Forward(input, rows, logits);

    public void ForwardSample(ForwardInput input, ReadOnlySpan<int> rows, SamplingRequest request, ReadOnlySpan<double> uniforms,
        Span<int> tokens, Span<double> confidence)
    {
        SampleCalls++;
        Sample(input, rows, request, uniforms, tokens, confidence);
    }

    public void ForwardSampleReveal(ForwardInput input, ReadOnlySpan<int> positions, ReadOnlySpan<int> rows, ReadOnlySpan<int> rowStart,
        ReadOnlySpan<int> revealCounts, SamplingRequest request, ReadOnlySpan<double> uniforms, Span<int> canvas)
    {
        RevealCalls++;
        int m = rows.Length, length = input.Length;
        if (_tokens.Length < m) { _tokens = new int[m]; _confidence = new double[m]; }
        Sample(input, rows, request, uniforms, _tokens.AsSpan(0, m), _confidence.AsSpan(0, m));
        if (_selector?.Length != length)
        {
            _selector = new PositionSelector(length, PositionTies.LowestPosition);
            _row = new double[length];
            _chosen = new int[length];
        }
        var (selector, row, chosen) = (_selector, _row, _chosen);
        for (int b = 0; b < revealCounts.Length; b++)
        {
            Array.Fill(row, double.NegativeInfinity);
            for (int i = rowStart[b]; i < rowStart[b + 1]; i++) row[positions[i] - b * length] = _confidence[i];
            selector.MostConfident(row, revealCounts[b], chosen);
            for (int r = 0; r < revealCounts[b]; r++)
                for (int i = rowStart[b]; i < rowStart[b + 1]; i++)
                    if (positions[i] == b * length + chosen[r]) canvas[positions[i]] = _tokens[i];
        }
    }

    private PositionSelector? _selector;
    private double[] _row = [];
    private int[] _chosen = [];
    private TokenSampler? _sampler;
    private SamplingRequest _samplerRequest;

    private void Sample(ForwardInput input, ReadOnlySpan<int> rows, SamplingRequest request, ReadOnlySpan<double> uniforms,
        Span<int> tokens, Span<double> confidence)
    {
        int v = Config.VocabSize;
        if (_logits.Length < rows.Length * v) _logits = new float[rows.Length * v];
        inner.Forward(input, rows, _logits.AsSpan(0, rows.Length * v));
        if (_sampler is null || _samplerRequest != request)
        {
            _sampler = TokenSampler.Create(new GenerationOptions
            {
                Algorithm = request.Algorithm, Temperature = request.Temperature, TopP = request.TopP, TopK = request.TopK,
            }, v);
            _samplerRequest = request;
        }
        for (int r = 0; r < rows.Length; r++)
        {
            var s = _sampler.Sample(_logits.AsSpan(r * v, v), request.IsRandom ? uniforms[r] : 0);
            tokens[r] = s.Token;
            confidence[r] = s.Confidence;
        }
    }

    public void Dispose() { }
}

/// <summary>The loop's device-sampling path (<see cref="ISamplingForwardModel"/>) against its host path.</summary>
public class DeviceSamplingLoopTests
{
    public static TheoryData<DecodingAlgorithm, double, double?, int?, double, bool> Settings()
    {
        var data = new TheoryData<DecodingAlgorithm, double, double?, int?, double, bool>();
        foreach (var algorithm in Enum.GetValues<DecodingAlgorithm>())
        {
            data.Add(algorithm, 0, null, null, 0, false);
            data.Add(algorithm, 0.7, 0.9, 5, 0, false);
            data.Add(algorithm, 1.0, null, null, 0.5, false);
            data.Add(algorithm, 0, null, 3, 0, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void Device_path_reproduces_the_host_path(DecodingAlgorithm algorithm, double temperature, double? topP, int? topK,
        double algTemp, bool officialLoop)
    {
        var prompt = new PromptBatch([[1, 2, 3, 11, 4], [5, 6, 11, 7, 8]]);   // masks (id 11) inside the prompts too
        var options = new GenerationOptions
        {
            MaxNewTokens = 9, Steps = 6, Algorithm = algorithm, Temperature = temperature, TopP = topP, TopK = topK,
            AlgTemp = algTemp, Seed = 42, OutputHistory = true,
        };
        if (officialLoop) options = options.AsOfficialLoop();
        var device = new FakeSamplingModel(new FakeForwardModel());
        var onDevice = new DiffusionGenerator(device).Generate(prompt, options);
        var onHost = new DiffusionGenerator(new FakeForwardModel()).Generate(prompt, options);
        Assert.Equal(onHost.Tokens.ToArray(), onDevice.Tokens.ToArray());
        for (int s = 0; s < options.Steps; s++) Assert.Equal(onHost.History![s], onDevice.History![s]);

        bool revealOnDevice = algorithm != DecodingAlgorithm.Origin && algTemp == 0 && !officialLoop;
        Assert.Equal(revealOnDevice ? 0 : options.Steps, device.SampleCalls);
        Assert.Equal(revealOnDevice ? options.Steps : 0, device.RevealCalls);
    }

    [Fact]
    public void A_logits_hook_or_HostSampling_keeps_sampling_on_the_host()
    {
        var device = new FakeSamplingModel(new FakeForwardModel());
        var generator = new DiffusionGenerator(device);
        var options = new GenerationOptions { MaxNewTokens = 4, Steps = 2 };
        generator.Generate(PromptBatch.Single([1]), options, new GenerationHooks { Logits = (_, _, _, _) => { } });
        generator.Generate(PromptBatch.Single([1]), options with { HostSampling = true });
        Assert.Equal(0, device.SampleCalls + device.RevealCalls);
        generator.Generate(PromptBatch.Single([1]), options);
        Assert.Equal(2, device.RevealCalls);
    }

    [Fact]
    public void Device_steps_allocate_nothing_once_the_call_is_set_up()
    {
        var device = new FakeSamplingModel(new FakeForwardModel(vocabSize: 64) { Record = false });
        var generator = new DiffusionGenerator(device);
        var prompt = PromptBatch.Single([1, 2, 3]);
        foreach (var algorithm in Enum.GetValues<DecodingAlgorithm>())
        foreach (double algTemp in new[] { 0.0, 0.5 })
        {
            var options = new GenerationOptions { MaxNewTokens = 40, Algorithm = algorithm, Temperature = 0.5f, TopP = 0.9f, AlgTemp = algTemp, Seed = 1 };
            long extra = Allocations.ForSixtyMoreSteps(steps => generator.Generate(prompt, options with { Steps = steps }));
            Assert.True(extra < Allocations.SixtyStepBound, $"{algorithm} alg_temp {algTemp}: 60 more steps allocated {extra} more bytes");
        }
    }
}
