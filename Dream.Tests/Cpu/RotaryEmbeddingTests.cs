using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Dream.Tests.Cpu;

public sealed record RopeCase(int Tokens, int Heads, int HalfDim, double Theta, bool Padded, int Seed);

public static class RopeArbitrary
{
    public static Arbitrary<RopeCase> Case() => CpuCheck.Arbitrary(
        from t in LinearArbitrary.Size(40, 1)
        from h in Gen.Choose(1, 5)
        from half in LinearArbitrary.Size(70, 1, 7, 8, 9, 16, 17, 32, 64)
        from theta in Gen.Elements(1e4, 1e6)
        from padded in Gen.Elements(true, false)
        from seed in Gen.Choose(0, int.MaxValue)
        select new RopeCase(t, h, half, theta, padded, seed),
        c => CpuCheck.ShrinkSize(c.Tokens).Select(v => c with { Tokens = v })
            .Concat(CpuCheck.ShrinkSize(c.HalfDim).Select(v => c with { HalfDim = v })));
}

public class RotaryEmbeddingTests
{
    /// <summary>
    /// Tables come from the same float32 formulas (identical bits expected, checked with atol 0); the rotation
    /// x·cos − y·sin rounds each product and the difference once each side, so |Δ| ≤ 2u·(|x·cos| + |y·sin|) + 2u·|ref|
    /// (in practice identical: neither side fuses the multiply-add).
    /// </summary>
    [Property(MaxTest = 100, Arbitrary = [typeof(RopeArbitrary)])]
    public void MatchesReference(RopeCase c)
    {
        var random = new Random(c.Seed);
        int dh = 2 * c.HalfDim;
        // Positions as the loop makes them: 0..T−1, or cumsum(mask) − 1 with pads at 1.
        int pads = c.Padded ? random.Next(c.Tokens) : 0;
        int[] positions = Enumerable.Range(0, c.Tokens).Select(t => t < pads ? 1 : t - pads).ToArray();

        var (cosRef, sinRef) = Dream.Reference.RotaryEmbedding.Tables<float>(positions, c.Tokens, dh, c.Theta);
        var cos = new float[c.Tokens * c.HalfDim];
        var sin = new float[c.Tokens * c.HalfDim];
        Dream.Kernels.Cpu.RotaryEmbedding.Tables(positions, c.Tokens, dh, c.Theta, cos, sin);
        CpuCheck.Close(cos, cosRef, 0, 0, $"RoPE cos table {c}");
        CpuCheck.Close(sin, sinRef, 0, 0, $"RoPE sin table {c}");

        float[] x = CpuCheck.Values(random, c.Tokens * c.Heads * dh);
        float[] expected = (float[])x.Clone();
        Dream.Reference.RotaryEmbedding.Apply(expected, cosRef, sinRef, c.Tokens, c.Heads, dh);
        float[] actual = (float[])x.Clone();
        Dream.Kernels.Cpu.RotaryEmbedding.Apply(actual, cos, sin, c.Tokens, c.Heads, dh);
        CpuCheck.Close(actual, expected, i =>
        {
            int t = i / (c.Heads * dh), j = i % dh % c.HalfDim, row = i - i % dh;
            double xa = x[row + j], xb = x[row + j + c.HalfDim];
            return 2 * CpuCheck.U * (Math.Abs(xa) + Math.Abs(xb)) * 1.0001;
        }, 2 * CpuCheck.U, $"RoPE {c}");
    }
}
