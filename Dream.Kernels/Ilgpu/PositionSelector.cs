using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The reveal step on the device, the twin of Dream.Core.Generation.PositionSelector.MostConfident with
/// PositionTies.LowestPosition followed by the loop's write: in each canvas row b, the k_b most confident of
/// the row's masked positions receive their sampled tokens; equal confidences go to the lowest position.
///
/// Confidences come as <see cref="TokenSampler"/> writes them, a float32 confidence c and deficit d = 1 − c, and
/// are ordered as the host orders the double it assembles from them (<see cref="DeviceSampler"/>): entries with
/// d &lt; ½ rank above all others and among themselves by ascending d; the rest by descending c. (The host's
/// double 1 − d rounds to 1 below d ≈ 1e-16 where this order still tells them apart; Core's host sampler sees
/// those as ties too.)
/// One group per canvas row; thread i takes entries i, i + G, ... and counts the entries of its row that rank
/// above each: an entry whose rank is below k_b is revealed. O(n²/G) comparisons for a row of n masks, no
/// shared memory and no barriers; exact (no threshold search), so the chosen set equals the host's.
/// </summary>
public static class PositionSelector
{
    /// <param name="rowStart">[B + 1] row b owns entries rowStart[b] .. rowStart[b + 1] − 1.</param>
    /// <param name="positions">[M] flat b·T + p, ascending within a row.</param>
    /// <param name="tokens">[M] sampled tokens.</param>
    /// <param name="confidence">[M]</param>
    /// <param name="deficit">[M] (NaN where not meaningful).</param>
    /// <param name="revealCounts">[B] k per row, 0 ≤ k ≤ the row's entries.</param>
    /// <param name="canvas">[B, T] updated in place.</param>
    public static void Reveal(IlgpuKernels kernels, int batch, ArrayView<int> rowStart, ArrayView<int> positions,
        ArrayView<int> tokens, ArrayView<float> confidence, ArrayView<float> deficit, ArrayView<int> revealCounts,
        ArrayView<int> canvas)
    {
        if (batch == 0) return;
        kernels.PositionSelector(new KernelConfig(batch, kernels.ReductionGroupSize),
            rowStart, positions, tokens, confidence, deficit, revealCounts, canvas);
    }

    /// <summary>Whether entry a ranks above entry b (a &lt; b breaks exact ties: the lower position).</summary>
    internal static bool RanksAbove(float confidenceA, float deficitA, int a, float confidenceB, float deficitB, int b)
    {
        bool highA = deficitA < 0.5f, highB = deficitB < 0.5f;
        if (highA != highB) return highA;
        float va = highA ? -deficitA : confidenceA, vb = highB ? -deficitB : confidenceB;
        return va > vb || (va == vb && a < b);
    }

    internal static void Kernel(ArrayView<int> rowStart, ArrayView<int> positions, ArrayView<int> tokens,
        ArrayView<float> confidence, ArrayView<float> deficit, ArrayView<int> revealCounts, ArrayView<int> canvas)
    {
        int b = Grid.IdxX, tid = Group.IdxX, groupSize = Group.DimX;
        int first = rowStart[b], end = rowStart[b + 1], k = revealCounts[b];
        if (k <= 0) return;
        for (int m = first + tid; m < end; m += groupSize)
        {
            float c = confidence[m], d = deficit[m];
            int rank = 0;
            for (int other = first; other < end && rank < k; other++)
                if (RanksAbove(confidence[other], deficit[other], other, c, d, m)) rank++;
            if (rank < k) canvas[positions[m]] = tokens[m];
        }
    }
}
