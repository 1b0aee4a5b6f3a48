using Dream.Core.Checkpoint;
using Dream.Kernels.Cpu;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Dream.Tests.Cpu;

public sealed record RowsCase(int Tokens, int Dim, float Scale, int Seed);

public static class RowsArbitrary
{
    public static Arbitrary<RowsCase> Case() => CpuCheck.Arbitrary(
        from t in LinearArbitrary.Size(12, 1)
        from d in LinearArbitrary.Size(600, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 128, 384)
        from scale in Gen.Elements(1e-3f, 1f, 30f)
        from seed in Gen.Choose(0, int.MaxValue)
        select new RowsCase(t, d, scale, seed),
        c => CpuCheck.ShrinkSize(c.Tokens).Select(v => c with { Tokens = v })
            .Concat(CpuCheck.ShrinkSize(c.Dim).Select(v => c with { Dim = v })));
}

/// <summary>RMSNorm, SwiGLU, the residual add and the embedding lookup against their reference twins.</summary>
public class ElementwiseTests
{
    /// <summary>
    /// The sum of squares (D terms) differs by ≤ 2·γ(D)·Σx²; through the square root that is half as much
    /// relative, and the reciprocal, scale and weight product add ≤ 4u each side: rtol = γ(D) + 16u (atol 0).
    /// </summary>
    [Property(MaxTest = 100, Arbitrary = [typeof(RowsArbitrary)])]
    public void RmsNormMatchesReference(RowsCase c)
    {
        var random = new Random(c.Seed);
        float[] x = CpuCheck.Values(random, c.Tokens * c.Dim, c.Scale);
        float[] weight = CpuCheck.Values(random, c.Dim);
        const float eps = 1e-6f;
        var expected = new float[x.Length];
        Dream.Reference.RmsNorm.Forward(x, weight, eps, expected, c.Tokens, c.Dim);
        var actual = new float[x.Length];
        Dream.Kernels.Cpu.RmsNorm.Forward(x, weight, eps, actual, c.Tokens, c.Dim);
        CpuCheck.Close(actual, expected, 0, CpuCheck.Gamma(c.Dim) + 16 * CpuCheck.U, $"RmsNorm {c}");
    }

    /// <summary>
    /// silu(g)·u with a vectorised exp (≤ 1 ulp in .NET's implementation, allowed 2) instead of MathF.Exp; the add,
    /// divide and multiply round once each: rtol = 8u, plus an atol of the smallest normal for underflowing products.
    /// Inputs include ±80 (exp overflow / underflow) and special values.
    /// </summary>
    [Property(MaxTest = 100, Arbitrary = [typeof(RowsArbitrary)])]
    public void SwiGluMatchesReference(RowsCase c)
    {
        var random = new Random(c.Seed);
        int n = c.Tokens * c.Dim;
        float[] gate = CpuCheck.Values(random, n, c.Scale * 3);
        float[] up = CpuCheck.Values(random, n, c.Scale);
        float[] specials = [80f, -80f, 0f, -0f, float.PositiveInfinity, float.NaN, 1e-30f];
        for (int i = 0; i < Math.Min(n / 5, specials.Length); i++) gate[random.Next(n)] = specials[i];
        var expected = new float[n];
        Dream.Reference.SwiGlu.Forward(gate, up, expected, n);
        var actual = new float[n];
        Dream.Kernels.Cpu.SwiGlu.Forward(gate, up, actual, n);
        CpuCheck.Close(actual, expected, 1.2e-38, 8 * CpuCheck.U, $"SwiGlu {c}");
    }

    /// <summary>One float32 addition each side: bit-identical (atol 0, rtol 0).</summary>
    [Property(MaxTest = 50, Arbitrary = [typeof(RowsArbitrary)])]
    public void ResidualAddMatchesReference(RowsCase c)
    {
        var random = new Random(c.Seed);
        int n = c.Tokens * c.Dim;
        float[] h = CpuCheck.Values(random, n, c.Scale);
        float[] delta = CpuCheck.Values(random, n);
        float[] expected = (float[])h.Clone();
        Dream.Reference.ResidualAdd.Forward(expected, delta, n);
        Dream.Kernels.Cpu.ResidualAdd.Forward(h, delta, n);
        CpuCheck.Close(h, expected, 0, 0, $"ResidualAdd {c}");
    }

    /// <summary>A row gather with exact widening from bf16/f16/f32: bit-identical (atol 0, rtol 0).</summary>
    [Property(MaxTest = 50, Arbitrary = [typeof(RowsArbitrary)])]
    public unsafe void EmbeddingMatchesReference(RowsCase c)
    {
        var random = new Random(c.Seed);
        int vocab = 1 + random.Next(50);
        var dtype = (TensorDType)new[] { TensorDType.F32, TensorDType.BF16, TensorDType.F16 }[random.Next(3)];
        float[] table = CpuCheck.Values(random, vocab * c.Dim, c.Scale);
        byte[] stored = CpuCheck.Store(table, dtype);
        int[] ids = Enumerable.Range(0, c.Tokens).Select(_ => random.Next(vocab)).ToArray();
        var expected = new float[c.Tokens * c.Dim];
        Dream.Reference.Embedding.Forward(table, ids, expected, c.Tokens, c.Dim);
        var actual = new float[c.Tokens * c.Dim];
        fixed (byte* p = stored)
            Dream.Kernels.Cpu.Embedding.Forward(new WeightMatrix((nint)p, dtype, vocab, c.Dim, c.Dim), ids, actual, c.Tokens, c.Dim);
        CpuCheck.Close(actual, expected, 0, 0, $"Embedding {c} {dtype}");
    }
}
