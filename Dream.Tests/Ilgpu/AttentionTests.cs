using FsCheck;
using FsCheck.Fluent;
using static Dream.Tests.Ilgpu.IlgpuCheck;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// Bidirectional GQA with a pad mask against Dream.Reference.Attention, batch row by batch row: random group
/// sizes (H/Hkv), odd head dims, one token, T and Dh on both sides of the group size, masks with pad tokens anywhere (pad query rows must be exactly zero).
/// Tolerance, from float32 rounding: a score is off by at most δ = 2γ_Dh·scale·Σ|q·k| + 2u·|score|; the max and
/// each exp(score − max) then carry ≤ 2δ, the exp itself ε_exp = 2^-21 + 2·max|score|·2^-23 (a GPU exp is an
/// approximation), the sum of T weights γ_T; the output is a convex combination of v rows, so
/// |Δ| ≤ max|v|·(4δ + 2ε_exp + 2γ_T + 4u).
/// </summary>
[Collection(IlgpuCollection.Name)]
public class AttentionTests
{
    public sealed record Case(int Batch, int Tokens, int KvHeads, int Group, int HeadDim, bool Padded, int Seed);

    private static Arbitrary<Case> Cases =>
        (from batch in Gen.Choose(1, 2) from tokens in Around(IlgpuTestDevice.Kernels.ReductionGroupSize) from kvHeads in Size(3) from perKv in Size(3)
         from dh in Around(IlgpuTestDevice.Kernels.ReductionGroupSize) from padded in Gen.Elements(false, true) from seed in Seed
         select new Case(batch, tokens, kvHeads, perKv, dh, padded, seed)).ToArbitrary();

    [IlgpuProperty(MaxTest = 25)]
    public Property AttentionMatchesReference() => Prop.ForAll(Cases, c =>
    {
        var random = new Random(c.Seed);
        var acc = IlgpuTestDevice.Kernels.Accelerator;
        int heads = c.KvHeads * c.Group, n = c.Batch * c.Tokens, dh = c.HeadDim;
        float[] q = Values(random, n * heads * dh), k = Values(random, n * c.KvHeads * dh), v = Values(random, n * c.KvHeads * dh);
        int[] isReal = Enumerable.Range(0, n).Select(_ => !c.Padded || random.Next(3) != 0 ? 1 : 0).ToArray();

        var expected = new float[n * heads * dh];
        for (int b = 0; b < c.Batch; b++)
        {
            float[] Slice(float[] a, int width) => a.AsSpan(b * c.Tokens * width, c.Tokens * width).ToArray();
            var output = new float[c.Tokens * heads * dh];
            bool[]? real = c.Padded ? isReal.Skip(b * c.Tokens).Take(c.Tokens).Select(r => r != 0).ToArray() : null;
            Dream.Reference.Attention.Forward(Slice(q, heads * dh), Slice(k, c.KvHeads * dh), Slice(v, c.KvHeads * dh), real, output, c.Tokens, heads, c.KvHeads, dh);
            output.CopyTo(expected, b * c.Tokens * heads * dh);
        }

        using var qBuffer = Upload(acc, q);
        using var kBuffer = Upload(acc, k);
        using var vBuffer = Upload(acc, v);
        using var realBuffer = Upload(acc, isReal);
        using var outBuffer = acc.Allocate1D<float>(expected.Length);
        Dream.Kernels.Ilgpu.Attention.Forward(IlgpuTestDevice.Kernels, qBuffer.View, kBuffer.View, vBuffer.View, realBuffer.View, outBuffer.View,
            c.Batch, c.Tokens, heads, c.KvHeads, dh);

        var (delta, maxScore) = ScoreErrors(Array.ConvertAll(q, x => (double)x), Array.ConvertAll(k, x => (double)x),
            c.Batch, c.Tokens, heads, c.KvHeads, dh, Gamma(dh));
        double epsExp = Math.Pow(2, -21) + 2 * maxScore * Math.Pow(2, -23);
        double maxV = v.Length == 0 ? 0 : v.Max(Math.Abs);
        double bound = 1e-30 + maxV * (4 * delta + 2 * epsExp + 2 * Gamma(c.Tokens) + 4 * U);
        Close(c.ToString(), Download(acc, outBuffer.View, expected.Length), expected, _ => bound);
        float[] actual = Download(acc, outBuffer.View, expected.Length);
        for (int t = 0; t < n; t++)
            if (isReal[t] == 0)
                for (int i = 0; i < heads * dh; i++)
                    Assert.True(actual[t * heads * dh + i] == 0f, $"{c}: pad query row {t} has a non-zero output at {i}: {actual[t * heads * dh + i]}");
    });
}
