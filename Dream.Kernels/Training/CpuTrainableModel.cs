using System.Numerics.Tensors;
using Dream.Core.Model;
using Dream.Core.Training;

namespace Dream.Kernels.Training;

/// <summary>
/// The fast CPU trainer: the same forward and backward as Dream.Reference's TrainableModel (its oracle, pinned by
/// a test), in float32 over the whole batch at once — B sequences stacked as N = B·T rows, so every Linear is one
/// long matrix product — with TensorPrimitives inner loops and Parallel.For over rows, sequences and features.
/// Activation and gradient buffers are allocated once per batch shape and reused every step.
///
///   ids [N] → embed → h [N, D]
///   per layer: a = RmsNorm(h) (keeps 1/rms); q,k,v = Linear(a); RoPE; o = Attention (keeps P [B,H,T,T]);
///              h += Linear_o(o);  m = RmsNorm(h); gate, up = Linear(m); act = SwiGlu; h += Linear_down(act)
///   loss rows: sel [R, D] = h[rows] → RmsNorm_final → lm_head → logits [R, V] → weighted cross-entropy
///   backward: the same chain in reverse; the residual stream's gradient dh [N, D] is the running total.
///
/// Also an <see cref="IForwardModel"/>, so the generation loop can evaluate a model while it trains.
/// </summary>
public sealed class CpuTrainableModel : ITrainableModel<float>, IForwardModel
{
    private sealed class LayerTape
    {
        public float[] HIn = [], A = [], InvRms1 = [], Q = [], K = [], V = [], P = [], Attn = [],
            HMid = [], M = [], InvRms2 = [], Gate = [], Up = [], Act = [];
    }

    private readonly LayerTape[] _tapes;
    private int _rows, _batch, _tokens, _lossRows;          // the shape the buffers were last sized for
    private int[] _ids = [];                                 // [N]
    private int[] _selectedRows = [];                        // [R]
    private bool[]? _isReal;                                 // [N] or null
    private float[] _cos = [], _sin = [];                    // [N, Dh/2]
    private float[] _h = [];                                 // [N, D] residual stream
    private float[] _sel = [], _normed = [], _invRmsFinal = [], _logits = [];   // [R, D], [R, D], [R], [R, V]
    // backward buffers
    private float[] _dh = [], _dAct = [], _dGate = [], _dUp = [], _dM = [], _dAttn = [], _dq = [], _dk = [], _dv = [], _dA = [];
    private float[] _dSel = [], _dNormed = [], _dLogits = [];
    private float[] _scratchT1 = [], _scratchW = [], _scratchRms = [];      // dyᵀ, Wᵀ, RmsNorm rows

    public DreamParameters<float> Parameters { get; }
    public bool Causal { get; }
    public DreamConfig Config => Parameters.Config;
    public string BackendName => "training-cpu";

    public CpuTrainableModel(DreamParameters<float> parameters, bool causal = false)
    {
        Parameters = parameters;
        Causal = causal;
        _tapes = Enumerable.Range(0, parameters.Config.NumHiddenLayers).Select(_ => new LayerTape()).ToArray();
    }

    public double LossAndGradients(TrainingBatch batch, DreamParameters<float> gradients)
    {
        var positions = new int[batch.Batch * batch.Length];
        for (int i = 0; i < positions.Length; i++) positions[i] = i % batch.Length;
        Run(batch.Ids, positions, null, batch.Batch, batch.Length, batch.Rows);

        int vocab = Config.VocabSize, rows = batch.Rows.Length;
        var terms = new double[rows];
        Array.Clear(_dLogits, 0, rows * vocab);
        Parallel.For(0, rows, r =>
        {
            var z = _logits.AsSpan(r * vocab, vocab);
            var dz = _dLogits.AsSpan(r * vocab, vocab);
            float max = TensorPrimitives.Max(z);
            TensorPrimitives.Subtract(z, max, dz);
            TensorPrimitives.Exp(dz, dz);
            float sum = TensorPrimitives.Sum(dz);
            double w = batch.Weights[r];
            terms[r] = w * (max + Math.Log(sum) - z[batch.Targets[r]]);
            TensorPrimitives.Multiply(dz, (float)(w / sum), dz);             // w·softmax
            dz[batch.Targets[r]] -= (float)w;                                // − w·onehot
        });
        Backward(gradients);
        double loss = 0;
        foreach (double term in terms) loss += term;
        return loss;
    }

