using System.Numerics;
using Dream.Core.Training;

namespace Dream.Reference;

/// <summary>
/// The training oracle: Dream's forward pass composed from the plain ops of this project, keeping what each op's
/// Backward needs, then the backward pass composed from those Backward twins in reverse order. Parameters are the
/// arrays of a <see cref="DreamParameters{T}"/>, updated in place by the optimizer. Plain and slow on purpose: the
/// float64 instance is what the gradient checks pin to finite differences, and the fast CPU trainer is pinned to
/// this one.
///
///   forward, per sequence:  ids [T] → Embedding → h [T, D]
///     per layer: hIn = h; a = RmsNorm(h); q,k,v = Linear(a); RoPE(q,k); o = Attention(q,k,v); h += Linear_o(o)
///                hMid = h; m = RmsNorm(h); gate, up = Linear(m); act = SwiGlu; h += Linear_down(act)
///     loss rows: sel [R, D] = h[rows] → RmsNorm_final → Linear_lm_head → logits [R, V] → CrossEntropy
///   backward: the same chain read from the end, each op's Backward accumulating into the gradients.
/// </summary>
public sealed class TrainableModel<T>(DreamParameters<T> parameters, bool causal = false) : ITrainableModel<T>
    where T : IFloatingPointIeee754<T>
{
    private sealed class LayerTape
    {
        public required T[] HIn, A, Q, K, V, Attn, HMid, M, Gate, Up, Act;
    }

    /// <summary>What one sequence's forward keeps for its backward.</summary>
    private sealed class SequenceTape
    {
        public required int[] Ids;                       // [T]
        public required LayerTape[] Layers;
        public required int[] Tokens;                    // [R] positions whose rows enter the loss
        public required T[] Selected, Normed, Logits;    // [R, D], [R, D], [R, V]
        public required T[] Cos, Sin;                    // [T, Dh/2]
    }

    public DreamParameters<T> Parameters { get; } = parameters;
    public bool Causal { get; } = causal;

    private Core.Model.DreamConfig Config => Parameters.Config;
    private T Eps => T.CreateChecked(Config.RmsNormEps);

    /// <summary>Logits [R, V] of the batch's loss rows, in the order of batch.Rows.</summary>
    public T[] Logits(TrainingBatch batch)
    {
        int vocab = Config.VocabSize;
        var logits = new T[batch.Rows.Length * vocab];
        foreach (var (b, slots) in RowsBySequence(batch))
        {
            var tape = Forward(batch, b, slots.Select(r => batch.Rows[r] % batch.Length).ToArray());
            for (int i = 0; i < slots.Length; i++) Array.Copy(tape.Logits, i * vocab, logits, slots[i] * vocab, vocab);
        }
        return logits;
    }

    public double LossAndGradients(TrainingBatch batch, DreamParameters<T> gradients) => double.CreateChecked(Loss(batch, gradients));

    /// <summary>The loss in <typeparamref name="T"/>; with <paramref name="gradients"/> non-null, also the backward pass.</summary>
    public T Loss(TrainingBatch batch, DreamParameters<T>? gradients)
    {
        int vocab = Config.VocabSize;
        T loss = T.Zero;
        foreach (var (b, slots) in RowsBySequence(batch))
        {
            var tape = Forward(batch, b, slots.Select(r => batch.Rows[r] % batch.Length).ToArray());
            int[] targets = slots.Select(r => batch.Targets[r]).ToArray();
            T[] weights = slots.Select(r => T.CreateChecked(batch.Weights[r])).ToArray();
            loss += CrossEntropy.Forward(tape.Logits, targets, weights, slots.Length, vocab);
            if (gradients is null) continue;
            var dLogits = new T[tape.Logits.Length];
            CrossEntropy.Backward(tape.Logits, targets, weights, T.One, dLogits, slots.Length, vocab);
            Backward(tape, dLogits, gradients);
        }
        return loss;
    }

    /// <summary>Loss rows grouped by sequence: (b, indices r into batch.Rows whose row lies in sequence b).</summary>
    private static IEnumerable<(int B, int[] Slots)> RowsBySequence(TrainingBatch batch) =>
        Enumerable.Range(0, batch.Rows.Length)
            .GroupBy(r => batch.Rows[r] / batch.Length)
            .OrderBy(g => g.Key)
            .Select(g => (g.Key, g.ToArray()));

    private SequenceTape Forward(TrainingBatch batch, int b, int[] tokens)
    {
        var c = Config;
        int n = batch.Length, d = c.HiddenSize, f = c.IntermediateSize, kv = c.KvDim, rows = tokens.Length;
        int heads = c.NumAttentionHeads, kvHeads = c.NumKeyValueHeads, dh = c.HeadDim;
        int[] ids = batch.Ids.AsSpan(b * n, n).ToArray();
        var (cos, sin) = RotaryEmbedding.Tables<T>(Enumerable.Range(0, n).ToArray(), n, dh, c.RopeTheta);

        var h = new T[n * d];                                                   // [T, D]
        Embedding.Forward(Parameters.Embedding, ids, h, n, d);
        var layers = new LayerTape[c.NumHiddenLayers];
        for (int l = 0; l < layers.Length; l++)
        {
            var p = Parameters.Layers[l];
            var tape = new LayerTape
            {
                HIn = (T[])h.Clone(), A = new T[n * d], Q = new T[n * d], K = new T[n * kv], V = new T[n * kv],
                Attn = new T[n * d], HMid = null!, M = new T[n * d], Gate = new T[n * f], Up = new T[n * f], Act = new T[n * f],
            };
            RmsNorm.Forward(h, p.InputNorm, Eps, tape.A, n, d);
            Linear.Forward(tape.A, p.QProj, p.QBias, tape.Q, n, d, d);
            Linear.Forward(tape.A, p.KProj, p.KBias, tape.K, n, d, kv);
            Linear.Forward(tape.A, p.VProj, p.VBias, tape.V, n, d, kv);
            RotaryEmbedding.Apply(tape.Q, cos, sin, n, heads, dh);
            RotaryEmbedding.Apply(tape.K, cos, sin, n, kvHeads, dh);
            Attention.Forward(tape.Q, tape.K, tape.V, null, Causal, tape.Attn, n, heads, kvHeads, dh);
            var delta = new T[n * d];
            Linear.Forward(tape.Attn, p.OProj, null, delta, n, d, d);
            ResidualAdd.Forward(h, delta, n * d);

            tape.HMid = (T[])h.Clone();
            RmsNorm.Forward(h, p.PostAttentionNorm, Eps, tape.M, n, d);
            Linear.Forward(tape.M, p.GateProj, null, tape.Gate, n, d, f);
            Linear.Forward(tape.M, p.UpProj, null, tape.Up, n, d, f);
            SwiGlu.Forward(tape.Gate, tape.Up, tape.Act, n * f);
            Linear.Forward(tape.Act, p.DownProj, null, delta, n, f, d);
            ResidualAdd.Forward(h, delta, n * d);
            layers[l] = tape;
        }

        var selected = new T[rows * d];                                         // [R, D]
        for (int i = 0; i < rows; i++) Array.Copy(h, tokens[i] * d, selected, i * d, d);
        var normed = new T[rows * d];                                           // [R, D]
        RmsNorm.Forward(selected, Parameters.FinalNorm, Eps, normed, rows, d);
        var logits = new T[rows * c.VocabSize];                                 // [R, V]
        Linear.Forward(normed, Parameters.LmHead, null, logits, rows, d, c.VocabSize);
        return new SequenceTape
        {
            Ids = ids, Layers = layers, Tokens = tokens, Selected = selected, Normed = normed, Logits = logits, Cos = cos, Sin = sin,
        };
    }

    private void Backward(SequenceTape tape, T[] dLogits, DreamParameters<T> g)
    {
        var c = Config;
        int n = tape.Ids.Length, d = c.HiddenSize, f = c.IntermediateSize, kv = c.KvDim, rows = tape.Tokens.Length;
        int heads = c.NumAttentionHeads, kvHeads = c.NumKeyValueHeads, headDim = c.HeadDim;

        var dNormed = new T[rows * d];                                          // [R, D]
        Linear.Backward(tape.Normed, Parameters.LmHead, dLogits, dNormed, g.LmHead, null, rows, d, c.VocabSize);
        var dSelected = new T[rows * d];                                        // [R, D]
        RmsNorm.Backward(tape.Selected, Parameters.FinalNorm, Eps, dNormed, dSelected, g.FinalNorm, rows, d);
        var dh = new T[n * d];                                                  // [T, D] gradient of the residual stream
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < d; j++) dh[tape.Tokens[i] * d + j] += dSelected[i * d + j];

        for (int l = c.NumHiddenLayers - 1; l >= 0; l--)
        {
            var p = Parameters.Layers[l];
            var gl = g.Layers[l];
            var t = tape.Layers[l];

            // h = hMid + Down(SwiGlu(Gate(m), Up(m))),  m = RmsNorm(hMid)
            var dDelta = new T[n * d];
            ResidualAdd.Backward(dh, dDelta, n * d);
            var dAct = new T[n * f];
            Linear.Backward(t.Act, p.DownProj, dDelta, dAct, gl.DownProj, null, n, f, d);
            var dGate = new T[n * f];
            var dUp = new T[n * f];
            SwiGlu.Backward(t.Gate, t.Up, dAct, dGate, dUp, n * f);
            var dM = new T[n * d];
            Linear.Backward(t.M, p.GateProj, dGate, dM, gl.GateProj, null, n, d, f);
            Linear.Backward(t.M, p.UpProj, dUp, dM, gl.UpProj, null, n, d, f);
            RmsNorm.Backward(t.HMid, p.PostAttentionNorm, Eps, dM, dh, gl.PostAttentionNorm, n, d);

            // hMid = hIn + O(Attention(RoPE(Q(a)), RoPE(K(a)), V(a))),  a = RmsNorm(hIn)
            dDelta = new T[n * d];
            ResidualAdd.Backward(dh, dDelta, n * d);
            var dAttn = new T[n * d];
            Linear.Backward(t.Attn, p.OProj, dDelta, dAttn, gl.OProj, null, n, d, d);
            var dq = new T[n * d];
            var dk = new T[n * kv];
            var dv = new T[n * kv];
            Attention.Backward(t.Q, t.K, t.V, null, Causal, dAttn, dq, dk, dv, n, heads, kvHeads, headDim);
            RotaryEmbedding.Backward(dq, tape.Cos, tape.Sin, n, heads, headDim);
            RotaryEmbedding.Backward(dk, tape.Cos, tape.Sin, n, kvHeads, headDim);
            var dA = new T[n * d];
            Linear.Backward(t.A, p.QProj, dq, dA, gl.QProj, gl.QBias, n, d, d);
            Linear.Backward(t.A, p.KProj, dk, dA, gl.KProj, gl.KBias, n, d, kv);
            Linear.Backward(t.A, p.VProj, dv, dA, gl.VProj, gl.VBias, n, d, kv);
            RmsNorm.Backward(t.HIn, p.InputNorm, Eps, dA, dh, gl.InputNorm, n, d);
        }
        Embedding.Backward(tape.Ids, dh, g.Embedding, n, d);
    }
}
