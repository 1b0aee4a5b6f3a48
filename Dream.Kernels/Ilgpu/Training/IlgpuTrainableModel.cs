using Dream.Core.Model;
using Dream.Core.Training;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// The trainer on an ILGPU device: the same forward and backward as Dream.Reference's TrainableModel (its
/// oracle, pinned by a test) and Dream.Kernels.Training's CpuTrainableModel, in float32 over N = B·T stacked rows,
/// with the optimizer on the device too (<see cref="IDeviceTrainingStep"/>).
///
///   ids [N] → embed → h₀ [N, D]
///   layer l: a = RmsNorm(h_l) (keeps 1/rms); q,k,v = Linear(a); RoPE; o = Attention (keeps P [B,H,T,T]);
///            hMid = h_l + Linear_o(o); m = RmsNorm(hMid); act = SwiGlu(Linear_gate(m), Linear_up(m));
///            h_{l+1} = hMid + Linear_down(act)
///   loss rows: sel [R, D] = h_L[rows] → RmsNorm_final → lm_head → logits [R, V] → weighted cross-entropy
///   backward: the chain in reverse, dh [N, D] the running total; then ‖g‖ (P partials read back), AdamW.
///
/// Parameters, gradients and both moments are four flat device buffers (matrices first, so AdamW is two
/// launches: with and without weight decay); with tied embeddings lm_head is the embedding's view. Activation
/// buffers are sized once per (B, T) — R ≤ N, so the varying number of loss rows needs no reallocation — and a
/// step allocates nothing on the device. Host round trips per step: the batch up (ids, loss rows, targets,
/// weights, the rows grouped by id), the loss and the norm's partials down.
/// </summary>
public sealed class IlgpuTrainableModel : ITrainableModel<float>, IDeviceTrainingStep, IDisposable
{
    private sealed class Layer<T> where T : unmanaged
    {
        public ArrayView<T> InputNorm, QProj, QBias, KProj, KBias, VProj, VBias, OProj, PostAttentionNorm, GateProj, UpProj, DownProj;
    }

    private sealed class Views<T> where T : unmanaged
    {
        public ArrayView<T> Embedding, FinalNorm, LmHead;
        public Layer<T>[] Layers = [];
    }

    private sealed class Tape
    {
        public ArrayView<float> A, InvRms1, Q, K, V, P, Attn, HMid, M, InvRms2, Gate, Up, Act;
        /// <summary>bf16 copies of the Linear inputs (mixed precision only; empty otherwise).</summary>
        public ArrayView<ushort> A16, Attn16, M16, Act16;
        /// <summary>bf16 attention operands (mixed precision with tensor-core attention): q, k after RoPE, v, and P [B, H, T, T'].</summary>
        public ArrayView<ushort> Q16, K16, V16, P16;
    }

    private readonly TrainingKernels _k;
    private readonly Accelerator _acc;
    private readonly DreamParameters<float> _host;
    private readonly long[] _offsets;                 // per tensor of Parameters.Tensors, into the flat buffers
    private readonly long _matrixElements;            // matrices occupy [0, this)
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _theta, _grad, _m, _v;
    private readonly MemoryBuffer1D<ushort, Stride1D.Dense>? _theta16;   // bf16 copy of the parameters, refreshed each step (mixed precision)
    private readonly Views<float> _p, _g;
    private readonly Views<ushort>? _p16;
    private readonly bool _bf16;
    private readonly bool _bf16Attention;             // attention's six products on tensor cores too (bf16 and the head width fits)
    private DeviceBuffers? _buffers;   // the shape-dependent buffers, replaced when (B, T) changes
    private int _batch, _tokens;                      // the shape the activations were sized for

    // activations and gradients, [N, ·] unless noted
    private ArrayView<int> _ids, _order, _starts, _rows, _targets;    // [N], [N], [V + 1], [R ≤ N], [R]
    private ArrayView<float> _weights, _cos, _sin, _sel, _normed, _invRmsFinal, _logits, _dLogits, _terms, _loss;
    private ArrayView<float>[] _h = [];               // L + 1 residual streams
    private Tape[] _tapes = [];
    private ArrayView<float> _dh, _dAct, _dGate, _dUp, _dM, _dAttn, _dq, _dk, _dv, _dA, _dSel, _dNormed, _dScores, _dHeads, _normPartials;
    private ArrayView<ushort> _dy16;                  // mixed precision: the output gradient of the Linear being differentiated, in bf16
    private ArrayView<ushort> _dScores16;             // tensor-core attention: dS [B, H, T, T'] in bf16
    private int[] _hostOrder = [], _hostStarts = [];
    private int _longestToken;                                      // most rows one token id holds in the batch
    private float[] _hostWeights = [], _hostNorm = [];
    private readonly float[] _hostLoss = new float[1];

