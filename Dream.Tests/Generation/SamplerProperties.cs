using Dream.Core.Generation;
using FsCheck;
using FsCheck.Xunit;
using Xunit;

namespace Dream.Tests.Generation;

/// <summary>
/// Properties of token filtering, token sampling and position selection. Logits come from small generated
/// integers (quantised to halves, so ties are common); every property has a fixed replay seed and a bounded count.
/// </summary>
public class SamplerProperties
{
    private static float[] LogitsFrom(sbyte[] raw) =>
        raw.Length == 1 ? [raw[0] / 2f, raw[0] / 2f - 1f] : raw.Select(r => (r % 24) / 2f).ToArray();

    private static double[] Widen(float[] logits) => logits.Select(l => (double)l).ToArray();

    /// <summary>The filtered row's softmax: what the sampler's frequencies must agree with.</summary>
    private static double[] Reference(double[] filtered)
    {
        double max = filtered.Max();
        var e = filtered.Select(l => Math.Exp(l - max)).ToArray();
        double sum = e.Sum();
        return e.Select(x => x / sum).ToArray();
    }

    /// <summary>Wilson–Hilferty upper quantile of chi-square with df degrees of freedom at z standard deviations.</summary>
    private static double ChiSquareCritical(int df, double z)
    {
        double a = 2.0 / (9 * df);
        return df * Math.Pow(1 - a + z * Math.Sqrt(a), 3);
    }

    [Property(MaxTest = 25, Replay = "(20240611,7919)")]
    public void Sampled_token_frequencies_agree_with_the_filtered_softmax(NonEmptyArray<sbyte> raw, byte temperatureTenths, byte topKRaw, byte topPRaw)
    {
        float[] logits = LogitsFrom(raw.Get);
        int vocab = logits.Length;
        double temperature = 0.3 + temperatureTenths % 20 / 10.0;
        int? topK = topKRaw % 3 == 0 ? null : 1 + topKRaw % vocab;
        double? topP = topPRaw % 3 == 0 ? null : 0.3 + topPRaw % 7 / 10.0;
        var options = new GenerationOptions { Algorithm = DecodingAlgorithm.MaskGitPlus, Temperature = temperature, TopK = topK, TopP = topP };

        double[] filtered = Widen(logits);
        new TokenFilter(vocab, temperature, topP, topK).Apply(filtered);
        double[] expected = Reference(filtered);

        var sampler = TokenSampler.Create(options, vocab);
        var rng = new SplitMix64(0xC0FFEE);
        const int draws = 6000;
        var counts = new int[vocab];
        for (int i = 0; i < draws; i++)
        {
            var sampled = sampler.Sample(logits, rng.NextDouble());
            counts[sampled.Token]++;
            Assert.True(filtered[sampled.Token] != double.MinValue, $"drew filtered-out token {sampled.Token}");
        }

        // Pool cells expected fewer than 5 times (the chi-square approximation needs it).
        double statistic = 0, pooledExpected = 0, pooledObserved = 0;
        int cells = 0;
        for (int j = 0; j < vocab; j++)
        {
            double e = expected[j] * draws;
            if (e < 5) { pooledExpected += e; pooledObserved += counts[j]; continue; }
            statistic += (counts[j] - e) * (counts[j] - e) / e;
            cells++;
        }
        if (pooledExpected >= 5) { statistic += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / pooledExpected; cells++; }
        else Assert.True(pooledObserved <= Math.Max(15, 4 * pooledExpected), $"rare tokens drawn {pooledObserved} times, expected {pooledExpected:F2}");
        if (cells < 2) return;
        double critical = ChiSquareCritical(cells - 1, 4.0);   // ≈ 3e-5 false-alarm rate per case
        Assert.True(statistic < critical, $"chi-square {statistic:F1} ≥ {critical:F1} with {cells - 1} df; counts [{string.Join(",", counts)}]");
    }

    [Property(MaxTest = 200, Replay = "(977,3121)")]
    public void Top_k_never_yields_a_token_outside_the_k_largest(NonEmptyArray<sbyte> raw, byte kRaw, double uniform, bool sample)
    {
        float[] logits = LogitsFrom(raw.Get);
        int vocab = logits.Length, k = 1 + kRaw % vocab;
        float kth = logits.OrderByDescending(l => l).ElementAt(k - 1);
        var options = new GenerationOptions { Algorithm = DecodingAlgorithm.MaskGitPlus, Temperature = sample ? 1 : 0, TopK = k };
        double u = double.IsFinite(uniform) ? Math.Abs(uniform) % 1.0 : 0.5;
        int token = TokenSampler.Create(options, vocab).Sample(logits, u).Token;
        Assert.True(logits[token] >= kth, $"token {token} (logit {logits[token]}) is below the {k}-th largest {kth}");

        double[] filtered = Widen(logits);
        new TokenFilter(vocab, 0, null, k).Apply(filtered);
        for (int j = 0; j < vocab; j++)
            Assert.Equal(logits[j] >= kth ? logits[j] : double.MinValue, filtered[j]);
    }

