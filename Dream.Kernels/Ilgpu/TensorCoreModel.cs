using Dream.Core.Checkpoint;
using Dream.Core.Model;
using Dream.Core.Numerics;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Dream's forward pass on tensor cores: bf16 weights, bf16 inputs to every product, f32 accumulation and an f32
/// residual stream — the precision the official bf16 model runs at, except that sums and the residual stay f32.
/// The same composition as <see cref="IlgpuModel"/> and Dream.Reference.ReferenceModel, with the products fused:
///
///   ids [N] → Embedding → h [N, D] f32
///   per layer: a = bf16(RmsNorm(h))                                  RmsNorm.ForwardToBf16
///              qkv = a·[Wq; Wk; Wv]ᵀ + [bq; bk; bv]   [N, W] f32      TensorCoreLinear (Store)
///              q, k rotated, v as is → bf16 [N, W]                    RotaryEmbedding.ApplyToBf16
///              o = Attention(q, k, v) bf16 [N, D]                     FlashAttention
///              h += o·Woᵀ                                             TensorCoreLinear (AddInto)
///              m = bf16(RmsNorm(h))
///              act = bf16(silu(m·Wgᵀ) ∘ (m·Wuᵀ))  [N, F]              TensorCoreLinear (SwiGlu, gate/up interleaved)
///              h += act·Wdᵀ                                           TensorCoreLinear (AddInto)
///   requested rows → RowGather → bf16(RmsNorm_final) → lm_head → logits [rows, V] f32
///   → to the host (<see cref="Forward"/>), or sampled on the device (<see cref="ForwardSample"/>,
///     <see cref="ForwardSampleReveal"/>: <see cref="DeviceSampler"/>)
///
/// Seven launches per layer. Weights are uploaded once as bf16 (q, k, v concatenated; gate and up interleaved in
/// blocks of eight rows); activations live in one <see cref="TensorCoreRunState"/> per (batch, length); one stream
/// (<see cref="IlgpuKernels.Stream"/>). On CUDA the embedding and the layers — everything up to lm_head, whose row
/// count changes every step — are recorded once per run state into a <see cref="CudaGraph"/> and replayed
/// (<see cref="UsesGraphs"/>).
/// On CUDA the products and attention run on tensor cores (wgmma on an H100/H200, mma.sync elsewhere); on the CPU simulator and OpenCL the same
/// kernels take their portable fallbacks, which is how CI tests this model.
/// Needs D and F to be multiples of 32 (every Dream shape is); see <see cref="Supports"/>.
/// </summary>
public sealed class TensorCoreModel : ISamplingForwardModel
{
    private sealed class Layer : IDisposable
    {
        public required MemoryBuffer1D<ushort, Stride1D.Dense> Qkv, O, GateUp, Down;
        public required MemoryBuffer1D<float, Stride1D.Dense> QkvBias, InputNorm, PostNorm;

        public void Dispose()
        {
            foreach (var b in new IDisposable[] { Qkv, O, GateUp, Down, QkvBias, InputNorm, PostNorm }) b.Dispose();
        }
    }

    private readonly IlgpuDevice? _ownedDevice;
    private readonly IlgpuKernels _kernels;
    private readonly FlashAttention.Kernels _attention;
    private readonly DeviceWeight _embedding, _lmHead;
    private readonly bool _tied;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _finalNorm;
    private readonly Layer[] _layers;
    private readonly float _eps;
    private readonly int _rowChunk;   // rows per lm_head product (TensorCoreRunState.MaxRowChunk; tests force fewer)
    private readonly int _samplerChunks;   // chunks per sampled row (0: the sampler picks; tests fix it)
    private TensorCoreRunState? _state;
    private DeviceSampler? _sampler;
    private CudaGraph? _recorded;        // the embedding and layers of _state, recorded (null until recorded)
    private int _recordedGeneration;     // the TMA descriptor generation _recorded was recorded under
    private int _plainRunGeneration = -1; // the generation of the last unrecorded run of _state's layers (-1: none)

    public DreamConfig Config { get; }
    public string BackendName { get; }

    /// <summary>Every product's input is rounded to bf16 (the residual stream and the sums stay f32).</summary>
    public ForwardPrecision Precision => ForwardPrecision.Bf16Inputs;
    public string DeviceName => _kernels.Accelerator.Name;

    /// <summary>
    /// Whether the embedding and layers run as a recorded <see cref="CudaGraph"/> (true by default on CUDA, where
    /// the stream can be captured; always false elsewhere). The first forward of each (batch, length) runs its
    /// launches one by one — it registers the TMA descriptors and lets nothing unrecordable into the graph — and the
    /// second records them. Settable so that a benchmark can time both ways in one process.
    /// </summary>
    public bool UsesGraphs
    {
        get => _usesGraphs;
        set => _usesGraphs = value && CudaGraph.CanCapture(_kernels.Stream);
    }
    private bool _usesGraphs;

