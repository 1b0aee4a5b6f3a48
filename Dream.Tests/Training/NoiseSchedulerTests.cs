using Dream.Core.Training;

namespace Dream.Tests.Training;

/// <summary>The noising process: frequencies (chi-square at fixed seeds), the shift, weights, eligibility, determinism.</summary>
public class NoiseSchedulerTests
{
    // Upper 0.1% points of chi-square: a correct scheduler fails one of these about once in a thousand seeds,
    // and the seeds are fixed, so the test is deterministic.
    private const double ChiSquare9 = 27.88, ChiSquare19 = 43.82;

    private static (int[] Clean, bool[] Eligible) Sequences(int batch, int length, int promptLength)
    {
        var clean = new int[batch * length];
        for (int i = 0; i < clean.Length; i++) clean[i] = i % 5;
        return (clean, Enumerable.Range(0, length).Select(p => p >= promptLength).ToArray());
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(0.93)]
    public void EachPositionIsMaskedWithProbabilityT(double t)
    {
        const int draws = 4000, length = 20;
        var eligible = Enumerable.Range(0, length).Select(p => p >= 1).ToArray();
        var counts = new int[length];
        var masked = new bool[length];
        for (int i = 0; i < draws; i++)
        {
            var rng = new TrainingRandom(7, i);
            NoiseScheduler.Mask(eligible, t, ref rng, masked);
            for (int p = 0; p < length; p++) if (masked[p]) counts[p]++;
        }
        Assert.Equal(0, counts[0]);
        double expected = draws * t, variance = draws * t * (1 - t);
        double chi = Enumerable.Range(1, length - 1).Sum(p => Math.Pow(counts[p] - expected, 2) / variance);
        Assert.True(chi < ChiSquare19, $"chi-square {chi:F1} over 19 positions at t = {t}");
    }

    [Fact]
    public void NoiseLevelsAreUniformAndMaskedCountsFollowThem()
    {
        const int batch = 3000, length = 24, prompt = 8;
        var (clean, eligible) = Sequences(batch, length, prompt);
        var scheduler = new NoiseScheduler { MaskTokenId = 9, Weighting = LossWeighting.Constant, EnsureOneMasked = false };
        var b = scheduler.Corrupt(clean, batch, length, eligible, seed: 42, step: 3);

        // t ~ U(0, 1): ten equal bins.
        var bins = new int[10];
        foreach (double t in b.Times) bins[Math.Min(9, (int)(t * 10))]++;
        double chiT = bins.Sum(c => Math.Pow(c - batch / 10.0, 2) / (batch / 10.0));
        Assert.True(chiT < ChiSquare9, $"t histogram chi-square {chiT:F1}: [{string.Join(", ", bins)}]");

        // Given t, the number of masked answer tokens is Binomial(16, t): compare per t-decile.
        int answer = length - prompt;
        var observed = new double[10];
        var expected = new double[10];
        var variance = new double[10];
        for (int s = 0; s < batch; s++)
        {
            int bin = Math.Min(9, (int)(b.Times[s] * 10));
            observed[bin] += Enumerable.Range(s * length, length).Count(i => b.Ids[i] == 9);
            expected[bin] += answer * b.Times[s];
            variance[bin] += answer * b.Times[s] * (1 - b.Times[s]);
        }
        double chi = Enumerable.Range(0, 10).Sum(j => Math.Pow(observed[j] - expected[j], 2) / variance[j]);
        Assert.True(chi < 29.59, $"masked-count chi-square {chi:F1} over 10 bins"); // 0.1% point, 10 degrees of freedom
    }

    [Fact]
    public void LossRowsFollowTheShiftAndOnlyEligiblePositionsAreMasked()
    {
        const int batch = 50, length = 12, prompt = 5;
        var (clean, eligible) = Sequences(batch, length, prompt);
        var scheduler = new NoiseScheduler { MaskTokenId = 9, Weighting = LossWeighting.InverseT };
        var b = scheduler.Corrupt(clean, batch, length, eligible, seed: 1, step: 0);
        for (int i = 0; i < clean.Length; i++)
        {
            if (i % length < prompt) Assert.Equal(clean[i], b.Ids[i]);           // the prompt is never noised
            else Assert.True(b.Ids[i] == clean[i] || b.Ids[i] == 9);
        }
        Assert.Equal(b.Ids.Count(id => id == 9), b.Rows.Length);
        for (int r = 0; r < b.Rows.Length; r++)
        {
            int target = b.Rows[r] + 1;                                          // row p − 1 predicts position p
            Assert.Equal(9, b.Ids[target]);
            Assert.Equal(clean[target], b.Targets[r]);
            double t = b.Times[target / length];
            Assert.Equal(1 / t / b.Rows.Length, b.Weights[r], 12);
        }
        for (int s = 0; s < batch; s++)                                          // at least one masked per sequence
            Assert.Contains(b.Rows, row => row / length == s);
    }