    public DreamParameters<float> Parameters => _host;
    public bool Causal { get; }
    public DreamConfig Config => _host.Config;
    /// <summary>What the Linear products multiply in (<see cref="TrainingPrecision"/>).</summary>
    public TrainingPrecision Precision { get; }

    /// <summary>
    /// When set, every phase of a step is followed by a device synchronisation and its wall time is added here
    /// (forward linear, attention, other forward ops, loss, backward linear, …, optimizer): a per-phase profile for
    /// benchmarks. The synchronisations slow the step down; leave it null for training.
    /// </summary>
    public Dictionary<string, double>? Profile { get; set; }
    private readonly System.Diagnostics.Stopwatch _clock = new();

    /// <param name="precision">
    /// <see cref="TrainingPrecision.BFloat16"/>: Linear products on tensor cores with bf16 operands (on CUDA the
    /// hidden, kv and ffn widths must be multiples of 8); parameters, gradients and AdamW stay f32. lm_head (R × D × V,
    /// well under 0.1% of the step's FLOPs; the 9×9 vocabulary of 14 makes rows that are not 16-byte multiples) stays f32.
    /// </param>
    public IlgpuTrainableModel(TrainingKernels kernels, DreamParameters<float> parameters, bool causal = false,
        TrainingPrecision precision = TrainingPrecision.Float32)
    {
        _k = kernels;
        _acc = kernels.Accelerator;
        _host = parameters;
        Causal = causal;
        Precision = precision;
        _bf16 = precision == TrainingPrecision.BFloat16;
        var cfg = parameters.Config;
        _bf16Attention = _bf16 && Attention.TensorCoresFit(kernels, cfg.HeadDim);
        if (_bf16 && kernels.IsCuda && new[] { cfg.HiddenSize, cfg.KvDim, cfg.IntermediateSize }.Any(w => w % 8 != 0))
            throw new ArgumentException($"bf16 training on CUDA needs hidden ({cfg.HiddenSize}), kv ({cfg.KvDim}) and ffn ({cfg.IntermediateSize}) " +
                "widths that are multiples of 8 (16-byte rows for the tensor-core copies); use --precision f32");
        var tensors = parameters.Tensors;
        _offsets = new long[tensors.Count];
        long at = 0;
        foreach (bool matrices in new[] { true, false })
            for (int i = 0; i < tensors.Count; i++)
                if (tensors[i].IsMatrix == matrices)
                {
                    _offsets[i] = at;
                    at += tensors[i].Data.Length;
                    if (matrices) _matrixElements = at;
                }
        _theta = _acc.Allocate1D<float>(at);
        _grad = _acc.Allocate1D<float>(at);
        _m = _acc.Allocate1D<float>(at);
        _v = _acc.Allocate1D<float>(at);
        _m.MemSetToZero();
        _v.MemSetToZero();
        _p = MakeViews<float>(_theta.View);
        _g = MakeViews<float>(_grad.View);
        if (_bf16)
        {
            _theta16 = _acc.Allocate1D<ushort>(at);
            _p16 = MakeViews<ushort>(_theta16.View);
        }
        UploadParameters();
    }