    /// <summary>
    /// Bytes of device memory in use on the card as its driver counts them — total − free, through ILGPU's own
    /// binding of `cuMemGetInfo`: the weights, the current run state, the recording, the CUDA context, and anything
    /// else on the card, as nvidia-smi shows it — or null off CUDA. Buffers are allocated once per (batch, length) and
    /// none per step, so read after a length has run this is that length's peak.
    /// </summary>
    public long? DeviceMemoryInUse()
    {
        if (!_kernels.IsCuda) return null;
        _kernels.Accelerator.Bind();   // the driver answers for the calling thread's current context
        CudaException.ThrowIfFailed(CudaAPI.CurrentAPI.GetMemoryInfo(out long free, out long total));
        return total - free;
    }

    /// <summary>Operations in the recorded layers of the current run state (0 when none are recorded).</summary>
    public int RecordedOperations => _recorded?.Operations ?? 0;

    /// <summary>Why <paramref name="config"/> cannot run here, or null when it can.</summary>
    public static string? Supports(DreamConfig config)
    {
        if (config.HiddenSize % TensorCoreLinear.TileIn != 0)
            return $"hidden_size {config.HiddenSize} is not a multiple of {TensorCoreLinear.TileIn}";
        if (config.IntermediateSize % TensorCoreLinear.TileIn != 0)
            return $"intermediate_size {config.IntermediateSize} is not a multiple of {TensorCoreLinear.TileIn}";
        if (config.NumAttentionHeads * config.HeadDim != config.HiddenSize)
            return $"heads × head_dim = {config.NumAttentionHeads * config.HeadDim} differs from hidden_size {config.HiddenSize}";
        return null;
    }

    /// <summary>Opens the device named <paramref name="deviceKind"/> and uploads <paramref name="weights"/>; the model owns the device.</summary>
    public static TensorCoreModel Create(DreamWeights weights, string deviceKind)
    {
        var device = IlgpuDevice.Create(deviceKind);
        IlgpuKernels? kernels = null;
        try
        {
            kernels = new IlgpuKernels(device.Accelerator);
            return new TensorCoreModel(weights, device.Kind, kernels, device);
        }
        catch
        {
            kernels?.Dispose();
            device.Dispose();
            throw;
        }
    }

    /// <summary>Runs on an already loaded kernel set (the caller keeps the device and the kernels).</summary>
    public TensorCoreModel(DreamWeights weights, string backendName, IlgpuKernels kernels) : this(weights, backendName, kernels, null) { }

    /// <summary>As the public constructor, with lm_head taking at most <paramref name="rowChunk"/> rows per product and
    /// the device sampler cutting each row into <paramref name="samplerChunks"/> chunks (tests of the chunking).</summary>
    internal TensorCoreModel(DreamWeights weights, string backendName, IlgpuKernels kernels, int rowChunk, int samplerChunks)
        : this(weights, backendName, kernels, null, rowChunk, samplerChunks) { }

    private TensorCoreModel(DreamWeights weights, string backendName, IlgpuKernels kernels, IlgpuDevice? ownedDevice,
        int rowChunk = TensorCoreRunState.MaxRowChunk, int samplerChunks = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowChunk, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(samplerChunks);
        _rowChunk = rowChunk;
        _samplerChunks = samplerChunks;
        var c = weights.Config;
        if (Supports(c) is { } reason) throw new ArgumentException($"the tensor-core model cannot run this configuration: {reason}", nameof(weights));
        Config = c;
        BackendName = backendName;
        _kernels = kernels;
        _ownedDevice = ownedDevice;
        _eps = (float)c.RmsNormEps;
        var acc = kernels.Accelerator;
        _attention = new FlashAttention.Kernels(acc, stream: kernels.Stream);
        UsesGraphs = true;
        _embedding = DeviceWeight.FromBf16(acc, Bf16Bits(weights.Embedding));
        _tied = weights.LmHead.Address == weights.Embedding.Address;
        _lmHead = _tied ? _embedding : DeviceWeight.FromBf16(acc, Bf16Bits(weights.LmHead));
        _finalNorm = acc.Allocate1D<float>(weights.FinalNorm.ToFloat32());
        _layers = weights.Layers.Select(l => new Layer
        {
            InputNorm = acc.Allocate1D<float>(l.InputNorm.ToFloat32()),
            Qkv = acc.Allocate1D([.. Bf16Bits(l.QProj), .. Bf16Bits(l.KProj), .. Bf16Bits(l.VProj)]),
            QkvBias = acc.Allocate1D<float>([.. l.QBias.ToFloat32(), .. l.KBias.ToFloat32(), .. l.VBias.ToFloat32()]),
            O = acc.Allocate1D(Bf16Bits(l.OProj)),
            PostNorm = acc.Allocate1D<float>(l.PostAttentionNorm.ToFloat32()),
            GateUp = acc.Allocate1D(TensorCoreLinear.InterleaveGateUp(Bf16Bits(l.GateProj), Bf16Bits(l.UpProj), c.IntermediateSize, c.HiddenSize)),
            Down = acc.Allocate1D(Bf16Bits(l.DownProj)),
        }).ToArray();
        acc.Synchronize();
    }

