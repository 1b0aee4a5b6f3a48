using Dream.Core.Model;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Dream's forward pass on an ILGPU accelerator (CUDA, OpenCL or the CPU simulator), composed from the kernels
/// in this folder exactly as Dream.Reference.ReferenceModel composes the plain ops:
///
///   ids [B·T] → Embedding → h [B·T, D]
///   per layer: a = RmsNorm(h); q,k,v = Linear(a) (+bias); RoPE(q,k); o = Attention(q,k,v); h += Linear(o)
///              m = RmsNorm(h); h += Linear_down(SwiGlu(Linear_gate(m), Linear_up(m)))
///   requested rows → RowGather → RmsNorm_final → Linear_lm_head → logits [rows, V]
///   → to the host (<see cref="Forward"/>), or sampled on the device (<see cref="ForwardSample"/>,
///     <see cref="ForwardSampleReveal"/>: <see cref="DeviceSampler"/>)
///
/// Weights are uploaded once (bf16 kept as bf16, f32 as f32); activations live in one <see cref="IlgpuRunState"/>
/// allocated per (batch, length); everything runs on the accelerator's default stream.
/// </summary>
public sealed class IlgpuModel : ISamplingForwardModel
{
    private sealed class Layer : IDisposable
    {
        public required DeviceWeight Q, K, V, O, Gate, Up, Down;
        public required MemoryBuffer1D<float, Stride1D.Dense> InputNorm, QBias, KBias, VBias, PostNorm;

        public void Dispose()
        {
            foreach (var w in new[] { Q, K, V, O, Gate, Up, Down }) w.Dispose();
            foreach (var b in new[] { InputNorm, QBias, KBias, VBias, PostNorm }) b.Dispose();
        }
    }

    private readonly IlgpuDevice? _ownedDevice;
    private readonly IlgpuKernels _kernels;
    private readonly DeviceWeight _embedding, _lmHead;
    private readonly bool _tied;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _finalNorm;
    private readonly Layer[] _layers;
    private readonly float _eps;
    private IlgpuRunState? _state;
    private DeviceSampler? _sampler;

    public DreamConfig Config { get; }
    /// <summary>"cuda", "opencl" or "ilgpu-cpu".</summary>
    public string BackendName { get; }
    /// <summary>The accelerator's name, e.g. "NVIDIA H100 80GB HBM3".</summary>
    public string DeviceName => _kernels.Accelerator.Name;

    /// <summary>Opens the device named <paramref name="deviceKind"/> and uploads <paramref name="weights"/>; the model owns the device.</summary>
    public static IlgpuModel Create(DreamWeights weights, string deviceKind)
    {
        var device = IlgpuDevice.Create(deviceKind);
        try { return new IlgpuModel(weights, device.Kind, new IlgpuKernels(device.Accelerator), device); }
        catch { device.Dispose(); throw; }
    }

    /// <summary>Runs on an already loaded kernel set (the caller keeps the device and the kernels).</summary>
    public IlgpuModel(DreamWeights weights, string backendName, IlgpuKernels kernels) : this(weights, backendName, kernels, null) { }

    private IlgpuModel(DreamWeights weights, string backendName, IlgpuKernels kernels, IlgpuDevice? ownedDevice)
    {
        Config = weights.Config;
        BackendName = backendName;
        _kernels = kernels;
        _ownedDevice = ownedDevice;
        _eps = (float)Config.RmsNormEps;
        var acc = kernels.Accelerator;
        _embedding = DeviceWeight.Upload(acc, weights.Embedding);
        _tied = weights.LmHead.Address == weights.Embedding.Address;
        _lmHead = _tied ? _embedding : DeviceWeight.Upload(acc, weights.LmHead);
        _finalNorm = UploadFloat32(acc, weights.FinalNorm);
        _layers = weights.Layers.Select(l => new Layer
        {
            InputNorm = UploadFloat32(acc, l.InputNorm),
            Q = DeviceWeight.Upload(acc, l.QProj), QBias = UploadFloat32(acc, l.QBias),
            K = DeviceWeight.Upload(acc, l.KProj), KBias = UploadFloat32(acc, l.KBias),
            V = DeviceWeight.Upload(acc, l.VProj), VBias = UploadFloat32(acc, l.VBias),
            O = DeviceWeight.Upload(acc, l.OProj),
            PostNorm = UploadFloat32(acc, l.PostAttentionNorm),
            Gate = DeviceWeight.Upload(acc, l.GateProj), Up = DeviceWeight.Upload(acc, l.UpProj), Down = DeviceWeight.Upload(acc, l.DownProj),
        }).ToArray();
        acc.Synchronize();
    }

