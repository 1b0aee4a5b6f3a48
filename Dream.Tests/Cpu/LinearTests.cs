using Dream.Core.Checkpoint;
using Dream.Kernels.Cpu;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Dream.Tests.Cpu;

/// <param name="Tokens">M, rows of x (crosses the micro-kernel's 6 rows).</param>
/// <param name="In">K (crosses the 128-wide K blocks).</param>
/// <param name="Out">N (crosses the 16/32-column panels and 256-column blocks).</param>
public sealed record LinearCase(int Tokens, int In, int Out, TensorDType DType, bool Bias, int Workers, int Seed);

public static class LinearArbitrary
{
    /// <summary>Mostly small odd sizes, sometimes sizes right at a blocking boundary.</summary>
    public static Gen<int> Size(int max, params int[] edges) =>
        Gen.Frequency((3, Gen.Choose(1, max)), (1, Gen.Elements(edges)));

    public static Arbitrary<LinearCase> Case() => CpuCheck.Arbitrary(
        from m in Size(40, 1, 5, 6, 7, 12, 13)
        from k in Size(700, 1, 7, 8, 9, 127, 128, 129, 257, 513)
        from n in Size(300, 1, 15, 16, 17, 31, 32, 33, 255, 256, 257)
        from dtype in Gen.Elements(TensorDType.F32, TensorDType.BF16, TensorDType.F16)
        from bias in Gen.Elements(true, false)
        from workers in Gen.Choose(1, 3)
        from seed in Gen.Choose(0, int.MaxValue)
        select new LinearCase(m, k, n, dtype, bias, workers, seed),
        c => CpuCheck.ShrinkSize(c.Tokens).Select(v => c with { Tokens = v })
            .Concat(CpuCheck.ShrinkSize(c.In).Select(v => c with { In = v }))
            .Concat(CpuCheck.ShrinkSize(c.Out).Select(v => c with { Out = v })));
}

public class LinearTests
{
    /// <summary>
    /// cpu Linear vs reference Linear on the same stored weights. Each output is a K-term dot product plus a bias,
    /// summed in a different order by the two, so |Δ| ≤ 2·γ(K+2)·(Σ|x·w| + |b|) (rtol 0).
    /// </summary>
    [Property(MaxTest = 80, Arbitrary = [typeof(LinearArbitrary)])]
    public unsafe void MatchesReference(LinearCase c)
    {
        var random = new Random(c.Seed);
        float[] x = CpuCheck.Values(random, c.Tokens * c.In);
        float[] w = CpuCheck.Values(random, c.Out * c.In);
        byte[] stored = CpuCheck.Store(w, c.DType);                      // w now holds exactly the stored values
        float[]? bias = c.Bias ? CpuCheck.Values(random, c.Out) : null;

        var expected = new float[c.Tokens * c.Out];
        Dream.Reference.Linear.Forward(x, w, bias, expected, c.Tokens, c.In, c.Out);

        var actual = new float[c.Tokens * c.Out];
        using var workspace = new CpuWorkspace(c.Workers);
        fixed (byte* pw = stored)
        {
            var weight = new WeightMatrix((nint)pw, c.DType, c.Out, c.In, c.In);
            Dream.Kernels.Cpu.Linear.Forward(x, weight, bias, actual, c.Tokens, c.In, c.Out, workspace);
        }

        double gamma = 2 * CpuCheck.Gamma(c.In + 2);
        CpuCheck.Close(actual, expected, i =>
        {
            int t = i / c.Out, o = i % c.Out;
            double sum = bias is null ? 0 : Math.Abs(bias[o]);
            for (int k = 0; k < c.In; k++) sum += Math.Abs((double)x[t * c.In + k] * w[o * c.In + k]);
            return gamma * sum;
        }, 0, $"Linear {c}");
    }

    /// <summary>The A·B layout (B stored [K, N], attention's P·V) against a plain triple loop, same bound.</summary>
    [Property(MaxTest = 40, Arbitrary = [typeof(LinearArbitrary)])]
    public unsafe void InByOutLayoutMatchesPlainLoop(LinearCase c)
    {
        var random = new Random(c.Seed);
        float[] a = CpuCheck.Values(random, c.Tokens * c.In);
        float[] b = CpuCheck.Values(random, c.In * c.Out);               // [K, N]
        var expected = new float[c.Tokens * c.Out];
        for (int i = 0; i < c.Tokens; i++)
        for (int j = 0; j < c.Out; j++)
        {
            float sum = 0;
            for (int k = 0; k < c.In; k++) sum += a[i * c.In + k] * b[k * c.Out + j];
            expected[i * c.Out + j] = sum;
        }

        var actual = new float[c.Tokens * c.Out];
        using var workspace = new CpuWorkspace(1);
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = actual)
        {
            Gemm.Run(new GemmProblem
            {
                A = pa, Lda = c.In, B = WeightMatrix.F32(pb, c.In, c.Out, c.Out), Layout = BLayout.InByOut,
                C = pc, Ldc = c.Out, M = c.Tokens, N = c.Out, K = c.In,
            }, workspace.Workers[0].Pack.Pointer, workspace.Workers[0].Tile.Pointer);
        }

        double gamma = 2 * CpuCheck.Gamma(c.In + 1);
        CpuCheck.Close(actual, expected, i =>
        {
            int t = i / c.Out, j = i % c.Out;
            double sum = 0;
            for (int k = 0; k < c.In; k++) sum += Math.Abs((double)a[t * c.In + k] * b[k * c.Out + j]);
            return gamma * sum;
        }, 0, $"Gemm A·B {c}");
    }
}