    /// <summary>A weight as bf16 bits: bf16 checkpoints as stored, f32/f16 rounded to nearest even.</summary>
    private static ushort[] Bf16Bits(TensorView tensor) =>
        tensor.DType == TensorDType.BF16 ? tensor.As<ushort>().ToArray() : tensor.ToFloat32().Select(BFloat16.FromFloat).ToArray();

    public void Forward(ForwardInput input, ReadOnlySpan<int> rows, Span<float> logits)
    {
        ForwardChecks.Validate(Config, input, rows, logits.Length);
        Run(input, rows, logits, null, copyLogits: true);
    }

    /// <summary>
    /// The same forward with the logits left on the device (each chunk of <see cref="TensorCoreRunState.MaxRowChunk"/>
    /// rows overwrites the last): what a benchmark against PyTorch times, whose logits also stay on the GPU.
    /// </summary>
    public void ForwardOnDevice(ForwardInput input, ReadOnlySpan<int> rows)
    {
        ForwardChecks.Validate(Config, input, rows, (long)rows.Length * Config.VocabSize);
        Run(input, rows, default, null, copyLogits: false);
    }

    /// <summary>Forward, then `sample_tokens` on the device for every requested row (<see cref="DeviceSampler"/>).</summary>
    public void ForwardSample(ForwardInput input, ReadOnlySpan<int> rows, SamplingRequest request, ReadOnlySpan<double> uniforms,
        Span<int> tokens, Span<double> confidence)
    {
        ForwardChecks.Validate(Config, input, rows, (long)rows.Length * Config.VocabSize);
        var sampler = _sampler ??= new DeviceSampler(_kernels, Config.VocabSize, _samplerChunks);
        sampler.Begin(request, rows.Length, uniforms);
        Run(input, rows, default, sampler, copyLogits: false);
        sampler.Download(tokens, confidence);
    }

    /// <summary>Forward, sample, and reveal on the device; the device canvas is the run state's ids, which hold
    /// exactly the canvas just forwarded (the next forward uploads the host canvas again).</summary>
    public void ForwardSampleReveal(ForwardInput input, ReadOnlySpan<int> positions, ReadOnlySpan<int> rows, ReadOnlySpan<int> rowStart,
        ReadOnlySpan<int> revealCounts, SamplingRequest request, ReadOnlySpan<double> uniforms, Span<int> canvas)
    {
        ForwardChecks.Validate(Config, input, rows, (long)rows.Length * Config.VocabSize);
        DeviceSampler.CheckReveal(input, positions, rows, revealCounts);
        var sampler = _sampler ??= new DeviceSampler(_kernels, Config.VocabSize, _samplerChunks);
        sampler.Begin(request, rows.Length, uniforms);
        sampler.PrepareReveal(positions, rowStart, revealCounts);
        var s = Run(input, rows, default, sampler, copyLogits: false);
        sampler.Reveal(s.Inputs, canvas);
    }

    /// <summary>The layers, then per chunk of requested rows the final norm and lm_head, whose logits go to the host
    /// (<paramref name="copyLogits"/>), to the <paramref name="sampler"/>, or nowhere.</summary>
    private TensorCoreRunState Run(ForwardInput input, ReadOnlySpan<int> rows, Span<float> logits, DeviceSampler? sampler, bool copyLogits)
    {
        var c = Config;
        int d = c.HiddenSize;
        var k = _kernels;
        var s = _state is { } st && st.Batch == input.Batch && st.Length == input.Length ? st : NewState(input.Batch, input.Length);
        s.Inputs.Upload(input);
        // The first chunk's row ids go up now, while the stream is idle: a copy from pageable memory after the
        // layers would wait for all of them and leave the device idle until the host launched lm_head.
        var stream = k.Stream;
        int firstChunk = Math.Min(s.RowCapacity, rows.Length);
        if (firstChunk > 0) s.Rows.SubView(0, firstChunk).CopyFromCPU(stream, rows[..firstChunk]);

        Layers(s, input.Batch, input.Length);

        // lm_head over the requested rows only, a chunk of rows at a time (the chunk buffers are fixed).
        int vocab = c.VocabSize;
        for (int start = 0; start < rows.Length; start += s.RowCapacity)
        {
            int count = Math.Min(s.RowCapacity, rows.Length - start);
            var rowIds = s.Rows.SubView(0, count);
            if (start > 0) rowIds.CopyFromCPU(stream, rows.Slice(start, count));
            RowGather.Forward(k, s.H, rowIds, s.Selected, count, d);
            RmsNorm.ForwardToBf16(k, s.Selected, _finalNorm.View, _eps, s.SelectedBf16, count, d);
            TensorCoreLinear.Forward(k, s.SelectedBf16, _lmHead.Bf16, null, LinearEpilogue.Store, s.Logits, default, count, d, vocab);
            if (sampler is not null) sampler.Sample(s.Logits, start, count);
            else if (copyLogits) s.Logits.SubView(0, (long)count * vocab).CopyToCPU(stream, logits.Slice(start * vocab, count * vocab));
        }
        // With a sampler its download or reveal waits for the device; otherwise the caller gets a finished forward.
        if (sampler is null) k.Accelerator.Synchronize();
        return s;
    }

