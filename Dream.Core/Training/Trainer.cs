using System.Diagnostics;

namespace Dream.Core.Training;

/// <summary>One optimisation step as the progress line reports it.</summary>
public sealed record StepReport(long Step, long TotalSteps, double Loss, double GradientNorm, double LearningRate,
    double TokensPerSecond, TimeSpan Elapsed, TimeSpan Remaining);

/// <summary>
/// The training loop: for each step s, batch(s) → zero the gradients → loss and gradients → clip to a global norm
/// → AdamW with lr(s). The batch source is a pure function of the step (seeded streams), so a run resumed from a
/// saved state (<see cref="TrainingState"/>) replays exactly the batches the uninterrupted run would have seen.
/// </summary>
public sealed class Trainer
{
    private readonly ITrainableModel<float> _model;
    private readonly Func<long, TrainingBatch> _batches;
    private readonly DreamParameters<float> _gradients;

    public AdamW Optimizer { get; }
    public LearningRateSchedule Schedule { get; set; }
    public double ClipNorm { get; init; } = 1.0;
    /// <summary>The next step to run (0 for a fresh run).</summary>
    public long Step { get; set; }

    public Trainer(ITrainableModel<float> model, Func<long, TrainingBatch> batches, LearningRateSchedule schedule, AdamW? optimizer = null)
    {
        _model = model;
        _batches = batches;
        Schedule = schedule;
        _gradients = DreamParameters<float>.Zeros(model.Parameters.Config);
        Optimizer = optimizer ?? new AdamW(model.Parameters.Config);
    }

    /// <summary>Runs one step and returns (loss, gradient norm before clipping, learning rate, tokens in the batch).</summary>
    public (double Loss, double GradientNorm, double LearningRate, int Tokens) RunStep()
    {
        var batch = _batches(Step);
        if (_model is IDeviceTrainingStep device)
        {
            double lr0 = Schedule.At(Step);
            var (deviceLoss, deviceNorm) = device.Step(batch, Optimizer, lr0, ClipNorm);
            Step++;
            return (deviceLoss, deviceNorm, lr0, batch.Batch * batch.Length);
        }
        _gradients.Clear();
        double loss = _model.LossAndGradients(batch, _gradients);
        double norm = GradientClipping.ClipGlobalNorm(_gradients, ClipNorm);
        double lr = Schedule.At(Step);
        Optimizer.Step(_model.Parameters, _gradients, lr);
        Step++;
        return (loss, norm, lr, batch.Batch * batch.Length);
    }

    /// <summary>Brings the model's host parameters and the optimizer's moments up to date (a device model keeps them on its device).</summary>
    public void DownloadState()
    {
        if (_model is IDeviceTrainingStep device) device.DownloadState(Optimizer);
    }

    /// <summary>Sends host parameters and moments to a device model (after <see cref="TrainingState.Load"/>).</summary>
    public void UploadState()
    {
        if (_model is IDeviceTrainingStep device) device.UploadState(Optimizer);
    }

    /// <summary>
    /// Runs until <see cref="LearningRateSchedule.TotalSteps"/>, reporting every <paramref name="reportEvery"/> steps
    /// (and the first and last). With a time limit, the schedule is shortened once the step time is known, so that
    /// the cosine still ends inside the limit (the training recipe does the same).
    /// </summary>
    /// <param name="hardLimit">Stops after the step that crosses it, whatever the schedule (the caller then saves).</param>
    public void Run(int reportEvery, Action<StepReport> report, TimeSpan? timeLimit = null, CancellationToken cancel = default, TimeSpan? hardLimit = null)
    {
        var clock = Stopwatch.StartNew();
        long firstStep = Step, tokens = 0;
        double lossSum = 0;
        int lossCount = 0;
        const int probeSteps = 20;
        while (Step < Schedule.TotalSteps)
        {
            cancel.ThrowIfCancellationRequested();
            var (loss, norm, lr, batchTokens) = RunStep();
            tokens += batchTokens;
            lossSum += loss;
            lossCount++;
            long done = Step - firstStep;
            if (timeLimit is { } limit && done == probeSteps)
            {
                double perStep = clock.Elapsed.TotalSeconds / done;
                long fits = Step + (long)((limit - clock.Elapsed).TotalSeconds / perStep);
                if (fits < Schedule.TotalSteps) Schedule = Schedule with { TotalSteps = (int)Math.Max(Step, fits) };
            }
            if (done == 1 || Step % reportEvery == 0 || Step == Schedule.TotalSteps)
            {
                double seconds = clock.Elapsed.TotalSeconds;
                var remaining = TimeSpan.FromSeconds(seconds / done * (Schedule.TotalSteps - Step));
                report(new StepReport(Step, Schedule.TotalSteps, lossSum / lossCount, norm, lr, tokens / seconds, clock.Elapsed, remaining));
                lossSum = 0;
                lossCount = 0;
            }
            if (hardLimit is { } hard && clock.Elapsed >= hard && Step < Schedule.TotalSteps)
            {
                double seconds = clock.Elapsed.TotalSeconds;
                report(new StepReport(Step, Schedule.TotalSteps, lossCount > 0 ? lossSum / lossCount : loss, norm, lr, tokens / seconds, clock.Elapsed, TimeSpan.Zero));
                break;
            }
        }
    }
}
