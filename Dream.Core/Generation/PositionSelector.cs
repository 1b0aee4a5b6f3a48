namespace Dream.Core.Generation;

/// <summary>
/// Which positions of one canvas row a confidence step reveals, given the row's confidences [T] with −∞ at the
/// positions that are not masked (the official `full_confidence`).
///   alg_temp = 0:  the k largest — torch.topk — with equal values ordered by <see cref="Ties"/>
///   alg_temp &gt; 0:  k positions sampled without replacement from softmax(confidence / alg_temp)
/// Owns a scratch row: one instance per generate call.
/// </summary>
public sealed class PositionSelector
{
    private readonly RankedValue[] _queue;   // [T]

    public int Length { get; }
    public PositionTies Ties { get; }

    public PositionSelector(int length, PositionTies ties)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        if (!Enum.IsDefined(ties)) throw new ArgumentOutOfRangeException(nameof(ties), ties, "unknown tie rule");
        Length = length;
        Ties = ties;
        _queue = new RankedValue[length];
    }

    /// <param name="confidence">[T] one row, −∞ where not masked.</param>
    /// <param name="k">how many to pick, 0 ≤ k ≤ T.</param>
    /// <param name="chosen">[k] receives positions.</param>
    public void MostConfident(ReadOnlySpan<double> confidence, int k, Span<int> chosen)
    {
        var queue = Load(confidence, k, chosen);
        for (int i = 0; i < queue.Length; i++) queue[i] = new RankedValue(confidence[i], i);
        Rank(queue, k, Ties);
        for (int r = 0; r < k; r++) chosen[r] = queue[r].Index;
    }

    /// <summary>
    /// k positions without replacement from softmax(confidence / alg_temp) — the distribution of the official
    /// torch.multinomial(softmax(full_confidence / alg_temp), k) — by the Gumbel-top-k trick (Vieira 2014; Kool,
    /// van Hoof and Welling 2019): the k largest (c − max c)/alg_temp + G with G = −log(E), E ~ Exp(1). Working in
    /// log space means a small alg_temp never underflows the weights to zero (where the official softmax would,
    /// and torch.multinomial then refuses), and as alg_temp → 0 it becomes <see cref="MostConfident"/> wherever
    /// the top confidences are distinct (among tied maxima the limit is uniform, as softmax's is). Positions at −∞
    /// (not masked) have weight 0 and come last, lowest position first, which only matters when k exceeds the
    /// masks (<see cref="RevealCounting.BatchAverage"/>, where torch.multinomial would refuse). One draw per
    /// masked position, so a seed's stream depends on the canvas, never on the backend's logits.
    /// </summary>
    /// <param name="confidence">[T] one row, −∞ where not masked.</param>
    /// <param name="algTemp">&gt; 0.</param>
    /// <param name="k">how many to pick, 0 ≤ k ≤ T.</param>
    /// <param name="rng">consumed: one draw per masked position.</param>
    /// <param name="chosen">[k] receives positions.</param>
    public void Sample(ReadOnlySpan<double> confidence, double algTemp, int k, SplitMix64 rng, Span<int> chosen)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!(algTemp > 0) || double.IsInfinity(algTemp))
            throw new ArgumentOutOfRangeException(nameof(algTemp), algTemp, "alg_temp must be a finite number > 0 to sample positions");
        var queue = Load(confidence, k, chosen);
        double max = double.NegativeInfinity;
        foreach (double c in confidence) if (c > max) max = c;
        for (int i = 0; i < queue.Length; i++)
        {
            double key = double.NegativeInfinity;
            if (!double.IsNegativeInfinity(confidence[i]))
            {
                // E from 1 − u ∈ (0, 1]; the floor keeps u = 0 (log 1 = 0) finite.
                double exponential = Math.Max(-Math.Log(1.0 - rng.NextDouble()), double.Epsilon);
                key = (confidence[i] - max) / algTemp - Math.Log(exponential);
            }
            queue[i] = new RankedValue(key, i);
        }
        Rank(queue, k, PositionTies.LowestPosition);
        for (int r = 0; r < k; r++) chosen[r] = queue[r].Index;
    }

    private Span<RankedValue> Load(ReadOnlySpan<double> confidence, int k, Span<int> chosen)
    {
        if (confidence.Length != Length)
            throw new ArgumentException($"confidence row has {confidence.Length} entries, expected T = {Length}", nameof(confidence));
        if ((uint)k > (uint)Length) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must lie in [0, {Length}]");
        if (chosen.Length < k) throw new ArgumentException($"chosen has {chosen.Length} entries, need k = {k}", nameof(chosen));
        return _queue.AsSpan(0, Length);
    }

    /// <summary>Brings the k entries that rank first to the front of <paramref name="queue"/>.</summary>
    private static void Rank(Span<RankedValue> queue, int k, PositionTies ties)
    {
        if (ties == PositionTies.TorchCpu) TorchCpuTopK.Select(queue, k);
        else queue.Sort();
    }
}
