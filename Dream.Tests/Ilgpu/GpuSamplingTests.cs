using Dream.Core.Generation;
using FsCheck;
using FsCheck.Fluent;
using ILGPU.Runtime;
using static Dream.Tests.Ilgpu.IlgpuCheck;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// The greedy sampling reductions against the project's host samplers (Dream.Core.Generation's maskgit_plus,
/// topk_margin and entropy at temperature 0: softmax with the max subtracted, argmax of p with first-index ties,
/// p₁ − p₂, Σ p·log(p + 1e-10); dream-reference.md §5).
/// Rows mix spread-out logits, exact ties of the maximum (the first index must win) and dropped logits at
/// float.MinValue, over vocabularies on both sides of the group size.
/// Tolerances from float32 rounding: each p carries the exp error ε_exp = 2^-21 + |l − max|·2^-23 and the float32
/// sum of V terms γ_V, so |Δp| ≤ r·p with r = 2ε_exp + 2γ_V + 4u; the margin subtracts two such values
/// (|Δ| ≤ r·(p₁ + p₂)); the entropy adds V terms p·log p, each within r + 2^-21 relatively (a GPU log is an
/// approximation), plus γ_V for the sum: |Δ| ≤ (2r + γ_V)·Σ|p·log p| + r. When the token differs, the two
/// candidates' probabilities must lie within that tolerance of each other (a near-tie that rounding may flip);
/// exact ties must pick the first index.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class GpuSamplingTests
{
    public sealed record Case(int Rows, int Vocab, float Scale, bool Ties, int Seed);

    private static Arbitrary<Case> Cases =>
        (from rows in Size(5) from vocab in Around(IlgpuTestDevice.Kernels.ReductionGroupSize * 3)
         from scale in Gen.Elements(1f, 10f, 60f) from ties in Gen.Elements(false, true) from seed in Seed
         select new Case(rows, vocab, scale, ties, seed)).ToArbitrary();

    /// <summary>
    /// The oracle for one row is the project's own samplers (Dream.Core.Generation, temperature 0, no filtering):
    /// maskgit_plus's confidence is the max probability, topk_margin's the margin, entropy's Σ p·log(p + 1e-10).
    /// p is returned only to size the tolerances.
    /// </summary>
    private static (int Token, float MaxProb, float Margin, float Entropy, float[] P) Oracle(ReadOnlySpan<float> logits)
    {
        SampledToken Sample(DecodingAlgorithm algorithm, ReadOnlySpan<float> row) =>
            TokenSampler.Create(new GenerationOptions { Algorithm = algorithm }, row.Length).Sample(row, 0);
        var maxProb = Sample(DecodingAlgorithm.MaskGitPlus, logits);
        var margin = Sample(DecodingAlgorithm.TopKMargin, logits);
        var entropy = Sample(DecodingAlgorithm.Entropy, logits);
        Assert.Equal(maxProb.Token, margin.Token);
        Assert.Equal(maxProb.Token, entropy.Token);

        float max = logits[0];
        foreach (float l in logits) if (l > max) max = l;
        var p = new float[logits.Length];
        double sum = 0;
        for (int j = 0; j < p.Length; j++) { p[j] = MathF.Exp(logits[j] - max); sum += p[j]; }
        for (int j = 0; j < p.Length; j++) p[j] = (float)(p[j] / sum);
        return (maxProb.Token, (float)maxProb.Confidence, (float)margin.Confidence, (float)entropy.Confidence, p);
    }

    [IlgpuProperty(MaxTest = 25)]
    public Property GreedySamplingMatchesOracle() => Prop.ForAll(Cases, c =>
    {
        var random = new Random(c.Seed);
        var acc = IlgpuTestDevice.Kernels.Accelerator;
        float[] logits = Values(random, c.Rows * c.Vocab, c.Scale);
        for (int r = 0; r < c.Rows; r++)
        {
            var row = logits.AsSpan(r * c.Vocab, c.Vocab);
            if (random.Next(4) == 0) row[random.Next(c.Vocab)] = float.MinValue;   // a dropped (filtered) logit
            if (c.Ties && c.Vocab > 1)
            {
                // Copy the row's maximum to a second place: an exact tie that the first index must win.
                int at = 0;
                for (int j = 1; j < row.Length; j++) if (row[j] > row[at]) at = j;
                row[random.Next(c.Vocab)] = row[at];
            }
        }

        using var logitsBuffer = Upload(acc, logits);
        using var tokens = acc.Allocate1D<int>(c.Rows);
        using var maxProb = acc.Allocate1D<float>(c.Rows);
        using var margin = acc.Allocate1D<float>(c.Rows);
        using var entropy = acc.Allocate1D<float>(c.Rows);
        Dream.Kernels.Ilgpu.GpuSampling.Greedy(IlgpuTestDevice.Kernels, logitsBuffer.View, c.Rows, c.Vocab, tokens.View, maxProb.View, margin.View, entropy.View);
        acc.Synchronize();
        int[] gotTokens = tokens.GetAsArray1D();
        float[] gotMax = maxProb.GetAsArray1D(), gotMargin = margin.GetAsArray1D(), gotEntropy = entropy.GetAsArray1D();

        for (int r = 0; r < c.Rows; r++)
        {
            var row = logits.AsSpan(r * c.Vocab, c.Vocab);
            var want = Oracle(row);
            float max = float.NegativeInfinity;
            foreach (float l in row) if (l > max) max = l;
            double spread = 0;
            foreach (float l in row) spread = Math.Max(spread, Math.Abs((double)l - max) < 1e30 ? Math.Abs((double)l - max) : 0);
            double epsExp = Math.Pow(2, -21) + spread * Math.Pow(2, -23);
            double rel = 2 * epsExp + 2 * Gamma(c.Vocab) + 4 * U;
            double plogp = want.P.Sum(x => Math.Abs(x * Math.Log(x + 1e-10)));
            string at = $"{c} row {r}";

            int token = gotTokens[r];
            if (token != want.Token)
            {
                Assert.True(token >= 0 && token < c.Vocab, $"{at}: token {token} outside the vocabulary");
                Assert.False(row[token] == row[want.Token], $"{at}: exact tie between {want.Token} and {token} not won by the first index");
                double gap = Math.Abs(want.P[want.Token] - want.P[token]);
                Assert.True(gap <= rel * want.P[want.Token],
                    $"{at}: token {token} (p {want.P[token]:R}), oracle {want.Token} (p {want.P[want.Token]:R}): gap {gap:E3} > allowed {rel * want.P[want.Token]:E3}");
            }
            Close($"{at} maxProb", [gotMax[r]], [want.MaxProb], _ => rel * want.MaxProb);
            Close($"{at} margin", [gotMargin[r]], [want.Margin], _ => rel * (2 * want.MaxProb) + 1e-30);
            Close($"{at} entropy", [gotEntropy[r]], [want.Entropy], _ => (2 * (rel + Math.Pow(2, -21)) + Gamma(c.Vocab)) * plogp + rel);
        }
    });
}
