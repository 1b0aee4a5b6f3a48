using System.Numerics;

namespace Dream.Reference;

/// <summary>
/// Weighted cross-entropy over rows of logits, the training loss's last op:
///   loss = Σ_r w[r] · (logsumexp(logits[r, :]) − logits[r, target[r]])
/// The weights carry everything the noise schedule decides (which rows count, 1/t or CART, the division by the
/// number of masked tokens), so this op stays the textbook formula.
/// Backward: dLogits[r, j] += dLoss · w[r] · (softmax(logits[r, :])[j] − [j = target[r]]).
/// </summary>
public static class CrossEntropy
{
    /// <param name="logits">[R, V] row-major.</param>
    /// <param name="targets">[R] ids in [0, V).</param>
    /// <param name="weights">[R].</param>
    public static T Forward<T>(T[] logits, int[] targets, T[] weights, int rows, int vocab)
        where T : IFloatingPointIeee754<T>
    {
        T loss = T.Zero;
        for (int r = 0; r < rows; r++)
            loss += weights[r] * (LogSumExp(logits, r * vocab, vocab) - logits[r * vocab + targets[r]]);
        return loss;
    }

    /// <param name="dLoss">gradient of the final objective with respect to this loss (1 when it is the objective).</param>
    /// <param name="dLogits">[R, V] accumulated into (+=).</param>
    public static void Backward<T>(T[] logits, int[] targets, T[] weights, T dLoss, T[] dLogits, int rows, int vocab)
        where T : IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            T lse = LogSumExp(logits, r * vocab, vocab);
            for (int j = 0; j < vocab; j++)
            {
                T p = T.Exp(logits[r * vocab + j] - lse);
                T oneHot = j == targets[r] ? T.One : T.Zero;
                dLogits[r * vocab + j] += dLoss * weights[r] * (p - oneHot);
            }
        }
    }

    /// <summary>log Σ_j e^(x_j), shifted by the maximum so that no exponent overflows.</summary>
    private static T LogSumExp<T>(T[] x, int start, int count) where T : IFloatingPointIeee754<T>
    {
        T max = T.NegativeInfinity;
        for (int j = 0; j < count; j++) if (x[start + j] > max) max = x[start + j];
        T sum = T.Zero;
        for (int j = 0; j < count; j++) sum += T.Exp(x[start + j] - max);
        return max + T.Log(sum);
    }
}