    public void Forward(ForwardInput input, ReadOnlySpan<int> rows, Span<float> logits)
    {
        ForwardChecks.Validate(Config, input, rows, logits.Length);
        bool[]? isReal = input.AttentionMask?.Select(m => m != 0).ToArray();
        Run(input.Ids, input.Positions, isReal, input.Batch, input.Length, rows.ToArray());
        _logits.AsSpan(0, rows.Length * Config.VocabSize).CopyTo(logits);
    }

    /// <summary>The forward pass over N = B·T rows, keeping every activation the backward reads.</summary>
    private void Run(int[] ids, int[] positions, bool[]? isReal, int batch, int tokens, int[] lossRows)
    {
        var c = Config;
        int n = batch * tokens, d = c.HiddenSize, f = c.IntermediateSize, kv = c.KvDim, r = lossRows.Length;
        int heads = c.NumAttentionHeads, kvHeads = c.NumKeyValueHeads, dh = c.HeadDim;
        float eps = (float)c.RmsNormEps;
        Allocate(batch, tokens, r);
        ids.AsSpan(0, n).CopyTo(_ids);
        lossRows.CopyTo(_selectedRows, 0);
        _isReal = isReal;
        RopeTables(positions, n, dh, c.RopeTheta);

        for (int i = 0; i < n; i++) Parameters.Embedding.AsSpan(ids[i] * d, d).CopyTo(_h.AsSpan(i * d, d));
        for (int l = 0; l < _tapes.Length; l++)
        {
            var p = Parameters.Layers[l];
            var t = _tapes[l];
            _h.AsSpan(0, n * d).CopyTo(t.HIn);
            RmsNorm.Forward(_h, p.InputNorm, eps, t.A, t.InvRms1, n, d);
            Linear.Forward(t.A, p.QProj, p.QBias, t.Q, _scratchW, n, d, d);
            Linear.Forward(t.A, p.KProj, p.KBias, t.K, _scratchW, n, d, kv);
            Linear.Forward(t.A, p.VProj, p.VBias, t.V, _scratchW, n, d, kv);
            RotaryEmbedding.Apply(t.Q, _cos, _sin, n, heads, dh);
            RotaryEmbedding.Apply(t.K, _cos, _sin, n, kvHeads, dh);
            Attention.Forward(t.Q, t.K, t.V, isReal, Causal, t.P, t.Attn, batch, tokens, heads, kvHeads, dh);
            Linear.Forward(t.Attn, p.OProj, null, _dA, _scratchW, n, d, d);           // _dA is free until the backward
            TensorPrimitives.Add(_h.AsSpan(0, n * d), _dA.AsSpan(0, n * d), _h.AsSpan(0, n * d));

            _h.AsSpan(0, n * d).CopyTo(t.HMid);
            RmsNorm.Forward(_h, p.PostAttentionNorm, eps, t.M, t.InvRms2, n, d);
            Linear.Forward(t.M, p.GateProj, null, t.Gate, _scratchW, n, d, f);
            Linear.Forward(t.M, p.UpProj, null, t.Up, _scratchW, n, d, f);
            SwiGlu.Forward(t.Gate, t.Up, t.Act, n * f);
            Linear.Forward(t.Act, p.DownProj, null, _dA, _scratchW, n, f, d);
            TensorPrimitives.Add(_h.AsSpan(0, n * d), _dA.AsSpan(0, n * d), _h.AsSpan(0, n * d));
        }

        for (int i = 0; i < r; i++) _h.AsSpan(lossRows[i] * d, d).CopyTo(_sel.AsSpan(i * d, d));
        RmsNorm.Forward(_sel, Parameters.FinalNorm, eps, _normed, _invRmsFinal, r, d);
        Linear.Forward(_normed, Parameters.LmHead, null, _logits, _scratchW, r, d, c.VocabSize);
    }

