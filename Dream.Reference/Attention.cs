using System.Numerics;

namespace Dream.Reference;

/// <summary>
/// Bidirectional grouped-query attention (never causal — Dream sees the whole canvas):
///   out[t, h] = Σ_s softmax_s(q[t, h]·k[s, g]/sqrt(Dh)) · v[s, g],  g = h / (H / Hkv)
/// With a padding mask, only real keys take part, and a pad query row (every key masked for it) outputs zeros,
/// which is what the official code's 4-D mask A[i, j] = real[i] ∧ real[j] produces.
/// </summary>
public static class Attention
{
    /// <param name="q">[T, H, Dh] row-major (after RoPE).</param>
    /// <param name="k">[T, Hkv, Dh] row-major (after RoPE).</param>
    /// <param name="v">[T, Hkv, Dh] row-major.</param>
    /// <param name="isReal">[T] true for real tokens; null = no padding.</param>
    /// <param name="output">[T, H, Dh] row-major.</param>
    public static void Forward<T>(T[] q, T[] k, T[] v, bool[]? isReal, T[] output, int tokens, int heads, int kvHeads, int headDim)
        where T : IFloatingPointIeee754<T>
    {
        int group = heads / kvHeads;
        T scale = T.One / T.Sqrt(T.CreateChecked(headDim));
        Parallel.For(0, tokens, t =>
        {
            var scores = new T[tokens];
            for (int h = 0; h < heads; h++)
            {
                int g = h / group;
                int outBase = (t * heads + h) * headDim;
                if (isReal is not null && !isReal[t])
                {
                    Array.Clear(output, outBase, headDim);
                    continue;
                }

                T max = T.NegativeInfinity;
                for (int s = 0; s < tokens; s++)
                {
                    if (isReal is not null && !isReal[s]) continue;
                    T dot = T.Zero;
                    for (int i = 0; i < headDim; i++)
                        dot += q[outBase + i] * k[(s * kvHeads + g) * headDim + i];
                    scores[s] = dot * scale;
                    if (scores[s] > max) max = scores[s];
                }

                T sum = T.Zero;
                for (int s = 0; s < tokens; s++)
                {
                    if (isReal is not null && !isReal[s]) { scores[s] = T.Zero; continue; }
                    scores[s] = T.Exp(scores[s] - max);
                    sum += scores[s];
                }

                for (int i = 0; i < headDim; i++)
                {
                    T acc = T.Zero;
                    for (int s = 0; s < tokens; s++) acc += scores[s] * v[(s * kvHeads + g) * headDim + i];
                    output[outBase + i] = acc / sum;
                }
            }
        });
    }
}
