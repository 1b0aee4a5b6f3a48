namespace Dream.Core.Training;

/// <summary>
/// One optimisation step's input, as the model sees it: B sequences of T tokens (already noised) and the rows of
/// logits the loss reads. Dream's logits shift means the token at position p is predicted by row p − 1, so each
/// loss term names its row as b·T + p − 1 and the clean token at p as its target.
///   Ids      [B, T] row-major, masked positions hold the mask id
///   Rows     [R] flat row indices b·T + p − 1 whose logits enter the loss
///   Targets  [R] the clean token at p
///   Weights  [R] each term's weight, already divided by the number of terms (the loss is Σ_r w[r]·CE[r])
///   Times    [B] the noise level t of each sequence (NaN for the autoregressive baseline)
/// </summary>
public sealed class TrainingBatch
{
    public required int Batch { get; init; }
    public required int Length { get; init; }
    public required int[] Ids { get; init; }
    public required int[] Rows { get; init; }
    public required int[] Targets { get; init; }
    public required double[] Weights { get; init; }
    public required double[] Times { get; init; }

    /// <summary>
    /// The autoregressive baseline's batch: nothing is masked, and every eligible position p is predicted from row
    /// p − 1 under causal attention (the same shift, read the classic way), each with weight 1/count.
    /// </summary>
    public static TrainingBatch Autoregressive(int[] clean, int batch, int length, bool[] eligible)
    {
        NoiseScheduler.CheckEligible(eligible, length);
        var rows = new List<int>();
        var targets = new List<int>();
        for (int b = 0; b < batch; b++)
        for (int p = 1; p < length; p++)
        {
            if (!eligible[p]) continue;
            rows.Add(b * length + p - 1);
            targets.Add(clean[b * length + p]);
        }
        return new TrainingBatch
        {
            Batch = batch, Length = length, Ids = (int[])clean.Clone(),
            Rows = rows.ToArray(), Targets = targets.ToArray(),
            Weights = Enumerable.Repeat(1.0 / rows.Count, rows.Count).ToArray(),
            Times = Enumerable.Repeat(double.NaN, batch).ToArray(),
        };
    }
}
