using Dream.Kernels.Cpu;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Dream.Tests.Cpu;

public sealed record AttentionCase(int Batch, int Tokens, int KvHeads, int Group, int HeadDim, bool Padded, int Workers, int Seed);

public static class AttentionArbitrary
{
    public static Arbitrary<AttentionCase> Case() => CpuCheck.Arbitrary(
        from b in Gen.Choose(1, 3)
        from t in LinearArbitrary.Size(150, 1, 2, 59, 60, 61, 121)
        from kv in Gen.Choose(1, 3)
        from g in Gen.Choose(1, 4)
        from dh in LinearArbitrary.Size(140, 1, 16, 17, 32, 64, 128)
        from padded in Gen.Elements(true, false)
        from workers in Gen.Choose(1, 3)
        from seed in Gen.Choose(0, int.MaxValue)
        select new AttentionCase(b, t, kv, g, dh, padded, workers, seed),
        c => CpuCheck.ShrinkSize(c.Tokens).Select(v => c with { Tokens = v })
            .Concat(CpuCheck.ShrinkSize(c.HeadDim).Select(v => c with { HeadDim = v }))
            .Concat(CpuCheck.ShrinkSize(c.Batch).Select(v => c with { Batch = v })));
}

public class AttentionTests
{
    /// <summary>
    /// Batched cpu attention vs the reference run per batch row. A score is a Dh-term dot product times 1/sqrt(Dh):
    /// |Δscore| ≤ ε = 2·γ(Dh+2)·max Σ|q·k|/sqrt(Dh); a shift ε of the scores moves each softmax weight by a factor
    /// e^(±2ε), and the T-term weighted sum and its normaliser add 2·γ(T+4) more, so
    /// |Δout| ≤ (4ε + 2·γ(T+4) + 8u)·max|v| (rtol 0). Padded query rows must be exactly zero on both sides.
    /// </summary>
    [Property(MaxTest = 60, Arbitrary = [typeof(AttentionArbitrary)])]
    public void MatchesReference(AttentionCase c)
    {
        var random = new Random(c.Seed);
        int heads = c.KvHeads * c.Group, n = c.Tokens, dh = c.HeadDim;
        float[] q = CpuCheck.Values(random, c.Batch * n * heads * dh);
        float[] k = CpuCheck.Values(random, c.Batch * n * c.KvHeads * dh);
        float[] v = CpuCheck.Values(random, c.Batch * n * c.KvHeads * dh);
        // Left padding as the loop makes it: a prefix of each row (possibly the whole row) is pad.
        bool[] isReal = new bool[c.Batch * n];
        for (int b = 0; b < c.Batch; b++)
        {
            int pads = c.Padded ? random.Next(n + 1) : 0;
            for (int t = 0; t < n; t++) isReal[b * n + t] = t >= pads;
        }

        var expected = new float[q.Length];
        for (int b = 0; b < c.Batch; b++)
        {
            float[] rowOut = new float[n * heads * dh];
            Dream.Reference.Attention.Forward(
                q.AsSpan(b * n * heads * dh, n * heads * dh).ToArray(),
                k.AsSpan(b * n * c.KvHeads * dh, n * c.KvHeads * dh).ToArray(),
                v.AsSpan(b * n * c.KvHeads * dh, n * c.KvHeads * dh).ToArray(),
                c.Padded ? isReal.AsSpan(b * n, n).ToArray() : null, rowOut, n, heads, c.KvHeads, dh);
            rowOut.CopyTo(expected, b * n * heads * dh);
        }

        var actual = new float[q.Length];
        actual.AsSpan().Fill(float.NaN);   // every element must be written
        using var workspace = new CpuWorkspace(c.Workers);
        Dream.Kernels.Cpu.Attention.Forward(q, k, v, c.Padded ? isReal : default, actual, c.Batch, n, heads, c.KvHeads, dh, workspace);

        double maxQk = 0;
        for (int i = 0; i < q.Length; i += dh)
        {
            double maxAbsQ = 0;
            for (int j = 0; j < dh; j++) maxAbsQ = Math.Max(maxAbsQ, Math.Abs(q[i + j]));
            maxQk = Math.Max(maxQk, maxAbsQ);
        }
        double maxAbsK = k.Max(Math.Abs), maxAbsV = v.Max(Math.Abs);
        double eps = 2 * CpuCheck.Gamma(dh + 2) * dh * maxQk * maxAbsK / Math.Sqrt(dh);
        double atol = (4 * eps + 2 * CpuCheck.Gamma(n + 4) + 8 * CpuCheck.U) * maxAbsV;
        CpuCheck.Close(actual, expected, i => isReal[i / (heads * dh)] ? atol : 0, 0, $"Attention {c}");
    }
}