    /// <summary>Back-propagates _dLogits [R, V] through the tape, accumulating into <paramref name="g"/>.</summary>
    private void Backward(DreamParameters<float> g)
    {
        var c = Config;
        int n = _rows, d = c.HiddenSize, f = c.IntermediateSize, kv = c.KvDim, r = _lossRows, v = c.VocabSize;
        int heads = c.NumAttentionHeads, kvHeads = c.NumKeyValueHeads, dh = c.HeadDim;
        float eps = (float)c.RmsNormEps;

        Clear(_dNormed, r * d);
        Linear.BackwardInput(_dLogits, Parameters.LmHead, _dNormed, r, d, v);
        Linear.BackwardWeight(_normed, _dLogits, g.LmHead, null, _scratchT1, r, d, v);
        Clear(_dSel, r * d);
        RmsNorm.Backward(_sel, Parameters.FinalNorm, _invRmsFinal, _dNormed, _dSel, g.FinalNorm, _scratchRms, r, d);
        Clear(_dh, n * d);
        for (int i = 0; i < r; i++)
        {
            var row = _dh.AsSpan(_selectedRows[i] * d, d);
            TensorPrimitives.Add(row, _dSel.AsSpan(i * d, d), row);
        }

        for (int l = _tapes.Length - 1; l >= 0; l--)
        {
            var p = Parameters.Layers[l];
            var gl = g.Layers[l];
            var t = _tapes[l];

            // h = hMid + Down(SwiGlu(Gate(m), Up(m))): the residual hands dh to Down's output unchanged.
            Clear(_dAct, n * f);
            Linear.BackwardInput(_dh, p.DownProj, _dAct, n, f, d);
            Linear.BackwardWeight(t.Act, _dh, gl.DownProj, null, _scratchT1, n, f, d);
            SwiGlu.Backward(t.Gate, t.Up, _dAct, _dGate, _dUp, n * f);
            Clear(_dM, n * d);
            Linear.BackwardInput(_dGate, p.GateProj, _dM, n, d, f);
            Linear.BackwardWeight(t.M, _dGate, gl.GateProj, null, _scratchT1, n, d, f);
            Linear.BackwardInput(_dUp, p.UpProj, _dM, n, d, f);
            Linear.BackwardWeight(t.M, _dUp, gl.UpProj, null, _scratchT1, n, d, f);
            RmsNorm.Backward(t.HMid, p.PostAttentionNorm, t.InvRms2, _dM, _dh, gl.PostAttentionNorm, _scratchRms, n, d);

            // hMid = hIn + O(Attention(RoPE(Q(a)), RoPE(K(a)), V(a))), a = RmsNorm(hIn)
            Clear(_dAttn, n * d);
            Linear.BackwardInput(_dh, p.OProj, _dAttn, n, d, d);
            Linear.BackwardWeight(t.Attn, _dh, gl.OProj, null, _scratchT1, n, d, d);
            Clear(_dq, n * d);
            Clear(_dk, n * kv);
            Clear(_dv, n * kv);
            Attention.Backward(t.Q, t.K, t.V, _isReal, t.P, _dAttn, _dq, _dk, _dv, _batch, _tokens, heads, kvHeads, dh);
            RotaryEmbedding.Backward(_dq, _cos, _sin, n, heads, dh);
            RotaryEmbedding.Backward(_dk, _cos, _sin, n, kvHeads, dh);
            Clear(_dA, n * d);
            Linear.BackwardInput(_dq, p.QProj, _dA, n, d, d);
            Linear.BackwardWeight(t.A, _dq, gl.QProj, gl.QBias, _scratchT1, n, d, d);
            Linear.BackwardInput(_dk, p.KProj, _dA, n, d, kv);
            Linear.BackwardWeight(t.A, _dk, gl.KProj, gl.KBias, _scratchT1, n, d, kv);
            Linear.BackwardInput(_dv, p.VProj, _dA, n, d, kv);
            Linear.BackwardWeight(t.A, _dv, gl.VProj, gl.VBias, _scratchT1, n, d, kv);
            RmsNorm.Backward(t.HIn, p.InputNorm, t.InvRms1, _dA, _dh, gl.InputNorm, _scratchRms, n, d);
        }

        for (int i = 0; i < n; i++)
        {
            var row = g.Embedding.AsSpan(_ids[i] * d, d);
            TensorPrimitives.Add(row, _dh.AsSpan(i * d, d), row);
        }
    }

