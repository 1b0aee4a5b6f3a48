using FsCheck.Xunit;

namespace Dream.Tests.Cpu;

public class RmsNormTests
{
    /// <summary>
    /// The sum of squares (D terms) differs by ≤ 2·γ(D)·Σx²; through the square root that is half as much
    /// relative, and the reciprocal, scale and weight product add ≤ 4u each side: rtol = γ(D) + 16u (atol 0).
    /// </summary>
    [Property(MaxTest = 100, Arbitrary = [typeof(RowsArbitrary)])]
    public void MatchesReference(RowsCase c)
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
}
