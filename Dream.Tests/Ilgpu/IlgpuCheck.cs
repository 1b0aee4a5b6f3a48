using Dream.Core.Numerics;
using FsCheck;
using FsCheck.Fluent;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// Helpers shared by the kernel properties: generators that hunt edges (one row, odd sizes, sizes that are not
/// multiples of the group or tile), device round trips, and the comparison that reports the first bad index.
/// </summary>
public static class IlgpuCheck
{
    /// <summary>Unit roundoff of float32 (round to nearest): 2^-24.</summary>
    public const double U = 1.0 / (1 << 24);

    /// <summary>γ_n = n·u / (1 − n·u): the classic bound on the relative error of an n-term float32 sum of products (Higham, §3.1).</summary>
    public static double Gamma(int n) => n * U / (1 - n * U);

    /// <summary>
    /// Over every (query, head, key) of dense q [B·T, H, Dh] and k [B·T, Hkv, Dh] (keys of the query's own batch row,
    /// head h reading kv head h / (H/Hkv)): the largest |score| and the largest bound on a score's error,
    /// 2·γ·scale·Σ|q·k| + 2u·|score|, with γ the summation bound of the kernel's Dh-term dot product (Gamma(Dh),
    /// widened by the caller where the kernel sums differently). Attention's error bounds start from these.
    /// </summary>
    public static (double Delta, double MaxScore) ScoreErrors(double[] q, double[] k, int batch, int tokens, int heads, int kvHeads, int dh, double gammaDh)
    {
        int group = heads / kvHeads, n = batch * tokens;
        double scale = 1 / Math.Sqrt(dh), delta = 0, maxScore = 0;
        for (int t = 0; t < n; t++)
        for (int h = 0; h < heads; h++)
        for (int s = 0; s < tokens; s++)
        {
            int key = t / tokens * tokens + s, g = h / group;
            double magnitude = 0, score = 0;
            for (int i = 0; i < dh; i++)
            {
                double p = q[(t * heads + h) * dh + i] * k[(key * kvHeads + g) * dh + i];
                magnitude += Math.Abs(p);
                score += p;
            }
            score *= scale;
            maxScore = Math.Max(maxScore, Math.Abs(score));
            delta = Math.Max(delta, 2 * gammaDh * scale * magnitude + 2 * U * Math.Abs(score));
        }
        return (delta, maxScore);
    }

    /// <summary>A size in [1, max], one a fifth of the time (the single-row / single-element edge).</summary>
    public static Gen<int> Size(int max) => Gen.Frequency((1, Gen.Constant(1)), (4, Gen.Choose(1, max)));

    /// <summary>
    /// A size around a kernel's own edge (a group size, a tile, a chunk): one, below the edge, or across one to
    /// two edges (edge − 2 .. 2·edge + 3), so strided loops, partial tiles and multi-chunk walks all get exercised
    /// whatever device the limits come from.
    /// </summary>
    public static Gen<int> Around(int edge) =>
        Gen.Frequency((1, Gen.Constant(1)), (2, Gen.Choose(1, edge)), (2, Gen.Choose(Math.Max(1, edge - 2), 2 * edge + 3)));

    /// <summary>An even size in [2, 2·maxHalf] (head dimensions must be even for rotate-half).</summary>
    public static Gen<int> EvenSize(int maxHalf) => Gen.Choose(1, maxHalf).Select(h => 2 * h);

    /// <summary>A seed for the values of one case; the case's ToString shows it, so a failure can be replayed.</summary>
    public static Gen<int> Seed => Gen.Choose(0, int.MaxValue - 1);

    /// <summary>Uniform values in [−scale, scale], with an exact zero now and then.</summary>
    public static float[] Values(Random random, int count, float scale = 2f)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++)
            v[i] = random.Next(16) == 0 ? 0f : (float)(random.NextDouble() * 2 - 1) * scale;
        return v;
    }

    /// <summary>Values already representable in bfloat16 (so bf16 weights and their float32 widening agree exactly).</summary>
    public static ushort[] Bf16Values(Random random, int count, float scale = 2f) =>
        Values(random, count, scale).Select(BFloat16.FromFloat).ToArray();

    public static float[] Widen(ushort[] bits) => bits.Select(BFloat16.ToFloat).ToArray();

    public static MemoryBuffer1D<T, Stride1D.Dense> Upload<T>(Accelerator accelerator, T[] values) where T : unmanaged
    {
        var buffer = accelerator.Allocate1D<T>(Math.Max(values.Length, 1));
        if (values.Length > 0) buffer.View.SubView(0, values.Length).CopyFromCPU(accelerator.DefaultStream, values);
        return buffer;
    }

    public static float[] Download(Accelerator accelerator, ArrayView<float> view, int count)
    {
        var result = new float[count];
        accelerator.Synchronize();
        if (count > 0) view.SubView(0, count).CopyToCPU(accelerator.DefaultStream, result);
        return result;
    }

    /// <summary>
    /// Fails with the first index where |actual − expected| &gt; tolerance(i) (or where one is NaN and the other is
    /// not), naming the case, both values, the difference and the allowed bound.
    /// </summary>
    public static void Close(string what, float[] actual, float[] expected, Func<int, double> tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double a = actual[i], e = expected[i];
            if (double.IsNaN(a) && double.IsNaN(e)) continue;
            double diff = Math.Abs(a - e);
            double bound = tolerance(i);
            if (!(diff <= bound) && a != e)
                Assert.Fail($"{what}: first bad index {i} of {expected.Length}: kernel {a:R}, reference {e:R}, |Δ| {diff:E3} > allowed {bound:E3}");
        }
    }

    /// <summary>Bit-for-bit equality (copies and single IEEE operations), reporting the first bad index.</summary>
    public static void Exact(string what, float[] actual, float[] expected) => Close(what, actual, expected, _ => 0);
}
