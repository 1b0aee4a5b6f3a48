using Dream.Core.Training;
using FsCheck;
using FsCheck.Xunit;
using Fast = Dream.Kernels.Training;
using Ref = Dream.Reference;

namespace Dream.Tests.Training;

/// <summary>
/// Each op of the fast trainer against its plain twin in Dream.Reference (forward and backward), on shapes that
/// are not multiples of the 4×16 micro-kernel, with padding and causal masks. Tolerance |fast − ref| ≤
/// 1e-5 + 1e-4·|ref| (float32 with fused multiply-adds and other summation orders).
/// </summary>
public class TrainingKernelTests
{
    private static float[] Random(int count, ulong seed, long stream, double scale = 1) =>
        GradientCheck.Random(count, seed, stream, scale).Select(x => (float)x).ToArray();

    private static void Close(string what, float[] expected, float[] actual, int count = -1)
    {
        if (count < 0) count = expected.Length;
        for (int i = 0; i < count; i++)
            if (!(Math.Abs(expected[i] - actual[i]) <= 1e-5 + 1e-4 * Math.Abs(expected[i])))
                Assert.Fail($"{what}: first difference at {i}: reference {expected[i]:R}, fast {actual[i]:R}");
    }

    [Property(MaxTest = 60)]
    public void MatMulEqualsTheTextbookProduct(NonNegativeInt shape, bool accumulate, ulong seed)
    {
        int m = 1 + shape.Get % 11, k = 1 + shape.Get / 11 % 40, n = 1 + shape.Get / 440 % 37;
        var a = Random(m * k, seed, 0);
        var b = Random(k * n, seed, 1);
        var c = Random(m * n, seed, 2);
        var expected = (float[])c.Clone();
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double sum = 0;
            for (int p = 0; p < k; p++) sum += (double)a[i * k + p] * b[p * n + j];
            expected[i * n + j] = (float)((accumulate ? c[i * n + j] : 0) + sum);
        }
        var parallel = (float[])c.Clone();
        Fast.MatMul.Multiply(a, b, c, m, k, n, accumulate);
        Fast.MatMul.MultiplyParallel(a, b, parallel, m, k, n, accumulate);
        Close("Multiply", expected, c);
        Assert.Equal(c, parallel); // the split across threads never changes a bit
    }

    [Property(MaxTest = 30)]
    public void LinearForwardAndBackward(NonNegativeInt shape, bool withBias, ulong seed)
    {
        int rows = 1 + shape.Get % 13, inF = 1 + shape.Get / 13 % 21, outF = 1 + shape.Get / 273 % 19;
        var x = Random(rows * inF, seed, 0);
        var w = Random(outF * inF, seed, 1);
        float[]? bias = withBias ? Random(outF, seed, 2) : null;
        var dy = Random(rows * outF, seed, 3);
        var scratch = new float[Math.Max(inF * outF, rows * outF)];

        var y = new float[rows * outF];
        var yFast = new float[rows * outF];
        Ref.Linear.Forward(x, w, bias, y, rows, inF, outF);
        Fast.Linear.Forward(x, w, bias, yFast, scratch, rows, inF, outF);
        Close("y", y, yFast);

        var dx = Random(rows * inF, seed, 4);
        var dxFast = (float[])dx.Clone();
        var dw = Random(outF * inF, seed, 5);
        var dwFast = (float[])dw.Clone();
        float[]? db = withBias ? Random(outF, seed, 6) : null;
        float[]? dbFast = (float[]?)db?.Clone();
        Ref.Linear.Backward(x, w, dy, dx, dw, db, rows, inF, outF);
        Fast.Linear.BackwardInput(dy, w, dxFast, rows, inF, outF);
        Fast.Linear.BackwardWeight(x, dy, dwFast, dbFast, scratch, rows, inF, outF);
        Close("dx", dx, dxFast);
        Close("dWeight", dw, dwFast);
        if (db is not null) Close("dBias", db, dbFast!);
    }

    [Property(MaxTest = 30)]
    public void AttentionForwardAndBackward(NonNegativeInt shape, bool causal, bool padded, ulong seed)
    {
        int tokens = 1 + shape.Get % 9, kvHeads = 1 + shape.Get / 9 % 2, group = 1 + shape.Get / 18 % 3, batch = 1 + shape.Get / 54 % 3;
        int heads = kvHeads * group, headDim = 2 * (1 + shape.Get / 162 % 5);
        int rows = batch * tokens;
        var q = Random(rows * heads * headDim, seed, 0, 2);
        var k = Random(rows * kvHeads * headDim, seed, 1, 2);
        var v = Random(rows * kvHeads * headDim, seed, 2);
        var dOut = Random(q.Length, seed, 3);
        bool[]? isReal = null;
        if (padded)
        {
            var rng = new TrainingRandom(seed, 4);
            isReal = Enumerable.Range(0, rows).Select(i => i % tokens == tokens - 1 || rng.NextDouble() < 0.7).ToArray();
        }

        var output = new float[q.Length];
        var probabilities = new float[batch * heads * tokens * tokens];
        Fast.Attention.Forward(q, k, v, isReal, causal, probabilities, output, batch, tokens, heads, kvHeads, headDim);
        var dq = new float[q.Length];
        var dk = new float[k.Length];
        var dv = new float[v.Length];
        Fast.Attention.Backward(q, k, v, isReal, probabilities, dOut, dq, dk, dv, batch, tokens, heads, kvHeads, headDim);

        for (int b = 0; b < batch; b++)
        {
            float[] Slice(float[] a, int width) => a.AsSpan(b * tokens * width, tokens * width).ToArray();
            int qw = heads * headDim, kw = kvHeads * headDim;
            bool[]? real = isReal?.AsSpan(b * tokens, tokens).ToArray();
            var expected = new float[tokens * qw];
            Ref.Attention.Forward(Slice(q, qw), Slice(k, kw), Slice(v, kw), real, causal, expected, tokens, heads, kvHeads, headDim);
            Close($"output of sequence {b}", expected, Slice(output, qw));
            var eq = new float[tokens * qw];
            var ek = new float[tokens * kw];
            var ev = new float[tokens * kw];
            Ref.Attention.Backward(Slice(q, qw), Slice(k, kw), Slice(v, kw), real, causal, Slice(dOut, qw), eq, ek, ev, tokens, heads, kvHeads, headDim);
            Close($"dq of sequence {b}", eq, Slice(dq, qw));
            Close($"dk of sequence {b}", ek, Slice(dk, kw));
            Close($"dv of sequence {b}", ev, Slice(dv, kw));
        }
    }

    [Property(MaxTest = 30)]
    public void RmsNormSwiGluAndRotaryEmbedding(NonNegativeInt shape, ulong seed)
    {
        int rows = 1 + shape.Get % 70, dim = 2 * (1 + shape.Get / 70 % 9), heads = 1 + shape.Get / 630 % 3;
        var x = Random(rows * dim, seed, 0, 2);
        var w = Random(dim, seed, 1);
        var dy = Random(rows * dim, seed, 2);
        var y = new float[x.Length];
        var yFast = new float[x.Length];
        var inverseRms = new float[rows];
        Ref.RmsNorm.Forward(x, w, 1e-6f, y, rows, dim);
        Fast.RmsNorm.Forward(x, w, 1e-6f, yFast, inverseRms, rows, dim);
        Close("RmsNorm y", y, yFast);
        var dx = new float[x.Length];
        var dxFast = new float[x.Length];
        var dw = new float[dim];
        var dwFast = new float[dim];
        Ref.RmsNorm.Backward(x, w, 1e-6f, dy, dx, dw, rows, dim);
        Fast.RmsNorm.Backward(x, w, inverseRms, dy, dxFast, dwFast, new float[x.Length], rows, dim);
        Close("RmsNorm dx", dx, dxFast);
        Close("RmsNorm dWeight", dw, dwFast);

        var gate = Random(rows * dim, seed, 3, 4);
        var act = new float[x.Length];
        var actFast = new float[x.Length];
        Ref.SwiGlu.Forward(gate, x, act, x.Length);
        Fast.SwiGlu.Forward(gate, x, actFast, x.Length);
        Close("SwiGlu", act, actFast);
        var dGate = new float[x.Length];
        var dUp = new float[x.Length];
        var dGateFast = new float[x.Length];
        var dUpFast = new float[x.Length];
        Ref.SwiGlu.Backward(gate, x, dy, dGate, dUp, x.Length);
        Fast.SwiGlu.Backward(gate, x, dy, dGateFast, dUpFast, x.Length);
        Close("SwiGlu dGate", dGate, dGateFast);
        Close("SwiGlu dUp", dUp, dUpFast);

        var positions = Enumerable.Range(0, rows).Select(i => i * 3 % 17).ToArray();
        var (cos, sin) = Ref.RotaryEmbedding.Tables<float>(positions, rows, dim, 10000.0);
        var r = Random(rows * heads * dim, seed, 4);
        var rFast = (float[])r.Clone();
        Ref.RotaryEmbedding.Apply(r, cos, sin, rows, heads, dim);
        Fast.RotaryEmbedding.Apply(rFast, cos, sin, rows, heads, dim);
        Close("RoPE", r, rFast);
        Ref.RotaryEmbedding.Backward(r, cos, sin, rows, heads, dim);
        Fast.RotaryEmbedding.Backward(rFast, cos, sin, rows, heads, dim);
        Close("RoPE backward", r, rFast);
    }
}
