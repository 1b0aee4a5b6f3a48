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

    /// <summary>The filtered row's softmax in double: what the sampler's frequencies must agree with.</summary>
    private static double[] Reference(float[] filtered)
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
        float temperature = 0.3f + temperatureTenths % 20 / 10f;
        int? topK = topKRaw % 3 == 0 ? null : 1 + topKRaw % vocab;
        float? topP = topPRaw % 3 == 0 ? null : 0.3f + topPRaw % 7 / 10f;
        var options = new GenerationOptions { Algorithm = DecodingAlgorithm.MaskGitPlus, Temperature = temperature, TopK = topK, TopP = topP };

        float[] filtered = (float[])logits.Clone();
        new TokenFilter(vocab, temperature, topP, topK).Apply(filtered);
        double[] expected = Reference(filtered);

        var sampler = TokenSampler.Create(options, vocab);
        var rng = new SplitMix64(0xC0FFEE);
        const int draws = 6000;
        var counts = new int[vocab];
        var row = new float[vocab];
        for (int i = 0; i < draws; i++)
        {
            logits.CopyTo(row, 0);
            var sampled = sampler.Sample(row, rng.NextDouble());
            counts[sampled.Token]++;
            Assert.True(filtered[sampled.Token] != float.MinValue, $"drew filtered-out token {sampled.Token}");
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
        var options = new GenerationOptions { Algorithm = DecodingAlgorithm.MaskGitPlus, Temperature = sample ? 1f : 0f, TopK = k };
        double u = double.IsFinite(uniform) ? Math.Abs(uniform) % 1.0 : 0.5;
        int token = TokenSampler.Create(options, vocab).Sample((float[])logits.Clone(), u).Token;
        Assert.True(logits[token] >= kth, $"token {token} (logit {logits[token]}) is below the {k}-th largest {kth}");

        float[] filtered = (float[])logits.Clone();
        new TokenFilter(vocab, 0f, null, k).Apply(filtered);
        for (int j = 0; j < vocab; j++)
            Assert.Equal(logits[j] >= kth ? logits[j] : float.MinValue, filtered[j]);
    }

    [Property(MaxTest = 200, Replay = "(4211,1777)")]
    public void Top_p_keeps_the_smallest_nucleus_that_exceeds_p_and_always_the_top_token(NonEmptyArray<sbyte> raw, byte pRaw)
    {
        float[] logits = LogitsFrom(raw.Get);
        int vocab = logits.Length;
        float p = 0.05f + pRaw % 95 / 100f;
        float[] filtered = (float[])logits.Clone();
        new TokenFilter(vocab, 0f, p, null).Apply(filtered);

        // The descending order, ties by lowest id; the kept tokens must be a prefix of it.
        int[] order = Enumerable.Range(0, vocab).OrderByDescending(j => logits[j]).ThenBy(j => j).ToArray();
        int kept = filtered.Count(l => l != float.MinValue);
        Assert.True(kept >= 1);
        for (int r = 0; r < vocab; r++)
            Assert.Equal(r < kept ? logits[order[r]] : float.MinValue, filtered[order[r]]);

        double[] probs = Reference(logits);
        double before = order.Take(kept - 1).Sum(j => probs[j]);
        double with = before + probs[order[kept - 1]];
        const double slack = 1e-5;   // float32 softmax and the float32 comparison against p
        Assert.True(before <= p + slack, $"nucleus is not minimal: {kept - 1} tokens already hold {before} > p = {p}");
        Assert.True(with > p - slack || kept == vocab, $"nucleus of {kept} holds only {with} ≤ p = {p}");
    }

    [Property(MaxTest = 150, Replay = "(31337,4243)")]
    public void Sampling_positions_at_a_vanishing_alg_temp_equals_the_deterministic_choice(NonEmptyArray<byte> raw, byte kRaw, ulong seed)
    {
        // Distinct confidences at least 1e-4 apart: 1e-4 / alg_temp outweighs any Gumbel noise the 53-bit uniforms
        // can produce (|G| < 40). (With ties at the top the limit is uniform among the tied, not topk's lowest
        // position, so ties are excluded; ties below the top lose their noise to rounding and go by position.)
        float[] confidence = raw.Get.Select((c, i) => (c * 1000 + i) / 1e4f).ToArray();
        int n = confidence.Length, k = kRaw % (n + 1);
        var expected = new int[k];
        PositionSelector.MostConfident(confidence, k, new ulong[n], expected);
        var actual = new int[k];
        PositionSelector.Sample(confidence, 1e-30f, k, new SplitMix64(seed), new ulong[n], actual);
        Assert.Equal(expected, actual);
    }

    [Property(MaxTest = 150, Replay = "(8675309,12345)")]
    public void Most_confident_breaks_ties_by_lowest_position(NonEmptyArray<byte> raw, byte kRaw)
    {
        float[] confidence = raw.Get.Select(c => (float)(c % 4)).ToArray();   // few distinct values: many ties
        int n = confidence.Length, k = kRaw % (n + 1);
        var chosen = new int[k];
        PositionSelector.MostConfident(confidence, k, new ulong[n], chosen);
        int[] expected = Enumerable.Range(0, n).OrderByDescending(i => confidence[i]).ThenBy(i => i).Take(k).ToArray();
        Assert.Equal(expected, chosen);
    }
}