    [Fact]
    public void CartWeightsAreTheTokenWeightsOverTheCount()
    {
        const int batch = 4, length = 16;
        var (clean, eligible) = Sequences(batch, length, 6);
        var scheduler = new NoiseScheduler { MaskTokenId = 9 };
        Assert.Equal(LossWeighting.Cart, scheduler.Weighting);
        var b = scheduler.Corrupt(clean, batch, length, eligible, seed: 2, step: 8);
        var w = new double[length];
        for (int r = 0; r < b.Rows.Length; r++)
        {
            int s = (b.Rows[r] + 1) / length, p = (b.Rows[r] + 1) % length;
            var masked = Enumerable.Range(0, length).Select(i => b.Ids[s * length + i] == 9).ToArray();
            CartWeight.Direct(masked, CartWeight.DefaultP, w);
            Assert.Equal(w[p] / b.Rows.Length, b.Weights[r], 14);
        }
    }

    [Fact]
    public void OneMinusTAndConstantWeights()
    {
        var (clean, eligible) = Sequences(8, 10, 3);
        var oneMinus = new NoiseScheduler { MaskTokenId = 9, Weighting = LossWeighting.OneMinusT }.Corrupt(clean, 8, 10, eligible, 5, 0);
        for (int r = 0; r < oneMinus.Rows.Length; r++)
            Assert.Equal((1 - oneMinus.Times[oneMinus.Rows[r] / 10]) / oneMinus.Rows.Length, oneMinus.Weights[r], 14);
        var constant = new NoiseScheduler { MaskTokenId = 9, Weighting = LossWeighting.Constant }.Corrupt(clean, 8, 10, eligible, 5, 0);
        Assert.All(constant.Weights, w => Assert.Equal(1.0 / constant.Rows.Length, w, 15));
        Assert.Equal(oneMinus.Ids, constant.Ids); // the weighting never changes which tokens are masked
    }

    [Fact]
    public void SameSeedAndStepReplayTheBatch()
    {
        var (clean, eligible) = Sequences(16, 10, 3);
        var s = new NoiseScheduler { MaskTokenId = 9 };
        var a = s.Corrupt(clean, 16, 10, eligible, 77, 123);
        var b = s.Corrupt(clean, 16, 10, eligible, 77, 123);
        var c = s.Corrupt(clean, 16, 10, eligible, 77, 124);
        Assert.Equal(a.Ids, b.Ids);
        Assert.Equal(a.Weights, b.Weights);
        Assert.NotEqual(a.Ids, c.Ids);
    }

    [Fact]
    public void PositionZeroCannotEnterTheLoss()
    {
        var s = new NoiseScheduler { MaskTokenId = 9 };
        Assert.Throws<ArgumentException>(() => s.Corrupt(new int[4], 1, 4, new[] { true, true, true, true }, 0, 0));
        Assert.Throws<ArgumentException>(() => s.Corrupt(new int[4], 1, 4, new bool[4], 0, 0));
        Assert.Throws<ArgumentException>(() => s.Corrupt(new int[4], 1, 4, new bool[3], 0, 0));
    }

    [Fact]
    public void AutoregressiveBatchPredictsEveryAnswerTokenFromTheRowBefore()
    {
        var (clean, eligible) = Sequences(3, 8, 4);
        var b = TrainingBatch.Autoregressive(clean, 3, 8, eligible);
        Assert.Equal(clean, b.Ids);
        Assert.Equal(12, b.Rows.Length);
        Assert.Equal(new[] { 3, 4, 5, 6 }, b.Rows.Take(4));
        Assert.Equal(clean.Skip(4).Take(4), b.Targets.Take(4));
        Assert.All(b.Weights, w => Assert.Equal(1.0 / 12, w, 15));
    }
}
