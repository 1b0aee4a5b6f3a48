using Dream.Reference;
using FsCheck;
using FsCheck.Xunit;
using static Dream.Tests.Training.GradientCheck;

namespace Dream.Tests.Training;

/// <summary>
/// Every op's Backward against central finite differences of its Forward, in float64, on random small shapes
/// (sizes that are not powers of two, single rows, one head). The scalar checked is L = Σ c·output with random c,
/// so Backward is fed dOutput = c. FsCheck prints the failing shape and seed; rerun with them to replay.
/// </summary>
public class BackwardOpTests
{
    private const int Tests = 25;

    [Property(MaxTest = Tests)]
    public void Embedding(NonNegativeInt shape, ulong seed)
    {
        int vocab = 1 + shape.Get % 6, dim = 1 + shape.Get / 6 % 5, tokens = 1 + shape.Get / 30 % 7;
        var table = Random(vocab * dim, seed, 0);
        var ids = new int[tokens];
        var rng = new Core.Training.TrainingRandom(seed, 1);
        for (int t = 0; t < tokens; t++) ids[t] = rng.NextInt(vocab); // repeats allowed: their gradients add
        var c = Random(tokens * dim, seed, 2);
        double Loss()
        {
            var y = new double[tokens * dim];
            Reference.Embedding.Forward(table, ids, y, tokens, dim);
            return Dot(c, y);
        }
        var dTable = new double[table.Length];
        Reference.Embedding.Backward(ids, c, dTable, tokens, dim);
        AssertClose("dTable", dTable, Numeric(table, Loss));
    }

    [Property(MaxTest = Tests)]
    public void RmsNormForInputAndWeight(NonNegativeInt shape, ulong seed)
    {
        int tokens = 1 + shape.Get % 4, dim = 1 + shape.Get / 4 % 9;
        var x = Random(tokens * dim, seed, 0, 2);
        var w = Random(dim, seed, 1, 1.5);
        var c = Random(tokens * dim, seed, 2);
        const double eps = 1e-6;
        double Loss()
        {
            var y = new double[x.Length];
            RmsNorm.Forward(x, w, eps, y, tokens, dim);
            return Dot(c, y);
        }
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        RmsNorm.Backward(x, w, eps, c, dx, dw, tokens, dim);
        AssertClose("dx", dx, Numeric(x, Loss));
        AssertClose("dWeight", dw, Numeric(w, Loss));
    }

    [Property(MaxTest = Tests)]
    public void LinearWithAndWithoutBias(NonNegativeInt shape, bool withBias, ulong seed)
    {
        int tokens = 1 + shape.Get % 4, inF = 1 + shape.Get / 4 % 7, outF = 1 + shape.Get / 28 % 6;
        var x = Random(tokens * inF, seed, 0);
        var w = Random(outF * inF, seed, 1);
        double[]? b = withBias ? Random(outF, seed, 2) : null;
        var c = Random(tokens * outF, seed, 3);
        double Loss()
        {
            var y = new double[tokens * outF];
            Linear.Forward(x, w, b, y, tokens, inF, outF);
            return Dot(c, y);
        }
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        double[]? db = withBias ? new double[outF] : null;
        Linear.Backward(x, w, c, dx, dw, db, tokens, inF, outF);
        AssertClose("dx", dx, Numeric(x, Loss));
        AssertClose("dWeight", dw, Numeric(w, Loss));
        if (b is not null) AssertClose("dBias", db!, Numeric(b, Loss));
    }

    [Property(MaxTest = Tests)]
    public void RotaryEmbeddingRotateHalf(NonNegativeInt shape, ulong seed)
    {
        int tokens = 1 + shape.Get % 5, heads = 1 + shape.Get / 5 % 3, headDim = 2 * (1 + shape.Get / 15 % 4);
        var positions = Enumerable.Range(0, tokens).Select(t => (t * 7 + 3) % 11).ToArray(); // not just 0..T−1
        var (cos, sin) = RotaryEmbedding.Tables<double>(positions, tokens, headDim, 10000.0);
        var x = Random(tokens * heads * headDim, seed, 0);
        var c = Random(x.Length, seed, 1);
        double Loss()
        {
            var y = (double[])x.Clone();
            RotaryEmbedding.Apply(y, cos, sin, tokens, heads, headDim);
            return Dot(c, y);
        }
        var dx = (double[])c.Clone();
        RotaryEmbedding.Backward(dx, cos, sin, tokens, heads, headDim);
        AssertClose("dx", dx, Numeric(x, Loss));
    }