    /// <summary>cos and sin per row [N, Dh/2], in float32 exactly as the reference's tables.</summary>
    private void RopeTables(int[] positions, int n, int headDim, double theta)
    {
        int half = headDim / 2;
        for (int j = 0; j < half; j++)
        {
            float invFreq = 1f / MathF.Pow((float)theta, (2 * j) / (float)headDim);
            for (int i = 0; i < n; i++)
            {
                float angle = positions[i] * invFreq;
                _cos[i * half + j] = MathF.Cos(angle);
                _sin[i * half + j] = MathF.Sin(angle);
            }
        }
    }

    private static void Clear(float[] a, int count) => Array.Clear(a, 0, count);

    /// <summary>Sizes every buffer for B sequences of T tokens and R loss rows; grows only, so steady-state steps allocate nothing.</summary>
    private void Allocate(int batch, int tokens, int lossRows)
    {
        var c = Config;
        int n = batch * tokens, d = c.HiddenSize, f = c.IntermediateSize, kv = c.KvDim, v = c.VocabSize;
        int heads = c.NumAttentionHeads, half = c.HeadDim / 2;
        static void Grow<T>(ref T[] a, long size)
        {
            if (a.Length < size) a = new T[checked((int)size)];
        }
        _batch = batch;
        _tokens = tokens;
        _rows = n;
        _lossRows = lossRows;
        Grow(ref _ids, n);
        Grow(ref _selectedRows, lossRows);
        Grow(ref _cos, (long)n * half);
        Grow(ref _sin, (long)n * half);
        Grow(ref _h, (long)n * d);
        foreach (var t in _tapes)
        {
            Grow(ref t.HIn, (long)n * d); Grow(ref t.A, (long)n * d); Grow(ref t.InvRms1, n);
            Grow(ref t.Q, (long)n * d); Grow(ref t.K, (long)n * kv); Grow(ref t.V, (long)n * kv);
            Grow(ref t.P, (long)batch * heads * tokens * tokens); Grow(ref t.Attn, (long)n * d);
            Grow(ref t.HMid, (long)n * d); Grow(ref t.M, (long)n * d); Grow(ref t.InvRms2, n);
            Grow(ref t.Gate, (long)n * f); Grow(ref t.Up, (long)n * f); Grow(ref t.Act, (long)n * f);
        }
        Grow(ref _sel, (long)lossRows * d); Grow(ref _normed, (long)lossRows * d);
        Grow(ref _invRmsFinal, lossRows); Grow(ref _logits, (long)lossRows * v);
        Grow(ref _dSel, (long)lossRows * d); Grow(ref _dNormed, (long)lossRows * d); Grow(ref _dLogits, (long)lossRows * v);
        Grow(ref _dh, (long)n * d); Grow(ref _dAct, (long)n * f); Grow(ref _dGate, (long)n * f); Grow(ref _dUp, (long)n * f);
        Grow(ref _dM, (long)n * d); Grow(ref _dAttn, (long)n * d); Grow(ref _dq, (long)n * d);
        Grow(ref _dk, (long)n * kv); Grow(ref _dv, (long)n * kv); Grow(ref _dA, (long)n * d);
        int widest = Math.Max(Math.Max(d, f), v);
        Grow(ref _scratchT1, (long)Math.Max(n, lossRows) * widest);
        Grow(ref _scratchW, (long)widest * widest);
        Grow(ref _scratchRms, (long)Math.Max(n, lossRows) * d);
    }

    public void Dispose() { }
}