    private Views<T> MakeViews<T>(ArrayView<T> flat) where T : unmanaged
    {
        var index = new Dictionary<float[], int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _host.Tensors.Count; i++) index[_host.Tensors[i].Data] = i;
        ArrayView<T> V(float[] array) => flat.SubView(_offsets[index[array]], array.Length);
        return new Views<T>
        {
            Embedding = V(_host.Embedding), FinalNorm = V(_host.FinalNorm), LmHead = V(_host.LmHead),
            Layers = _host.Layers.Select(l => new Layer<T>
            {
                InputNorm = V(l.InputNorm), QProj = V(l.QProj), QBias = V(l.QBias), KProj = V(l.KProj), KBias = V(l.KBias),
                VProj = V(l.VProj), VBias = V(l.VBias), OProj = V(l.OProj), PostAttentionNorm = V(l.PostAttentionNorm),
                GateProj = V(l.GateProj), UpProj = V(l.UpProj), DownProj = V(l.DownProj),
            }).ToArray(),
        };
    }

    /// <summary>
    /// The oracle contract: uploads the host parameters, runs forward and backward, and adds the gradients into
    /// <paramref name="gradients"/> (host). Training proper goes through <see cref="Step"/>.
    /// </summary>
    public double LossAndGradients(TrainingBatch batch, DreamParameters<float> gradients)
    {
        UploadParameters();
        double loss = ForwardBackward(batch);
        var staging = new float[_host.Tensors.Max(t => t.Data.Length)];
        for (int i = 0; i < _host.Tensors.Count; i++)
        {
            var target = gradients.Tensors[i].Data;
            _grad.View.SubView(_offsets[i], target.Length).CopyToCPU(_acc.DefaultStream, staging.AsSpan(0, target.Length));
            for (int j = 0; j < target.Length; j++) target[j] += staging[j];
        }
        return loss;
    }

    public (double Loss, double GradientNorm) Step(TrainingBatch batch, Core.Training.AdamW optimizer, double learningRate, double clipNorm)
    {
        double loss = ForwardBackward(batch);
        Mark("backward: rest");
        double norm = GradientClipping.Norm(_k, _grad.View, _normPartials, _hostNorm);
        double scale = clipNorm / (norm + 1e-6);
        optimizer.Updates++;
        double correction1 = 1 - Math.Pow(optimizer.Beta1, optimizer.Updates);
        double correction2 = 1 - Math.Pow(optimizer.Beta2, optimizer.Updates);
        var step = new AdamWStep
        {
            StepSize = (float)(learningRate / correction1), RootCorrection2 = (float)Math.Sqrt(correction2),
            Beta1 = (float)optimizer.Beta1, Beta2 = (float)optimizer.Beta2, Epsilon = (float)optimizer.Epsilon,
            GradientScale = scale < 1 ? (float)scale : 1f,
        };
        long vectors = _theta.Length - _matrixElements;
        AdamW.Step(_k, _theta.View.SubView(0, _matrixElements), _grad.View.SubView(0, _matrixElements), _m.View.SubView(0, _matrixElements),
            _v.View.SubView(0, _matrixElements), step with { Decay = (float)(1 - learningRate * optimizer.WeightDecay) });
        if (vectors > 0)
            AdamW.Step(_k, _theta.View.SubView(_matrixElements, vectors), _grad.View.SubView(_matrixElements, vectors),
                _m.View.SubView(_matrixElements, vectors), _v.View.SubView(_matrixElements, vectors), step with { Decay = 1f });
        Mark("optimizer (norm, AdamW)");
        return (loss, norm);
    }

    public void DownloadState(Core.Training.AdamW optimizer)
    {
        _acc.Synchronize();
        Copy(_theta, _host, down: true);
        Copy(_m, optimizer.FirstMoment, down: true);
        Copy(_v, optimizer.SecondMoment, down: true);
    }

    public void UploadState(Core.Training.AdamW optimizer)
    {
        Copy(_theta, _host, down: false);
        Copy(_m, optimizer.FirstMoment, down: false);
        Copy(_v, optimizer.SecondMoment, down: false);
        _acc.Synchronize();
    }

    private void UploadParameters()
    {
        Copy(_theta, _host, down: false);
        _acc.Synchronize();
    }

    private void Copy(MemoryBuffer1D<float, Stride1D.Dense> flat, DreamParameters<float> host, bool down)
    {
        for (int i = 0; i < host.Tensors.Count; i++)
        {
            var data = host.Tensors[i].Data;
            var view = flat.View.SubView(_offsets[i], data.Length);
            if (down) view.CopyToCPU(_acc.DefaultStream, data);
            else view.CopyFromCPU(_acc.DefaultStream, data);
        }
    }

    /// <summary>Zeroes the gradients, runs forward and backward over the batch, returns the loss.</summary>
    private double ForwardBackward(TrainingBatch batch)
    {
        if (batch.Times is null || batch.Ids.Length != batch.Batch * batch.Length) throw new ArgumentException("malformed batch");
        Allocate(batch.Batch, batch.Length);
        if (Profile is not null) { _acc.Synchronize(); _clock.Restart(); }
        UploadBatch(batch);
        _grad.View.MemSetToZero(_acc.DefaultStream);
        if (_bf16) CastToBf16.Run(_k, _theta.View, _theta16!.View, _theta.Length);
        Mark("batch upload, zero gradients, weights to bf16");
        Forward(batch.Rows.Length);
        Backward(batch.Rows.Length);
        _loss.SubView(0, 1).CopyToCPU(_acc.DefaultStream, _hostLoss);
        return _hostLoss[0];
    }

    private void UploadBatch(TrainingBatch batch)
    {
        int n = batch.Ids.Length, r = batch.Rows.Length, vocab = Config.VocabSize;
        var stream = _acc.DefaultStream;
        _ids.SubView(0, n).CopyFromCPU(stream, batch.Ids);
        Embedding.Index(batch.Ids, vocab, _hostOrder, _hostStarts);
        _longestToken = 0;
        for (int id = 0; id < vocab; id++) _longestToken = Math.Max(_longestToken, _hostStarts[id + 1] - _hostStarts[id]);
        _order.SubView(0, n).CopyFromCPU(stream, _hostOrder.AsSpan(0, n));
        _starts.SubView(0, vocab + 1).CopyFromCPU(stream, _hostStarts.AsSpan(0, vocab + 1));
        if (r == 0) return;
        for (int i = 0; i < r; i++) _hostWeights[i] = (float)batch.Weights[i];
        _rows.SubView(0, r).CopyFromCPU(stream, batch.Rows);
        _targets.SubView(0, r).CopyFromCPU(stream, batch.Targets);
        _weights.SubView(0, r).CopyFromCPU(stream, _hostWeights.AsSpan(0, r));
    }

    private void Forward(int r)
    {
        var c = Config;
        int b = _batch, t = _tokens, n = b * t, d = c.HiddenSize, f = c.IntermediateSize, kv = c.KvDim;
        int heads = c.NumAttentionHeads, kvHeads = c.NumKeyValueHeads, dh = c.HeadDim;
        float eps = (float)c.RmsNormEps;
        var stream = _acc.DefaultStream;
        const string Linears = "forward: linear", Others = "forward: norms, rope, swiglu, copies";

        Embedding.Forward(_k, _p.Embedding, _ids, _h[0], n, d);
        for (int l = 0; l < _tapes.Length; l++)
        {
            var p = _p.Layers[l];
            var p16 = _p16?.Layers[l];
            var tp = _tapes[l];
            RmsNorm.Forward(_k, _h[l], p.InputNorm, eps, tp.A, tp.InvRms1, n, d);
            ToBf16(tp.A, tp.A16, (long)n * d);
            Mark(Others);
            LinearForward(tp.A, tp.A16, p.QProj, p16?.QProj, p.QBias, tp.Q, n, d, d);
            LinearForward(tp.A, tp.A16, p.KProj, p16?.KProj, p.KBias, tp.K, n, d, kv);
            LinearForward(tp.A, tp.A16, p.VProj, p16?.VProj, p.VBias, tp.V, n, d, kv);
            Mark(Linears);
            RotaryEmbedding.Apply(_k, tp.Q, _cos, _sin, n, t, heads, dh, _bf16Attention ? tp.Q16 : default);
            RotaryEmbedding.Apply(_k, tp.K, _cos, _sin, n, t, kvHeads, dh, _bf16Attention ? tp.K16 : default);
            if (_bf16Attention) CastToBf16.Run(_k, tp.V, tp.V16, (long)n * kv);
            Mark(Others);
            Attention.Forward(_k, tp.Q, tp.K, tp.V, Causal, tp.P, tp.Attn, b, t, heads, kvHeads, dh,
                _bf16Attention ? new AttentionBf16(tp.Q16, tp.K16, tp.V16, tp.P16) : null);
            Mark("forward: attention");
            _h[l].CopyTo(stream, tp.HMid);
            ToBf16(tp.Attn, tp.Attn16, (long)n * d);
            Mark(Others);
            LinearForward(tp.Attn, tp.Attn16, p.OProj, p16?.OProj, default, tp.HMid, n, d, d, accumulate: true);
            Mark(Linears);
            RmsNorm.Forward(_k, tp.HMid, p.PostAttentionNorm, eps, tp.M, tp.InvRms2, n, d);
            ToBf16(tp.M, tp.M16, (long)n * d);
            Mark(Others);
            LinearForward(tp.M, tp.M16, p.GateProj, p16?.GateProj, default, tp.Gate, n, d, f);
            LinearForward(tp.M, tp.M16, p.UpProj, p16?.UpProj, default, tp.Up, n, d, f);
            Mark(Linears);
            SwiGlu.Forward(_k, tp.Gate, tp.Up, tp.Act, n * f);
            tp.HMid.CopyTo(stream, _h[l + 1]);
            ToBf16(tp.Act, tp.Act16, (long)n * f);
            Mark(Others);
            LinearForward(tp.Act, tp.Act16, p.DownProj, p16?.DownProj, default, _h[l + 1], n, f, d, accumulate: true);
            Mark(Linears);
        }
        RowGather.Forward(_k, _h[^1], _rows, _sel, r, d);
        RmsNorm.Forward(_k, _sel, _p.FinalNorm, eps, _normed, _invRmsFinal, r, d);
        Linear.Forward(_k, _normed, _p.LmHead, default, _logits, r, d, c.VocabSize);
        CrossEntropy.Run(_k, _logits, _targets, _weights, _dLogits, _terms, _loss, r, c.VocabSize);
        Mark("forward: final norm, lm_head, loss");
    }

    private void Backward(int r)
    {
        var c = Config;
        int b = _batch, t = _tokens, n = b * t, d = c.HiddenSize, f = c.IntermediateSize, kv = c.KvDim, v = c.VocabSize;
        int heads = c.NumAttentionHeads, kvHeads = c.NumKeyValueHeads, dh = c.HeadDim;
        var stream = _acc.DefaultStream;
        const string Linears = "backward: linear", Others = "backward: norms, rope, swiglu, casts";

        Linear.BackwardInput(_k, _dLogits, _p.LmHead, _dNormed, r, d, v, accumulate: false);
        Linear.BackwardWeight(_k, _normed, _dLogits, _g.LmHead, default, r, d, v);
        _dSel.SubView(0, Math.Max(1, r * d)).MemSetToZero(stream);
        RmsNorm.Backward(_k, _sel, _p.FinalNorm, _invRmsFinal, _dNormed, _dSel, _g.FinalNorm, r, d);
        _dh.MemSetToZero(stream);
        RowGather.Backward(_k, _dSel, _rows, _dh, r, d);
        Mark("backward: loss, lm_head, final norm");

        for (int l = _tapes.Length - 1; l >= 0; l--)
        {
            var p = _p.Layers[l];
            var p16 = _p16?.Layers[l];
            var g = _g.Layers[l];
            var tp = _tapes[l];

            // h_{l+1} = hMid + Down(SwiGlu(Gate(m), Up(m)))
            ToBf16(_dh, _dy16, (long)n * d);
            Mark(Others);
            LinearBackward(_dh, p.DownProj, p16?.DownProj, tp.Act, tp.Act16, _dAct, false, g.DownProj, default, n, f, d);
            Mark(Linears);
            _dGate.MemSetToZero(stream);
            _dUp.MemSetToZero(stream);
            SwiGlu.Backward(_k, tp.Gate, tp.Up, _dAct, _dGate, _dUp, n * f);
            ToBf16(_dGate, _dy16, (long)n * f);
            Mark(Others);
            LinearBackward(_dGate, p.GateProj, p16?.GateProj, tp.M, tp.M16, _dM, false, g.GateProj, default, n, d, f);
            Mark(Linears);
            ToBf16(_dUp, _dy16, (long)n * f);
            Mark(Others);
            LinearBackward(_dUp, p.UpProj, p16?.UpProj, tp.M, tp.M16, _dM, true, g.UpProj, default, n, d, f);
            Mark(Linears);
            RmsNorm.Backward(_k, tp.HMid, p.PostAttentionNorm, tp.InvRms2, _dM, _dh, g.PostAttentionNorm, n, d);

            // hMid = h_l + O(Attention(RoPE(Q(a)), RoPE(K(a)), V(a))), a = RmsNorm(h_l)
            ToBf16(_dh, _dy16, (long)n * d);
            Mark(Others);
            LinearBackward(_dh, p.OProj, p16?.OProj, tp.Attn, tp.Attn16, _dAttn, false, g.OProj, default, n, d, d);
            Mark(Linears);
            if (_bf16Attention)
            {
                CastToBf16.Run(_k, _dAttn, _dy16, (long)n * d);   // dO in bf16 (_dy16 is free until dq's cast below)
                Mark(Others);
            }
            Attention.Backward(_k, tp.Q, tp.K, tp.V, tp.P, _dAttn, _dScores, _dHeads, _dq, _dk, _dv, b, t, heads, kvHeads, dh,
                _bf16Attention ? new AttentionBf16(tp.Q16, tp.K16, tp.V16, tp.P16, _dy16.SubView(0, (long)n * d), _dScores16) : null);
            Mark("backward: attention");
            RotaryEmbedding.Backward(_k, _dq, _cos, _sin, n, t, heads, dh);
            RotaryEmbedding.Backward(_k, _dk, _cos, _sin, n, t, kvHeads, dh);
            ToBf16(_dq, _dy16, (long)n * d);
            Mark(Others);
            LinearBackward(_dq, p.QProj, p16?.QProj, tp.A, tp.A16, _dA, false, g.QProj, g.QBias, n, d, d);
            Mark(Linears);
            ToBf16(_dk, _dy16, (long)n * kv);
            Mark(Others);
            LinearBackward(_dk, p.KProj, p16?.KProj, tp.A, tp.A16, _dA, true, g.KProj, g.KBias, n, d, kv);
            Mark(Linears);
            ToBf16(_dv, _dy16, (long)n * kv);
            Mark(Others);
            LinearBackward(_dv, p.VProj, p16?.VProj, tp.A, tp.A16, _dA, true, g.VProj, g.VBias, n, d, kv);
            Mark(Linears);
            RmsNorm.Backward(_k, _h[l], p.InputNorm, tp.InvRms1, _dA, _dh, g.InputNorm, n, d);
            Mark(Others);
        }
        Embedding.Backward(_k, _order, _starts, _dh, _g.Embedding, v, d, _longestToken);
    }

    /// <summary>y (+)= x·Wᵀ + b: the f32 product, or in mixed precision the tensor-core one on the bf16 copies.</summary>
    private void LinearForward(ArrayView<float> x, ArrayView<ushort> x16, ArrayView<float> w, ArrayView<ushort>? w16, ArrayView<float> bias,
        ArrayView<float> y, int rows, int inF, int outF, bool accumulate = false)
    {
        if (_bf16) LinearBf16.Forward(_k, x16, w16!.Value, bias, y, rows, inF, outF, accumulate);
        else Linear.Forward(_k, x, w, bias, y, rows, inF, outF, accumulate);
    }

    /// <summary>
    /// dx (+)= dy·W and dW += dyᵀ·x (db += Σ dy). In mixed precision dy's bf16 copy must already be in _dy16.
    /// </summary>
    private void LinearBackward(ArrayView<float> dy, ArrayView<float> w, ArrayView<ushort>? w16, ArrayView<float> x, ArrayView<ushort> x16,
        ArrayView<float> dx, bool accumulate, ArrayView<float> dW, ArrayView<float> dBias, int rows, int inF, int outF)
    {
        if (_bf16)
        {
            LinearBf16.BackwardInput(_k, _dy16, w16!.Value, dx, rows, inF, outF, accumulate);
            LinearBf16.BackwardWeight(_k, x16, _dy16, dy, dW, dBias, rows, inF, outF);
        }
        else
        {
            Linear.BackwardInput(_k, dy, w, dx, rows, inF, outF, accumulate);
            Linear.BackwardWeight(_k, x, dy, dW, dBias, rows, inF, outF);
        }
    }

    private void ToBf16(ArrayView<float> source, ArrayView<ushort> target, long count)
    {
        if (_bf16 && count > 0) CastToBf16.Run(_k, source, target, count);
    }

    /// <summary>With <see cref="Profile"/> set: waits for the device and books the time since the last mark to <paramref name="phase"/>.</summary>
    private void Mark(string phase)
    {
        if (Profile is null) return;
        _acc.Synchronize();
        Profile[phase] = Profile.GetValueOrDefault(phase) + _clock.Elapsed.TotalMilliseconds;
        _clock.Restart();
    }

    /// <summary>Sizes every device buffer for B sequences of T tokens (R ≤ N loss rows); nothing is allocated while the shape stays.</summary>
    private void Allocate(int batch, int tokens)
    {
        if (batch == _batch && tokens == _tokens) return;
        _acc.Synchronize();
        _buffers?.Dispose();
        var buffers = _buffers = new DeviceBuffers(_acc);
        var c = Config;
        int n = batch * tokens, d = c.HiddenSize, f = c.IntermediateSize, kv = c.KvDim, v = c.VocabSize;
        int heads = c.NumAttentionHeads, half = c.HeadDim / 2;
        long square = (long)batch * heads * tokens * tokens, paddedSquare = (long)batch * heads * tokens * Attention.PaddedTokens(tokens);
        ArrayView<float> F(long size) => buffers.Allocate<float>(Math.Max(size, 1));
        ArrayView<int> I(long size) => buffers.Allocate<int>(Math.Max(size, 1));
        ArrayView<ushort> H(long size) => buffers.Allocate<ushort>(Math.Max(size, 1));
        _batch = batch;
        _tokens = tokens;
        _ids = I(n); _order = I(n); _starts = I(v + 1); _rows = I(n); _targets = I(n);
        _weights = F(n); _cos = F((long)tokens * half); _sin = F((long)tokens * half);
        _h = Enumerable.Range(0, c.NumHiddenLayers + 1).Select(_ => F((long)n * d)).ToArray();
        _tapes = Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new Tape
        {
            A = F((long)n * d), InvRms1 = F(n), Q = F((long)n * d), K = F((long)n * kv), V = F((long)n * kv), P = F(square),
            Attn = F((long)n * d), HMid = F((long)n * d), M = F((long)n * d), InvRms2 = F(n),
            Gate = F((long)n * f), Up = F((long)n * f), Act = F((long)n * f),
        }).ToArray();
        _sel = F((long)n * d); _normed = F((long)n * d); _invRmsFinal = F(n); _logits = F((long)n * v); _dLogits = F((long)n * v);
        _terms = F(n); _loss = F(1);
        _dh = F((long)n * d); _dAct = F((long)n * f); _dGate = F((long)n * f); _dUp = F((long)n * f); _dM = F((long)n * d);
        _dAttn = F((long)n * d); _dq = F((long)n * d); _dk = F((long)n * kv); _dv = F((long)n * kv); _dA = F((long)n * d);
        _dSel = F((long)n * d); _dNormed = F((long)n * d); _dScores = F(square); _dHeads = F((long)n * d);
        _normPartials = F(_k.NormGroups);
        if (_bf16)
        {
            foreach (var tape in _tapes)
            {
                tape.A16 = H((long)n * d); tape.Attn16 = H((long)n * d); tape.M16 = H((long)n * d); tape.Act16 = H((long)n * f);
                if (_bf16Attention)
                {
                    tape.Q16 = H((long)n * d); tape.K16 = H((long)n * kv); tape.V16 = H((long)n * kv); tape.P16 = H(paddedSquare);
                }
            }
            _dy16 = H((long)n * Math.Max(d, f));
            if (_bf16Attention) _dScores16 = H(paddedSquare);
        }
        _hostOrder = new int[n];
        _hostStarts = new int[v + 1];
        _hostWeights = new float[n];
        _hostNorm = new float[_k.NormGroups];

        // The largest scratch a launcher asks for: split-K slices of a weight gradient, or column-sum chunks.
        long scratch = Math.Max((long)(n + ColumnSum.ChunkRows - 1) / ColumnSum.ChunkRows * Math.Max(d, kv), Embedding.ScratchFor(v, d, n));
        foreach (var (inF, outF) in new[] { (d, d), (d, kv), (d, f), (f, d), (d, v) })
            scratch = Math.Max(scratch, (long)Math.Max(_bf16 ? LinearBf16.Slices(_k, n, inF, outF) : 0, Linear.Slices(_k, n, inF, outF)) * inF * outF);
        _k.EnsureScratch(scratch);

        var cos = new float[tokens * half];
        var sin = new float[tokens * half];
        RotaryTables.Fill(Enumerable.Range(0, tokens).ToArray(), RotaryTables.InverseFrequencies(c.HeadDim, c.RopeTheta), cos, sin);
        _cos.SubView(0, cos.Length).CopyFromCPU(_acc.DefaultStream, cos);
        _sin.SubView(0, sin.Length).CopyFromCPU(_acc.DefaultStream, sin);
    }

    public void Dispose()
    {
        _buffers?.Dispose();
        _theta.Dispose();
        _theta16?.Dispose();
        _grad.Dispose();
        _m.Dispose();
        _v.Dispose();
    }
}
