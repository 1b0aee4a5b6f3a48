using System.Numerics;
using Dream.Core.Checkpoint;
using Dream.Core.Model;

namespace Dream.Reference;

/// <summary>
/// The oracle: Dream's forward pass (docs: dream-reference.md §2) composed from the plain ops in this project,
/// computing in <typeparamref name="T"/> (float or double). Weights are widened into managed arrays once, so
/// this is meant for small models and for checking other backends — not for running 7B.
///
///   ids [T] → Embedding → h [T, D]
///   per layer: a = RmsNorm(h); q,k,v = Linear(a) (+bias); RoPE(q,k); o = Attention(q,k,v); h += Linear(o)
///              m = RmsNorm(h); h += Linear_down(SwiGlu(Linear_gate(m), Linear_up(m)))
///   requested rows of h → RmsNorm_final → Linear_lm_head → logits [rows, V]
/// </summary>
public class ReferenceModel<T> : IForwardModel where T : IFloatingPointIeee754<T>
{
    private sealed class Layer
    {
        public required T[] InputNorm, Q, QBias, K, KBias, V, VBias, O, PostNorm, Gate, Up, Down;
    }

    private readonly T[] _embedding, _finalNorm, _lmHead;
    private readonly Layer[] _layers;
    private readonly T _eps;

    public DreamConfig Config { get; }
    public virtual string BackendName => typeof(T) == typeof(double) ? "reference-f64" : "reference";

    public ReferenceModel(DreamWeights weights)
    {
        Config = weights.Config;
        _eps = T.CreateChecked(Config.RmsNormEps);
        _embedding = Widen(weights.Embedding);
        _finalNorm = Widen(weights.FinalNorm);
        _lmHead = weights.LmHead.Address == weights.Embedding.Address // tied: share the widened table
            ? _embedding
            : Widen(weights.LmHead);
        _layers = weights.Layers.Select(l => new Layer
        {
            InputNorm = Widen(l.InputNorm), Q = Widen(l.QProj), QBias = Widen(l.QBias),
            K = Widen(l.KProj), KBias = Widen(l.KBias), V = Widen(l.VProj), VBias = Widen(l.VBias),
            O = Widen(l.OProj), PostNorm = Widen(l.PostAttentionNorm),
            Gate = Widen(l.GateProj), Up = Widen(l.UpProj), Down = Widen(l.DownProj),
        }).ToArray();
    }

    // bf16, f16 and f32 all widen exactly to double, and from there exactly to T.
    private static T[] Widen(TensorView view) => view.ToFloat64().Select(T.CreateChecked).ToArray();

    public void Forward(ForwardInput input, ReadOnlySpan<int> rows, Span<float> logits)
    {
        var wide = new T[logits.Length];
        Forward(input, rows, wide);
        for (int i = 0; i < wide.Length; i++) logits[i] = float.CreateChecked(wide[i]);
    }

    /// <summary>The same forward pass with logits kept in <typeparamref name="T"/> (float64 checks).</summary>
    public void Forward(ForwardInput input, ReadOnlySpan<int> rows, Span<T> logits)
    {
        ForwardChecks.Validate(Config, input, rows, logits.Length);
        int vocab = Config.VocabSize;
        for (int b = 0; b < input.Batch; b++)
        {
            // Requested rows in this batch row, and where their logits go.
            var mine = new List<(int Token, int Slot)>();
            for (int r = 0; r < rows.Length; r++)
                if (rows[r] / input.Length == b) mine.Add((rows[r] % input.Length, r));
            if (mine.Count == 0) continue;

            T[] hidden = HiddenStates(input, b);                           // [T, D], after the final norm's input
            int d = Config.HiddenSize;
            var selected = new T[mine.Count * d];                          // [R, D]
            for (int i = 0; i < mine.Count; i++) Array.Copy(hidden, mine[i].Token * d, selected, i * d, d);
            var normed = new T[selected.Length];
            RmsNorm.Forward(selected, _finalNorm, _eps, normed, mine.Count, d);
            var rowLogits = new T[mine.Count * vocab];                     // [R, V]
            Linear.Forward(normed, _lmHead, null, rowLogits, mine.Count, d, vocab);
            for (int i = 0; i < mine.Count; i++)
                rowLogits.AsSpan(i * vocab, vocab).CopyTo(logits.Slice(mine[i].Slot * vocab, vocab));
        }
    }

    /// <summary>The residual stream after the last layer for batch row <paramref name="b"/>: [T, D].</summary>
    private T[] HiddenStates(ForwardInput input, int b)
    {
        int n = input.Length, d = Config.HiddenSize, f = Config.IntermediateSize;
        int heads = Config.NumAttentionHeads, kvHeads = Config.NumKeyValueHeads, dh = Config.HeadDim, kvDim = Config.KvDim;

        int[] ids = input.Ids.AsSpan(b * n, n).ToArray();
        int[] positions = input.Positions.AsSpan(b * n, n).ToArray();
        bool[]? isReal = input.AttentionMask is null ? null : Enumerable.Range(0, n).Select(t => input.IsReal(b, t)).ToArray();

        var h = new T[n * d];
        Embedding.Forward(_embedding, ids, h, n, d);
        var (cos, sin) = RotaryEmbedding.Tables<T>(positions, n, dh, Config.RopeTheta, Config.RopeInvFreqDType);

        var a = new T[n * d];
        var q = new T[n * d];
        var k = new T[n * kvDim];
        var v = new T[n * kvDim];
        var attn = new T[n * d];
        var delta = new T[n * d];
        var gate = new T[n * f];
        var up = new T[n * f];
        var act = new T[n * f];
        foreach (var layer in _layers)
        {
            RmsNorm.Forward(h, layer.InputNorm, _eps, a, n, d);
            Linear.Forward(a, layer.Q, layer.QBias, q, n, d, d);
            Linear.Forward(a, layer.K, layer.KBias, k, n, d, kvDim);
            Linear.Forward(a, layer.V, layer.VBias, v, n, d, kvDim);
            RotaryEmbedding.Apply(q, cos, sin, n, heads, dh);
            RotaryEmbedding.Apply(k, cos, sin, n, kvHeads, dh);
            Attention.Forward(q, k, v, isReal, attn, n, heads, kvHeads, dh);
            Linear.Forward(attn, layer.O, null, delta, n, d, d);
            ResidualAdd.Forward(h, delta, n * d);

            RmsNorm.Forward(h, layer.PostNorm, _eps, a, n, d);
            Linear.Forward(a, layer.Gate, null, gate, n, d, f);
            Linear.Forward(a, layer.Up, null, up, n, d, f);
            SwiGlu.Forward(gate, up, act, n * f);
            Linear.Forward(act, layer.Down, null, delta, n, f, d);
            ResidualAdd.Forward(h, delta, n * d);
        }
        return h;
    }

    public void Dispose() => GC.SuppressFinalize(this);
}

/// <summary>The float32 oracle (`--backend reference`).</summary>
public sealed class ReferenceModel(DreamWeights weights) : ReferenceModel<float>(weights);
