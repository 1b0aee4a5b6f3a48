namespace Dream.Core.Generation;

/// <summary>
/// Which of one row's masked positions a confidence-based step reveals. Candidates are given in ascending position
/// order, so "lowest candidate index" is "lowest position".
///   alg_temp = 0:  the k largest confidences, ties to the lowest position (torch.topk as the golden files show)
///   alg_temp &gt; 0:  k positions sampled without replacement from softmax(confidence / alg_temp)
/// </summary>
public static class PositionSelector
{
    /// <param name="confidence">[n] confidence of each candidate.</param>
    /// <param name="k">how many to pick, 0 ≤ k ≤ n.</param>
    /// <param name="keys">scratch, at least n long.</param>
    /// <param name="chosen">[k] receives candidate indices, most confident first.</param>
    public static void MostConfident(ReadOnlySpan<float> confidence, int k, Span<ulong> keys, Span<int> chosen)
    {
        CheckCounts(confidence.Length, k, keys.Length, chosen.Length);
        int n = confidence.Length;
        for (int i = 0; i < n; i++) keys[i] = DescendingOrder.Key(confidence[i], i);
        keys[..n].Sort();
        for (int r = 0; r < k; r++) chosen[r] = DescendingOrder.Index(keys[r]);
    }

    /// <summary>
    /// k positions without replacement from softmax(confidence / alg_temp) — the distribution of the official
    /// torch.multinomial(softmax(conf / alg_temp), k) — by the Gumbel-top-k trick (Vieira 2014; Kool, van Hoof and
    /// Welling 2019): the k largest (conf − max conf)/alg_temp + G with G = −log(E), E ~ Exp(1). Working in log
    /// space means a small alg_temp never underflows the weights to zero (where the official float32 softmax
    /// would, and torch.multinomial then refuses), and as alg_temp → 0 it becomes <see cref="MostConfident"/>
    /// wherever the top confidences are distinct (among tied maxima the limit is uniform, as softmax's is). Keys
    /// are ranked as float32 with <see cref="DescendingOrder"/> (equal keys: lowest position), so the order never
    /// depends on a sort's stability. Exactly n draws, whatever the confidences, so a seed's
    /// stream never depends on the backend's logits.
    /// </summary>
    /// <param name="confidence">[n] confidence of each candidate.</param>
    /// <param name="algTemp">&gt; 0.</param>
    /// <param name="k">how many to pick, 0 ≤ k ≤ n.</param>
    /// <param name="rng">consumed: n draws.</param>
    /// <param name="keys">scratch, at least n long.</param>
    /// <param name="chosen">[k] receives candidate indices, highest key first.</param>
    public static void Sample(ReadOnlySpan<float> confidence, float algTemp, int k, SplitMix64 rng, Span<ulong> keys, Span<int> chosen)
    {
        CheckCounts(confidence.Length, k, keys.Length, chosen.Length);
        ArgumentNullException.ThrowIfNull(rng);
        if (!(algTemp > 0f) || float.IsInfinity(algTemp))
            throw new ArgumentOutOfRangeException(nameof(algTemp), algTemp, "alg_temp must be a finite number > 0 to sample positions");
        int n = confidence.Length;
        float max = float.NegativeInfinity;
        foreach (float c in confidence) if (c > max) max = c;

        for (int i = 0; i < n; i++)
        {
            // E from 1 − u ∈ (0, 1]; the floor keeps u = 0 (log 1 = 0) finite.
            double exponential = Math.Max(-Math.Log(1.0 - rng.NextDouble()), double.Epsilon);
            double key = ((double)confidence[i] - max) / algTemp - Math.Log(exponential);
            keys[i] = DescendingOrder.Key((float)key, i);
        }
        keys[..n].Sort();
        for (int r = 0; r < k; r++) chosen[r] = DescendingOrder.Index(keys[r]);
    }

    private static void CheckCounts(int n, int k, int keys, int chosen)
    {
        if ((uint)k > (uint)n) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must lie in [0, {n}]");
        if (keys < n) throw new ArgumentException($"keys scratch has {keys} entries, need {n}", nameof(keys));
        if (chosen < k) throw new ArgumentException($"chosen has {chosen} entries, need k = {k}", nameof(chosen));
    }
}
