using System.Numerics;

namespace Dream.Reference;

/// <summary>
/// Bidirectional grouped-query attention (never causal — Dream sees the whole canvas):
///   out[t, h] = Σ_s softmax_s(q[t, h]·k[s, g]/sqrt(Dh)) · v[s, g],  g = h / (H / Hkv)
/// With a padding mask, only real keys take part, and a pad query row (every key masked for it) outputs zeros,
/// which is what the official code's 4-D mask A[i, j] = real[i] ∧ real[j] produces.
/// The causal variant (key s visible only when s ≤ t) exists for the autoregressive baseline that training
/// compares Dream against; Dream itself never uses it.
/// Backward, with P the softmax weights of row (t, h) and scale = 1/sqrt(Dh):
///   dv[s] += P[s]·dout,  dP[s] = dout·v[s],  dS[s] = P[s]·(dP[s] − Σ_s' P[s']·dP[s']),
///   dq[t] += scale·Σ_s dS[s]·k[s],  dk[s] += scale·dS[s]·q[t].
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
        => Forward(q, k, v, isReal, causal: false, output, tokens, heads, kvHeads, headDim);

    /// <param name="causal">true only for the autoregressive baseline: query t sees keys 0..t.</param>
    public static void Forward<T>(T[] q, T[] k, T[] v, bool[]? isReal, bool causal, T[] output, int tokens, int heads, int kvHeads, int headDim)
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
                    if (!Visible(isReal, causal, t, s)) continue;
                    T dot = T.Zero;
                    for (int i = 0; i < headDim; i++)
                        dot += q[outBase + i] * k[(s * kvHeads + g) * headDim + i];
                    scores[s] = dot * scale;
                    if (scores[s] > max) max = scores[s];
                }

                T sum = T.Zero;
                for (int s = 0; s < tokens; s++)
                {
                    if (!Visible(isReal, causal, t, s)) { scores[s] = T.Zero; continue; }
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

    /// <summary>Recomputes the softmax weights of each query row (plainest, no saved state) and back-propagates.</summary>
    /// <param name="q">[T, H, Dh] the forward input (after RoPE).</param>
    /// <param name="k">[T, Hkv, Dh] the forward input (after RoPE).</param>
    /// <param name="v">[T, Hkv, Dh] the forward input.</param>
    /// <param name="dOutput">[T, H, Dh].</param>
    /// <param name="dq">[T, H, Dh] accumulated into (+=).</param>
    /// <param name="dk">[T, Hkv, Dh] accumulated into (+=); the query heads of a group all add to their kv head.</param>
    /// <param name="dv">[T, Hkv, Dh] accumulated into (+=).</param>
    public static void Backward<T>(T[] q, T[] k, T[] v, bool[]? isReal, bool causal, T[] dOutput, T[] dq, T[] dk, T[] dv,
        int tokens, int heads, int kvHeads, int headDim)
        where T : IFloatingPointIeee754<T>
    {
        int group = heads / kvHeads;
        T scale = T.One / T.Sqrt(T.CreateChecked(headDim));
        var p = new T[tokens];
        var dp = new T[tokens];
        for (int t = 0; t < tokens; t++)
        for (int h = 0; h < heads; h++)
        {
            if (isReal is not null && !isReal[t]) continue; // the output was a constant zero
            int g = h / group;
            int qBase = (t * heads + h) * headDim;

            T max = T.NegativeInfinity;
            for (int s = 0; s < tokens; s++)
            {
                if (!Visible(isReal, causal, t, s)) continue;
                T dot = T.Zero;
                for (int i = 0; i < headDim; i++) dot += q[qBase + i] * k[(s * kvHeads + g) * headDim + i];
                p[s] = dot * scale;
                if (p[s] > max) max = p[s];
            }
            T sum = T.Zero;
            for (int s = 0; s < tokens; s++)
            {
                p[s] = Visible(isReal, causal, t, s) ? T.Exp(p[s] - max) : T.Zero;
                sum += p[s];
            }
            for (int s = 0; s < tokens; s++) p[s] /= sum;

            T weighted = T.Zero; // Σ_s P[s]·dP[s]
            for (int s = 0; s < tokens; s++)
            {
                int kvBase = (s * kvHeads + g) * headDim;
                T d = T.Zero;
                for (int i = 0; i < headDim; i++)
                {
                    d += dOutput[qBase + i] * v[kvBase + i];
                    dv[kvBase + i] += p[s] * dOutput[qBase + i];
                }
                dp[s] = d;
                weighted += p[s] * d;
            }
            for (int s = 0; s < tokens; s++)
            {
                T dScore = p[s] * (dp[s] - weighted) * scale;
                int kvBase = (s * kvHeads + g) * headDim;
                for (int i = 0; i < headDim; i++)
                {
                    dq[qBase + i] += dScore * k[kvBase + i];
                    dk[kvBase + i] += dScore * q[qBase + i];
                }
            }
        }
    }

    private static bool Visible(bool[]? isReal, bool causal, int t, int s) =>
        (isReal is null || isReal[s]) && (!causal || s <= t);
}
