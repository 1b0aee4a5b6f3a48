using Dream.Core.Model;

namespace Dream.Kernels.Cpu;

/// <summary>
/// The `cpu` backend: Dream's forward pass (docs: dream-reference.md §2) composed from the vectorised ops in
/// this folder, over weights read in place from the memory-mapped checkpoint (bf16 widened inside the matrix
/// multiply's packing; only norm weights and biases, a few floats per layer, are widened once at load).
///
///   ids [B, T] → Embedding → h [M = B·T, D]
///   per layer: a = RmsNorm(h); q,k,v = Linear(a) (+bias); RoPE(q,k); o = Attention(q,k,v); h += Linear(o)
///              m = RmsNorm(h); h += Linear_down(SwiGlu(Linear_gate(m), Linear_up(m)))
///   requested rows of h → RmsNorm_final → Linear_lm_head → logits [R, V]
///
/// All tokens of the batch go through each Linear as one matrix (M = B·T); attention is per batch row.
/// One <see cref="CpuRunState"/> owns the activations: a forward at an unchanged (batch, length) allocates no
/// buffers. Not thread-safe — one forward at a time.
/// </summary>
public sealed class CpuModel : IForwardModel
{
    private sealed class Layer
    {
        public required float[] InputNorm, QBias, KBias, VBias, PostNorm;
        public required WeightMatrix Q, K, V, O, Gate, Up, Down;
    }

    private readonly Layer[] _layers;
    private readonly WeightMatrix _embedding, _lmHead;
    private readonly float[] _finalNorm;
    private readonly float _eps;
    private readonly CpuWorkspace _workspace;
    private readonly CpuRunState _state;
    private bool _disposed;

    public DreamConfig Config { get; }
    public string BackendName => "cpu";

    /// <param name="weights">views into an open checkpoint, which must outlive this model.</param>
    /// <param name="workers">threads for Parallel.For; default one per core.</param>
    public CpuModel(DreamWeights weights, int workers = 0)
    {
        Config = weights.Config;
        _eps = (float)Config.RmsNormEps;
        _embedding = WeightMatrix.From(weights.Embedding);
        _lmHead = WeightMatrix.From(weights.LmHead);
        _finalNorm = Widen.Vector(weights.FinalNorm);
        _layers = weights.Layers.Select(l => new Layer
        {
            InputNorm = Widen.Vector(l.InputNorm), PostNorm = Widen.Vector(l.PostAttentionNorm),
            QBias = Widen.Vector(l.QBias), KBias = Widen.Vector(l.KBias), VBias = Widen.Vector(l.VBias),
            Q = WeightMatrix.From(l.QProj), K = WeightMatrix.From(l.KProj), V = WeightMatrix.From(l.VProj),
            O = WeightMatrix.From(l.OProj), Gate = WeightMatrix.From(l.GateProj), Up = WeightMatrix.From(l.UpProj),
            Down = WeightMatrix.From(l.DownProj),
        }).ToArray();
        _workspace = new CpuWorkspace(workers);
        _state = new CpuRunState(Config);
    }

    public void Forward(ForwardInput input, ReadOnlySpan<int> rows, Span<float> logits)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ForwardChecks.Validate(Config, input, rows, logits.Length);
        int batch = input.Batch, n = input.Length, m = batch * n;
        int d = Config.HiddenSize, f = Config.IntermediateSize, kvDim = Config.KvDim;
        int heads = Config.NumAttentionHeads, kvHeads = Config.NumKeyValueHeads, dh = Config.HeadDim;
        var s = _state;
        var ws = _workspace;
        s.Ensure(m, rows.Length);

        var h = s.Hidden.Span(m * (long)d);                 // [M, D] residual stream
        var a = s.Normed.Span(m * (long)d);                 // [M, D]
        var q = s.Q.Span(m * (long)d);                      // [M, H·Dh] (H·Dh = D)
        var k = s.K.Span(m * (long)kvDim);                  // [M, Hkv·Dh]
        var v = s.V.Span(m * (long)kvDim);                  // [M, Hkv·Dh]
        var attended = s.Attended.Span(m * (long)d);        // [M, H·Dh]
        var delta = s.Delta.Span(m * (long)d);              // [M, D]
        var gate = s.Gate.Span(m * (long)f);                // [M, F]
        var up = s.Up.Span(m * (long)f);                    // [M, F]
        var cos = s.Cos.Span(m * (long)(dh / 2));           // [M, Dh/2]
        var sin = s.Sin.Span(m * (long)(dh / 2));           // [M, Dh/2]

        Embedding.Forward(_embedding, input.Ids, h, m, d);
        s.UpdateRotaryTables(input.Positions);
        ReadOnlySpan<bool> isReal = default;
        if (input.AttentionMask is not null)
        {
            for (int i = 0; i < m; i++) s.IsReal[i] = input.AttentionMask[i] != 0;
            isReal = s.IsReal;
        }

        foreach (var layer in _layers)
        {
            RmsNorm.Forward(h, layer.InputNorm, _eps, a, m, d);
            Linear.Forward(a, layer.Q, layer.QBias, q, m, d, d, ws);
            Linear.Forward(a, layer.K, layer.KBias, k, m, d, kvDim, ws);
            Linear.Forward(a, layer.V, layer.VBias, v, m, d, kvDim, ws);
            RotaryEmbedding.Apply(q, cos, sin, m, heads, dh);
            RotaryEmbedding.Apply(k, cos, sin, m, kvHeads, dh);
            Attention.Forward(q, k, v, isReal, attended, batch, n, heads, kvHeads, dh, ws);
            Linear.Forward(attended, layer.O, default, delta, m, d, d, ws);
            ResidualAdd.Forward(h, delta, m * d);

            RmsNorm.Forward(h, layer.PostNorm, _eps, a, m, d);
            Linear.Forward(a, layer.Gate, default, gate, m, d, f, ws);
            Linear.Forward(a, layer.Up, default, up, m, d, f, ws);
            SwiGlu.Forward(gate, up, gate, m * f);
            Linear.Forward(gate, layer.Down, default, delta, m, f, d, ws);
            ResidualAdd.Forward(h, delta, m * d);
        }

        // lm_head only over the requested rows: [R, D] → [R, V], straight into the caller's buffer.
        var selected = s.Selected.Span(rows.Length * (long)d);
        for (int r = 0; r < rows.Length; r++) h.Slice(rows[r] * d, d).CopyTo(selected.Slice(r * d, d));
        RmsNorm.Forward(selected, _finalNorm, _eps, selected, rows.Length, d);
        Linear.Forward(selected, _lmHead, default, logits, rows.Length, d, Config.VocabSize, ws);
    }

    public void Dispose()
    {
        _disposed = true;
        _workspace.Dispose();
        _state.Dispose();
    }
}
