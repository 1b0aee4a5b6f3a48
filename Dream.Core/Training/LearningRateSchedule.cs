namespace Dream.Core.Training;

/// <summary>
/// Linear warm-up, then a cosine decay to a floor:
///   lr(s) = peak · min(1, (s + 1)/warmup) · (f + (1 − f) · ½ · (1 + cos(π · min(1, s/total))))
/// with f = <see cref="FinalFraction"/> — the shape of the training recipe's LambdaLR (steps counted from 0).
/// </summary>
public sealed record LearningRateSchedule(double Peak, int WarmupSteps, int TotalSteps, double FinalFraction = 0.02)
{
    public double At(long step)
    {
        double warm = WarmupSteps <= 0 ? 1 : Math.Min(1, (step + 1) / (double)WarmupSteps);
        double progress = TotalSteps <= 0 ? 1 : Math.Min(1, step / (double)TotalSteps);
        return Peak * warm * (FinalFraction + (1 - FinalFraction) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }
}