    /// <summary>
    /// The embedding and every layer over the run state's inputs: replayed from the recording when there is a current
    /// one; recorded when an unrecorded run under the same descriptor generation has already registered every TMA
    /// descriptor these launches use; otherwise launched one by one (always, with <see cref="UsesGraphs"/> off).
    /// </summary>
    private void Layers(TensorCoreRunState s, int batch, int length)
    {
        int generation = DescriptorGeneration;
        if (UsesGraphs)
        {
            if (_recorded is { } recorded && _recordedGeneration == generation)
            {
                recorded.Launch();
                return;
            }
            _recorded?.Dispose();
            _recorded = null;
            if (_plainRunGeneration == generation)
            {
                _recorded = CudaGraph.Capture(_kernels.Stream, () => LaunchLayers(s, batch, length));
                _recordedGeneration = generation;
                _recorded.Launch();
                return;
            }
        }
        LaunchLayers(s, batch, length);
        _plainRunGeneration = DescriptorGeneration;   // the run itself may have started the table over
    }

    /// <summary>The TMA descriptor table's generation (0 where no wgmma kernel reads descriptors).</summary>
    private int DescriptorGeneration => _kernels.WarpGroupLinear?.DescriptorGeneration ?? 0;

    /// <summary>ids [N] → h [N, D] f32 through every layer (the composition in the class summary), launched on the kernels' stream.</summary>
    private void LaunchLayers(TensorCoreRunState s, int batch, int length)
    {
        var c = Config;
        int n = batch * length, d = c.HiddenSize, f = c.IntermediateSize, kv = c.KvDim, dh = c.HeadDim;
        int qkvWidth = d + 2 * kv;
        var k = _kernels;
        Embedding.Forward(k, _embedding, s.Inputs.Ids, s.H, n, d);
        foreach (var layer in _layers)
        {
            RmsNorm.ForwardToBf16(k, s.H, layer.InputNorm.View, _eps, s.A, n, d);
            TensorCoreLinear.Forward(k, s.A, layer.Qkv.View, layer.QkvBias.View, LinearEpilogue.Store, s.Qkv, default, n, d, qkvWidth, s.Workspace);
            RotaryEmbedding.ApplyToBf16(k, s.Qkv, s.Inputs.Cos, s.Inputs.Sin, s.QkvBf16, n, c.NumAttentionHeads, c.NumKeyValueHeads, dh);
            FlashAttention.Forward(_attention, s.QkvBf16, s.QkvBf16.SubView(d), s.QkvBf16.SubView(d + kv), qkvWidth, qkvWidth,
                s.Inputs.IsReal, s.Attn, batch, length, c.NumAttentionHeads, c.NumKeyValueHeads, dh);
            TensorCoreLinear.Forward(k, s.Attn, layer.O.View, null, LinearEpilogue.AddInto, s.H, default, n, d, d, s.Workspace);

            RmsNorm.ForwardToBf16(k, s.H, layer.PostNorm.View, _eps, s.A, n, d);
            TensorCoreLinear.Forward(k, s.A, layer.GateUp.View, null, LinearEpilogue.SwiGlu, default, s.Act, n, d, 2 * f, s.Workspace);
            TensorCoreLinear.Forward(k, s.Act, layer.Down.View, null, LinearEpilogue.AddInto, s.H, default, n, f, d, s.Workspace);
        }
    }

    private TensorCoreRunState NewState(int batch, int length)
    {
        _recorded?.Dispose();
        _recorded = null;
        _plainRunGeneration = -1;
        _state?.Dispose();
        _state = null;
        _state = new TensorCoreRunState(_kernels, Config, batch, length, _rowChunk);
        return _state;
    }

    public void Dispose()
    {
        _recorded?.Dispose();
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
