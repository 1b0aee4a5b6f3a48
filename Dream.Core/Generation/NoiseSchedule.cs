namespace Dream.Core.Generation;

/// <summary>
/// The official loop's time grid and how many tokens each step reveals, reproduced bit for bit in float32.
///   timesteps = torch.linspace(1, eps, steps + 1)            (float32, torch's two-sided formula)
///   step i goes from t = timesteps[i] to s = timesteps[i + 1]
///   k = (int)(masksPerRow · (1 − s/t))                        (float32 arithmetic, truncation)
///   k = (int)masksPerRow on the last step                     (everything left is revealed)
/// </summary>
public sealed class NoiseSchedule
{
    private readonly float[] _timesteps;   // [steps + 1]

    public int Steps { get; }
    public float Eps { get; }
    public ReadOnlySpan<float> Timesteps => _timesteps;

    public NoiseSchedule(int steps, float eps)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps must be at least 1, got {steps}");
        if (!(eps >= 0f && eps < 1f)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"eps must lie in [0, 1), got {eps}");
        Steps = steps;
        Eps = eps;
        _timesteps = Linspace(1f, eps, steps + 1);
    }

    /// <summary>
    /// torch.linspace in float32 as its kernels compute it: step = (end − start)/(count − 1); the first count/2
    /// (integer division) values count up from start, the rest count down from end, each one fused multiply-add
    /// (a single rounding, which is what the GPU kernel compiles to):
    ///   i &lt; count/2:  fma(step, i, start)        else:  fma(−step, count − 1 − i, end)
    /// </summary>
    public static float[] Linspace(float start, float end, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var values = new float[count];
        if (count == 1)
        {
            values[0] = start;
            return values;
        }
        float step = (end - start) / (count - 1);
        int halfway = count / 2;
        for (int i = 0; i < count; i++)
            values[i] = i < halfway
                ? MathF.FusedMultiplyAdd(step, i, start)
                : MathF.FusedMultiplyAdd(-step, count - 1 - i, end);
        return values;
    }

    /// <summary>origin's per-position reveal probability at <paramref name="step"/>: 1 − s/t, and 1 on the last step.</summary>
    public float RevealProbability(int step)
    {
        CheckStep(step);
        if (step == Steps - 1) return 1f;
        float t = _timesteps[step], s = _timesteps[step + 1];
        return 1f - s / t;
    }

    /// <summary>
    /// Tokens to reveal per row at <paramref name="step"/>. The official loop passes the batch average
    /// `maskCount / B` (a float32 tensor), which <see cref="RevealCounting.BatchAverage"/> passes too;
    /// <see cref="RevealCounting.PerRow"/> passes each row's own count.
    /// </summary>
    public int RevealCount(int step, float masksPerRow)
    {
        CheckStep(step);
        if (step == Steps - 1) return (int)masksPerRow;
        float t = _timesteps[step], s = _timesteps[step + 1];
        float fraction = 1f - s / t;
        return (int)(masksPerRow * fraction);
    }

    private void CheckStep(int step)
    {
        if ((uint)step >= (uint)Steps)
            throw new ArgumentOutOfRangeException(nameof(step), step, $"step must lie in [0, {Steps})");
    }
}