    [Property(MaxTest = Tests)]
    public void AttentionBidirectionalCausalAndPadded(NonNegativeInt shape, bool causal, bool padded, ulong seed)
    {
        int tokens = 1 + shape.Get % 6, kvHeads = 1 + shape.Get / 6 % 2, group = 1 + shape.Get / 12 % 3;
        int heads = kvHeads * group, headDim = 2 * (1 + shape.Get / 36 % 3);
        var q = Random(tokens * heads * headDim, seed, 0, 2);
        var k = Random(tokens * kvHeads * headDim, seed, 1, 2);
        var v = Random(tokens * kvHeads * headDim, seed, 2);
        var c = Random(q.Length, seed, 3);
        bool[]? isReal = null;
        if (padded)
        {
            var rng = new Core.Training.TrainingRandom(seed, 4);
            isReal = Enumerable.Range(0, tokens).Select(_ => rng.NextDouble() < 0.7).ToArray();
            isReal[tokens - 1] = true; // at least one real key
        }
        double Loss()
        {
            var y = new double[q.Length];
            Attention.Forward(q, k, v, isReal, causal, y, tokens, heads, kvHeads, headDim);
            return Dot(c, y);
        }
        var dq = new double[q.Length];
        var dk = new double[k.Length];
        var dv = new double[v.Length];
        Attention.Backward(q, k, v, isReal, causal, c, dq, dk, dv, tokens, heads, kvHeads, headDim);
        AssertClose("dq", dq, Numeric(q, Loss));
        AssertClose("dk", dk, Numeric(k, Loss));
        AssertClose("dv", dv, Numeric(v, Loss));
    }

    [Fact]
    public void CausalAttentionIgnoresLaterKeys()
    {
        // Row 0 of a causal pass sees only key 0, so it returns v[0] whatever the other keys hold.
        double[] q = { 1, 2, 3, 4 }, k = { 0.5, 1, 9, 9 }, v = { 7, 8, -5, 6 };
        var y = new double[4];
        Attention.Forward(q, k, v, null, causal: true, y, tokens: 2, heads: 1, kvHeads: 1, headDim: 2);
        Assert.Equal(7, y[0], 12);
        Assert.Equal(8, y[1], 12);
    }

    [Property(MaxTest = Tests)]
    public void SwiGluForGateAndUp(NonNegativeInt count, ulong seed)
    {
        int n = 1 + count.Get % 17;
        var gate = Random(n, seed, 0, 4);
        var up = Random(n, seed, 1, 2);
        var c = Random(n, seed, 2);
        double Loss()
        {
            var y = new double[n];
            SwiGlu.Forward(gate, up, y, n);
            return Dot(c, y);
        }
        var dGate = new double[n];
        var dUp = new double[n];
        SwiGlu.Backward(gate, up, c, dGate, dUp, n);
        AssertClose("dGate", dGate, Numeric(gate, Loss));
        AssertClose("dUp", dUp, Numeric(up, Loss));
    }

    [Property(MaxTest = Tests)]
    public void ResidualAddPassesGradientThrough(NonNegativeInt count, ulong seed)
    {
        int n = 1 + count.Get % 13;
        var h = Random(n, seed, 0);
        var delta = Random(n, seed, 1);
        var c = Random(n, seed, 2);
        double Loss()
        {
            var y = (double[])h.Clone();
            ResidualAdd.Forward(y, delta, n);
            return Dot(c, y);
        }
        var dh = (double[])c.Clone();
        var dDelta = new double[n];
        ResidualAdd.Backward(dh, dDelta, n);
        AssertClose("dh", dh, Numeric(h, Loss));
        AssertClose("dDelta", dDelta, Numeric(delta, Loss));
    }

    [Property(MaxTest = Tests)]
    public void CrossEntropyForLogits(NonNegativeInt shape, ulong seed)
    {
        int rows = 1 + shape.Get % 5, vocab = 2 + shape.Get / 5 % 9;
        var logits = Random(rows * vocab, seed, 0, 5);
        var weights = Random(rows, seed, 1);
        var rng = new Core.Training.TrainingRandom(seed, 2);
        var targets = Enumerable.Range(0, rows).Select(_ => rng.NextInt(vocab)).ToArray();
        double Loss() => CrossEntropy.Forward(logits, targets, weights, rows, vocab);
        var d = new double[logits.Length];
        CrossEntropy.Backward(logits, targets, weights, 1.0, d, rows, vocab);
        AssertClose("dLogits", d, Numeric(logits, Loss));
    }

    [Fact]
    public void CrossEntropyOfUniformLogitsIsLogV()
    {
        var logits = new double[] { 3, 3, 3, -1e30, 0, 0 }; // second row: a −1e30 mask must not produce NaN
        double loss = CrossEntropy.Forward(logits, new[] { 2, 1 }, new[] { 1.0, 0.5 }, rows: 2, vocab: 3);
        Assert.Equal(Math.Log(3) + 0.5 * Math.Log(2), loss, 12);
    }
}
