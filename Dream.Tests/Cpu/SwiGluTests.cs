using FsCheck.Xunit;

namespace Dream.Tests.Cpu;

public class SwiGluTests
{
    /// <summary>
    /// silu(g)·u with a vectorised exp (≤ 1 ulp in .NET's implementation, allowed 2) instead of MathF.Exp; the add,
    /// divide and multiply round once each: rtol = 8u, plus an atol of the smallest normal for underflowing products.
    /// Inputs include ±80 (exp overflow / underflow) and special values.
    /// </summary>
    [Property(MaxTest = 100, Arbitrary = [typeof(RowsArbitrary)])]
    public void MatchesReference(RowsCase c)
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
}
