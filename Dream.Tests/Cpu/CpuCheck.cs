using System.Globalization;
using Dream.Core.Checkpoint;
using Dream.Core.Numerics;
using FsCheck;
using FsCheck.Fluent;

namespace Dream.Tests.Cpu;

/// <summary>
/// Comparisons of a CPU op with its reference twin. Tolerances come from float32 rounding: u = 2⁻²⁴ is the unit
/// roundoff, and a sum of n terms computed in two different orders differs by at most 2·γₙ·Σ|terms| with
/// γₙ = n·u / (1 − n·u) (Higham, Accuracy and Stability of Numerical Algorithms, §3.1).
/// </summary>
public static class CpuCheck
{
    public const double U = 1.0 / (1 << 24);

    public static double Gamma(int n) => n * U / (1 - n * U);

    /// <summary>Fails on the first index where |actual − expected| &gt; atol + rtol·|expected| (NaN must match NaN).</summary>
    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double atol, double rtol, string what) =>
        Close(actual, expected, _ => atol, rtol, what);

    /// <summary>As <see cref="Close(ReadOnlySpan{float}, ReadOnlySpan{float}, double, double, string)"/> with a per-element atol.</summary>
    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, Func<int, double> atol, double rtol, string what)
    {
        if (actual.Length != expected.Length) throw new Xunit.Sdk.XunitException($"{what}: {actual.Length} values, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            float a = actual[i], e = expected[i];
            if (float.IsNaN(e) && float.IsNaN(a)) continue;
            if (a == e) continue;   // also equal infinities
            double allowed = atol(i) + rtol * Math.Abs(e);
            double diff = Math.Abs((double)a - e);
            if (!(diff <= allowed))
                throw new Xunit.Sdk.XunitException(string.Create(CultureInfo.InvariantCulture,
                    $"{what}: first bad index {i}: actual {a:R}, expected {e:R}, |Δ| {diff:E3} > allowed {allowed:E3}"));
        }
    }

    /// <summary>Uniform values in [−scale, scale).</summary>
    public static float[] Values(Random random, int count, float scale = 2f)
    {
        var v = new float[count];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        return v;
    }

    /// <summary>Rounds values to what <paramref name="dtype"/> can hold (so the reference sees exactly the stored weights)
    /// and returns the stored bytes.</summary>
    public static byte[] Store(float[] values, TensorDType dtype)
    {
        switch (dtype)
        {
            case TensorDType.F32:
                return System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
            case TensorDType.BF16:
            {
                var bits = new ushort[values.Length];
                for (int i = 0; i < values.Length; i++) { bits[i] = BFloat16.FromFloat(values[i]); values[i] = BFloat16.ToFloat(bits[i]); }
                return System.Runtime.InteropServices.MemoryMarshal.AsBytes(bits.AsSpan()).ToArray();
            }
            case TensorDType.F16:
            {
                var halves = new Half[values.Length];
                for (int i = 0; i < values.Length; i++) { halves[i] = (Half)values[i]; values[i] = (float)halves[i]; }
                return System.Runtime.InteropServices.MemoryMarshal.AsBytes(halves.AsSpan()).ToArray();
            }
            default: throw new ArgumentOutOfRangeException(nameof(dtype));
        }
    }

    /// <summary>Shrinks every int field of a case towards 1 (halving), one field at a time.</summary>
    public static IEnumerable<int> ShrinkSize(int value, int min = 1)
    {
        if (value > min) yield return min;
        if (value / 2 > min) yield return value / 2;
        if (value - 1 > min) yield return value - 1;
    }

    public static Arbitrary<T> Arbitrary<T>(Gen<T> gen, Func<T, IEnumerable<T>> shrink) => Arb.From(gen, shrink);
}