    // Norm weights and biases are small: always f32 on the device.
    private static MemoryBuffer1D<float, Stride1D.Dense> UploadFloat32(Accelerator acc, Dream.Core.Checkpoint.TensorView tensor)
    {
        var buffer = acc.Allocate1D<float>(tensor.ElementCount);
        buffer.View.CopyFromCPU(acc.DefaultStream, (ReadOnlySpan<float>)tensor.ToFloat32());
        return buffer;
    }

    public void Forward(ForwardInput input, ReadOnlySpan<int> rows, Span<float> logits)
    {
        ForwardChecks.Validate(Config, input, rows, logits.Length);
        Run(input, rows, logits, null);
    }

    /// <summary>The forward pass; the requested rows' logits go to <paramref name="logits"/> on the host, or,
    /// with a <paramref name="sampler"/>, to it on the device (<see cref="EmitLogits"/>).</summary>
    private IlgpuRunState Run(ForwardInput input, ReadOnlySpan<int> rows, Span<float> logits, DeviceSampler? sampler)
    {
        var c = Config;
        int n = input.Batch * input.Length, d = c.HiddenSize, f = c.IntermediateSize, kv = c.KvDim, dh = c.HeadDim;
        var k = _kernels;
        var s = _state is { } st && st.Batch == input.Batch && st.Length == input.Length ? st : NewState(input.Batch, input.Length);
        s.Upload(input);

        Embedding.Forward(k, _embedding, s.Ids, s.H, n, d);
        foreach (var layer in _layers)
        {
            RmsNorm.Forward(k, s.H, layer.InputNorm.View, _eps, s.A, n, d);
            Linear.Forward(k, s.A, layer.Q, layer.QBias.View, s.Q, n, d, d);
            Linear.Forward(k, s.A, layer.K, layer.KBias.View, s.K, n, d, kv);
            Linear.Forward(k, s.A, layer.V, layer.VBias.View, s.V, n, d, kv);
            RotaryEmbedding.Apply(k, s.Q, s.Cos, s.Sin, n, c.NumAttentionHeads, dh);
            RotaryEmbedding.Apply(k, s.K, s.Cos, s.Sin, n, c.NumKeyValueHeads, dh);
            Attention.Forward(k, s.Q, s.K, s.V, s.IsReal, s.Attn, input.Batch, input.Length, c.NumAttentionHeads, c.NumKeyValueHeads, dh);
            Linear.Forward(k, s.Attn, layer.O, null, s.Delta, n, d, d);
            ResidualAdd.Forward(k, s.H, s.Delta, n * d);

            RmsNorm.Forward(k, s.H, layer.PostNorm.View, _eps, s.A, n, d);
            Linear.Forward(k, s.A, layer.Gate, null, s.Gate, n, d, f);
            Linear.Forward(k, s.A, layer.Up, null, s.Up, n, d, f);
            SwiGlu.Forward(k, s.Gate, s.Up, s.Gate, n * f);
            Linear.Forward(k, s.Gate, layer.Down, null, s.Delta, n, f, d);
            ResidualAdd.Forward(k, s.H, s.Delta, n * d);
        }

        EmitLogits(s, rows, logits, sampler);
        return s;
    }