    [Property(MaxTest = 200, Replay = "(4211,1777)")]
    public void Top_p_keeps_the_smallest_nucleus_that_exceeds_p_and_always_the_top_token(NonEmptyArray<sbyte> raw, byte pRaw)
    {
        float[] logits = LogitsFrom(raw.Get);
        int vocab = logits.Length;
        double p = 0.05 + pRaw % 95 / 100.0;
        double[] filtered = Widen(logits);
        new TokenFilter(vocab, 0, p, null).Apply(filtered);

        // The descending order, ties by lowest id; the kept tokens must be a prefix of it.
        int[] order = Enumerable.Range(0, vocab).OrderByDescending(j => logits[j]).ThenBy(j => j).ToArray();
        int kept = filtered.Count(l => l != double.MinValue);
        Assert.True(kept >= 1);
        for (int r = 0; r < vocab; r++)
            Assert.Equal(r < kept ? logits[order[r]] : double.MinValue, filtered[order[r]]);

        double[] probs = Reference(Widen(logits));
        double before = order.Take(kept - 1).Sum(j => probs[j]);
        double with = before + probs[order[kept - 1]];
        const double slack = 1e-12;   // summation order
        Assert.True(before <= p + slack, $"nucleus is not minimal: {kept - 1} tokens already hold {before} > p = {p}");
        Assert.True(with > p - slack || kept == vocab, $"nucleus of {kept} holds only {with} ≤ p = {p}");
    }

    [Property(MaxTest = 150, Replay = "(31337,4243)")]
    public void Sampling_positions_at_a_vanishing_alg_temp_equals_the_deterministic_choice(NonEmptyArray<byte> raw, byte kRaw, ulong seed)
    {
        // Distinct confidences at least 1e-4 apart: 1e-4 / alg_temp outweighs any Gumbel noise the 53-bit uniforms
        // can produce (|G| < 40). (With ties at the top the limit is uniform among the tied, not topk's lowest
        // position, so ties are excluded.) Every third position is not masked (−∞).
        double[] confidence = raw.Get.Select((c, i) => i % 3 == 2 ? double.NegativeInfinity : (c * 1000 + i) / 1e4).ToArray();
        int n = confidence.Length, masked = confidence.Count(double.IsFinite), k = kRaw % (masked + 1);
        var expected = new int[k];
        new PositionSelector(n, PositionTies.LowestPosition).MostConfident(confidence, k, expected);
        var actual = new int[k];
        new PositionSelector(n, PositionTies.LowestPosition).Sample(confidence, 1e-30, k, new SplitMix64(seed), actual);
        Assert.Equal(expected, actual);
    }

    [Property(MaxTest = 150, Replay = "(8675309,12345)")]
    public void Most_confident_breaks_ties_by_lowest_position(NonEmptyArray<byte> raw, byte kRaw)
    {
        double[] confidence = raw.Get.Select(c => (double)(c % 4)).ToArray();   // few distinct values: many ties
        int n = confidence.Length, k = kRaw % (n + 1);
        var chosen = new int[k];
        new PositionSelector(n, PositionTies.LowestPosition).MostConfident(confidence, k, chosen);
        int[] expected = Enumerable.Range(0, n).OrderByDescending(i => confidence[i]).ThenBy(i => i).Take(k).ToArray();
        Assert.Equal(expected, chosen);
    }

    [Property(MaxTest = 200, Replay = "(2024,7)")]
    public void Torch_cpu_ties_pick_a_true_top_k(NonEmptyArray<byte> raw, byte kRaw)
    {
        // Whatever the tie order, the values picked are the k largest.
        double[] confidence = raw.Get.Select(c => c % 5 == 0 ? double.NegativeInfinity : c % 4).ToArray();
        int n = confidence.Length, k = kRaw % (n + 1);
        var chosen = new int[k];
        new PositionSelector(n, PositionTies.TorchCpu).MostConfident(confidence, k, chosen);
        Assert.Equal(k, chosen.Distinct().Count());
        Assert.Equal(confidence.OrderByDescending(c => c).Take(k), chosen.Select(i => confidence[i]).OrderByDescending(c => c));
    }
}
