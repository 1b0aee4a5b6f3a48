namespace Dream.Core.Generation;

/// <summary>How a confidence step decides how many positions each row of a batch reveals.</summary>
public enum RevealCounting
{
    /// <summary>
    /// Default. Each row counts its own masks n and reveals k = (int)(n · (1 − s/t)) of them (all of them on the
    /// last step), so a non-mask token is never overwritten and every mask is given a token on the last step (a
    /// position whose token is the mask id itself stays masked, as in the official loop). Identical to
    /// <see cref="BatchAverage"/> whenever the rows hold equal numbers of masks.
    /// </summary>
    PerRow,

    /// <summary>
    /// The official loop, bit for bit: k = (int)(maskCount / B · (1 − s/t)) from the batch average, the same k for
    /// every row. A row with fewer masks than k has non-mask positions selected and overwritten with the mask id,
    /// and on the last step a row with more masks than the average keeps some. The golden files include such
    /// cases (a batch whose rows diverge because a row "reveals" the mask id itself).
    /// </summary>
    BatchAverage,
}
