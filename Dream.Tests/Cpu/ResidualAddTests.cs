using FsCheck.Xunit;

namespace Dream.Tests.Cpu;

public class ResidualAddTests
{
    /// <summary>One float32 addition each side: bit-identical (atol 0, rtol 0).</summary>
    [Property(MaxTest = 50, Arbitrary = [typeof(RowsArbitrary)])]
    public void MatchesReference(RowsCase c)
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
}
