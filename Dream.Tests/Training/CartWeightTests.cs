using Dream.Core.Training;
using FsCheck;
using FsCheck.Xunit;

namespace Dream.Tests.Training;

/// <summary>CART's O(L) two-pass weights against the O(L²) definition.</summary>
public class CartWeightTests
{
    [Property(MaxTest = 300)]
    public void TwoPassesEqualTheDirectSum(bool[] masked, NonNegativeInt pChoice)
    {
        double p = new[] { CartWeight.DefaultP, 0.5, 1.0, 0.01, 0.237 }[pChoice.Get % 5];
        var fast = new double[masked.Length];
        var direct = new double[masked.Length];
        CartWeight.Compute(masked, p, fast);
        CartWeight.Direct(masked, p, direct);
        for (int n = 0; n < masked.Length; n++)
            Assert.True(Math.Abs(fast[n] - direct[n]) <= 1e-12 + 1e-12 * Math.Abs(direct[n]),
                $"position {n} of {masked.Length}, p {p}: two-pass {fast[n]:R}, direct {direct[n]:R}");
    }

    [Fact]
    public void HandComputedExample()
    {
        // clean, masked, masked, clean: each masked token has one clean neighbour at distance 1 and one at 2.
        bool[] masked = { false, true, true, false };
        var w = new double[4];
        CartWeight.Compute(masked, 0.1, w);
        double expected = 0.5 * (0.1 * Math.Pow(0.9, 0) + 0.1 * Math.Pow(0.9, 1));
        Assert.Equal(expected, w[1], 15);
        Assert.Equal(expected, w[2], 15);
    }

    [Fact]
    public void NearContextWeighsMoreThanDeepInsideASpan()
    {
        var masked = Enumerable.Range(0, 30).Select(i => i >= 10).ToArray(); // a clean prefix, then a masked span
        var w = new double[30];
        CartWeight.Compute(masked, 0.1, w);
        for (int n = 11; n < 30; n++) Assert.True(w[n] < w[n - 1], $"w({n}) = {w[n]} should fall below w({n - 1}) = {w[n - 1]}");
        // Far from context the weight tends to ½·(1 − (1 − p)^k) sums: for an infinite clean prefix it would be ½.
        Assert.True(w[10] < 0.5);
    }

    [Fact]
    public void RejectsBadP()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CartWeight.Compute(new bool[3], 0, new double[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => CartWeight.Compute(new bool[3], 1.5, new double[3]));
        Assert.Throws<ArgumentException>(() => CartWeight.Compute(new bool[3], 0.1, new double[2]));
    }
}
