using Dream.Core.Training;

namespace Dream.Tests.Training;

/// <summary>
/// Central finite differences in float64, the yardstick every Backward is held to:
///   ∂L/∂x_i ≈ (L(x + h·e_i) − L(x − h·e_i)) / 2h,  error O(h²) + O(ε/h)
/// with h = 1e-5 both terms stay near 1e-10, far below the tolerance.
/// </summary>
public static class GradientCheck
{
    public const double Step = 1e-5;

    /// <summary>Numerical gradient of <paramref name="loss"/> with respect to every element of <paramref name="x"/> (restored after).</summary>
    public static double[] Numeric(double[] x, Func<double> loss)
    {
        var g = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double keep = x[i];
            x[i] = keep + Step;
            double plus = loss();
            x[i] = keep - Step;
            double minus = loss();
            x[i] = keep;
            g[i] = (plus - minus) / (2 * Step);
        }
        return g;
    }

    /// <summary>Asserts |a − n| ≤ atol + rtol·|n| everywhere; on failure names the first bad index and both values.</summary>
    public static void AssertClose(string what, double[] analytic, double[] numeric, double atol = 1e-7, double rtol = 1e-5)
    {
        Assert.Equal(numeric.Length, analytic.Length);
        for (int i = 0; i < numeric.Length; i++)
        {
            if (Math.Abs(analytic[i] - numeric[i]) <= atol + rtol * Math.Abs(numeric[i])) continue;
            Assert.Fail($"{what}: gradient differs first at index {i}: analytic {analytic[i]:R}, finite difference {numeric[i]:R}");
        }
    }

    /// <summary>Random values in [−scale, scale) from a replayable stream.</summary>
    public static double[] Random(int count, ulong seed, long stream, double scale = 1)
    {
        var rng = new TrainingRandom(seed, stream);
        var x = new double[count];
        for (int i = 0; i < count; i++) x[i] = scale * (2 * rng.NextDouble() - 1);
        return x;
    }

    /// <summary>L = Σ_i c_i·y_i: its gradient with respect to y is c, which is what a Backward is fed.</summary>
    public static double Dot(double[] c, double[] y)
    {
        double s = 0;
        for (int i = 0; i < c.Length; i++) s += c[i] * y[i];
        return s;
    }
}
