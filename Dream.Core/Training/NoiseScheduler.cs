namespace Dream.Core.Training;

/// <summary>
/// Dream's forward (noising) process and loss weights, per sequence of a batch:
///   t ~ U(0, 1), raised to <see cref="MinT"/> (so 1/t stays bounded);
///   each eligible position masked independently with probability t;
///   if none was masked, one eligible position chosen uniformly is masked (every sequence then teaches something);
///   loss = Σ_{masked n} w(n) · CE(row n − 1, clean[n]) / (number of masked tokens in the batch)
/// with w = 1/t, 1 − t, 1 or CART (<see cref="LossWeighting"/>). The division is by the batch's total count, as
/// the training recipe's mean cross-entropy over all masked tokens does.
/// Deterministic: sequence b of step s draws from the stream (seed, s, b).
/// </summary>
public sealed class NoiseScheduler
{
    public required int MaskTokenId { get; init; }
    public LossWeighting Weighting { get; init; } = LossWeighting.Cart;
    public double CartP { get; init; } = CartWeight.DefaultP;
    public double MinT { get; init; } = 1e-3;
    /// <summary>Mask one eligible position when the coin flips masked none (the recipe does the same).</summary>
    public bool EnsureOneMasked { get; init; } = true;

    /// <param name="clean">[B, T] clean token ids.</param>
    /// <param name="eligible">[T] positions that may be masked and enter the loss (e.g. the answer after a prompt);
    /// position 0 never can, having no row in front of it.</param>
    public TrainingBatch Corrupt(int[] clean, int batch, int length, bool[] eligible, ulong seed, long step)
    {
        CheckEligible(eligible, length);
        if (clean.Length != batch * length)
            throw new ArgumentException($"clean has {clean.Length} ids, expected B·T = {batch * length}", nameof(clean));

        var ids = (int[])clean.Clone();
        var times = new double[batch];
        var rows = new List<int>();
        var targets = new List<int>();
        var weights = new List<double>();
        var masked = new bool[length];
        var cart = new double[length];
        for (int b = 0; b < batch; b++)
        {
            var rng = new TrainingRandom(seed, step, b);
            double t = Math.Max(MinT, rng.NextDouble());
            times[b] = t;
            Mask(eligible, t, ref rng, masked);
            if (EnsureOneMasked && !masked.Contains(true)) masked[PickEligible(eligible, ref rng)] = true;
            if (Weighting == LossWeighting.Cart) CartWeight.Compute(masked, CartP, cart);

            for (int p = 0; p < length; p++)
            {
                if (!masked[p]) continue;
                ids[b * length + p] = MaskTokenId;
                rows.Add(b * length + p - 1);
                targets.Add(clean[b * length + p]);
                weights.Add(Weighting switch
                {
                    LossWeighting.InverseT => 1 / t,
                    LossWeighting.OneMinusT => 1 - t,
                    LossWeighting.Constant => 1,
                    _ => cart[p],
                });
            }
        }

        double count = rows.Count;
        return new TrainingBatch
        {
            Batch = batch, Length = length, Ids = ids,
            Rows = rows.ToArray(), Targets = targets.ToArray(),
            Weights = weights.Select(w => w / count).ToArray(),
            Times = times,
        };
    }

    /// <summary>masked[p] = eligible[p] ∧ (u_p &lt; t), one uniform draw per eligible position in order.</summary>
    public static void Mask(bool[] eligible, double t, ref TrainingRandom rng, Span<bool> masked)
    {
        for (int p = 0; p < eligible.Length; p++) masked[p] = eligible[p] && rng.NextDouble() < t;
    }

    private static int PickEligible(bool[] eligible, ref TrainingRandom rng)
    {
        int count = eligible.Count(e => e);
        int k = rng.NextInt(count);
        for (int p = 0; p < eligible.Length; p++)
            if (eligible[p] && k-- == 0) return p;
        throw new InvalidOperationException("unreachable: count was positive");
    }

    internal static void CheckEligible(bool[] eligible, int length)
    {
        if (eligible.Length != length)
            throw new ArgumentException($"eligible has {eligible.Length} entries, expected T = {length}", nameof(eligible));
        if (eligible.Length > 0 && eligible[0])
            throw new ArgumentException("position 0 cannot enter the loss: no row precedes it (Dream's logits shift)", nameof(eligible));
        if (!eligible.Contains(true)) throw new ArgumentException("no position is eligible for the loss", nameof(eligible));
    }
}