    /// <summary>
    /// The tail of the forward pass: RowGather → RmsNorm_final → lm_head over the requested rows only, a chunk
    /// of at most <see cref="IlgpuRunState.RowCapacity"/> rows at a time (the chunk buffers are fixed); each chunk's
    /// logits [count, V] are copied to <paramref name="logits"/> or, with a <paramref name="sampler"/>, sampled on
    /// the device into its rows start .. start + count − 1.
    /// </summary>
    private void EmitLogits(IlgpuRunState s, ReadOnlySpan<int> rows, Span<float> logits, DeviceSampler? sampler)
    {
        var k = _kernels;
        int d = Config.HiddenSize, vocab = Config.VocabSize;
        for (int start = 0; start < rows.Length; start += s.RowCapacity)
        {
            int count = Math.Min(s.RowCapacity, rows.Length - start);
            var rowIds = s.Rows.SubView(0, count);
            rowIds.CopyFromCPU(k.Stream, rows.Slice(start, count));
            RowGather.Forward(k, s.H, rowIds, s.Selected, count, d);
            RmsNorm.Forward(k, s.Selected, _finalNorm.View, _eps, s.Selected, count, d);
            Linear.Forward(k, s.Selected, _lmHead, null, s.Logits, count, d, vocab);
            if (sampler is not null) sampler.Sample(s.Logits, start, count);
            else s.Logits.SubView(0, (long)count * vocab).CopyToCPU(k.Stream, logits.Slice(start * vocab, count * vocab));
        }
        k.Accelerator.Synchronize();
    }

    /// <summary>Forward, then `sample_tokens` on the device for every requested row (<see cref="DeviceSampler"/>).</summary>
    public void ForwardSample(ForwardInput input, ReadOnlySpan<int> rows, SamplingRequest request, ReadOnlySpan<double> uniforms,
        Span<int> tokens, Span<double> confidence)
    {
        ForwardChecks.Validate(Config, input, rows, (long)rows.Length * Config.VocabSize);
        var sampler = _sampler ??= new DeviceSampler(_kernels, Config.VocabSize);
        sampler.Begin(request, rows.Length, uniforms);
        Run(input, rows, default, sampler);
        sampler.Download(tokens, confidence);
    }

    /// <summary>Forward, sample, and reveal on the device; the device canvas is the run state's ids, which hold
    /// exactly the canvas just forwarded (the next forward uploads the host canvas again).</summary>
    public void ForwardSampleReveal(ForwardInput input, ReadOnlySpan<int> positions, ReadOnlySpan<int> rows, ReadOnlySpan<int> rowStart,
        ReadOnlySpan<int> revealCounts, SamplingRequest request, ReadOnlySpan<double> uniforms, Span<int> canvas)
    {
        ForwardChecks.Validate(Config, input, rows, (long)rows.Length * Config.VocabSize);
        DeviceSampler.CheckReveal(input, positions, rows, revealCounts);
        var sampler = _sampler ??= new DeviceSampler(_kernels, Config.VocabSize);
        sampler.Begin(request, rows.Length, uniforms);
        sampler.PrepareReveal(positions, rowStart, revealCounts);
        var s = Run(input, rows, default, sampler);
        sampler.Reveal(s.Inputs, canvas);
    }

    private IlgpuRunState NewState(int batch, int length)
    {
        _state?.Dispose();
        _state = null;
        _state = new IlgpuRunState(_kernels, Config, batch, length);
        return _state;
    }

    public void Dispose()
    {
        _state?.Dispose();
        _sampler?.Dispose();
        foreach (var l in _layers) l.Dispose();
        _embedding.Dispose();
        if (!_tied) _lmHead.Dispose();
        _finalNorm.Dispose();
        if (_ownedDevice is not null)
        {
            _kernels.Dispose();
            _ownedDevice.Dispose();
        }
    }
}
