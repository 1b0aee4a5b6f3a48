using System.Numerics.Tensors;

namespace Dream.Kernels.Training;

/// <summary>
/// The trainer's grouped-query attention over B stacked sequences of T tokens, keeping the softmax weights
/// P [B, H, T, T] for the backward:
///   forward   P[t, :] = softmax(q[t, h]·k[:, g]ᵀ · scale over visible keys),  out[t, h] = Σ_s P[t, s]·v[s, g]
///   backward  dP = dout·vᵀ, dS = P ∘ (dP − rowsum(P ∘ dP)) · scale, dq += dS·k, dk += dSᵀ·q, dv += Pᵀ·dout
/// Visible: a real key (isReal), and s ≤ t when causal (the autoregressive baseline only); a pad query outputs
/// zeros. One task per (sequence, kv head), so each task alone writes its dk/dv rows: no races, fixed order.
/// Oracle: Dream.Reference.Attention.
/// </summary>
public static class Attention
{
    /// <param name="q">[B·T, H, Dh] after RoPE.</param>
    /// <param name="k">[B·T, Hkv, Dh] after RoPE.</param>
    /// <param name="v">[B·T, Hkv, Dh].</param>
    /// <param name="isReal">[B·T] or null (no padding).</param>
    /// <param name="probabilities">[B, H, T, T], written.</param>
    /// <param name="output">[B·T, H, Dh], overwritten.</param>
    public static void Forward(float[] q, float[] k, float[] v, bool[]? isReal, bool causal, float[] probabilities, float[] output,
        int batch, int tokens, int heads, int kvHeads, int headDim)
    {
        int group = heads / kvHeads;
        float scale = 1f / MathF.Sqrt(headDim);
        Parallel.For(0, batch * kvHeads, task =>
        {
            int b = task / kvHeads, g = task % kvHeads;
            for (int h = g * group; h < (g + 1) * group; h++)
            for (int t = 0; t < tokens; t++)
            {
                int row = b * tokens + t;
                var p = probabilities.AsSpan(((b * heads + h) * tokens + t) * tokens, tokens);
                var o = output.AsSpan((row * heads + h) * headDim, headDim);
                o.Clear();
                if (isReal is not null && !isReal[row]) { p.Clear(); continue; }

                var qRow = q.AsSpan((row * heads + h) * headDim, headDim);
                for (int s = 0; s < tokens; s++)
                    p[s] = Visible(isReal, causal, b * tokens + s, t, s)
                        ? scale * TensorPrimitives.Dot(qRow, k.AsSpan(((b * tokens + s) * kvHeads + g) * headDim, headDim))
                        : float.NegativeInfinity;
                float max = TensorPrimitives.Max(p);
                TensorPrimitives.Subtract(p, max, p);
                TensorPrimitives.Exp(p, p);                                 // e^(−∞) = 0 for hidden keys
                TensorPrimitives.Divide(p, TensorPrimitives.Sum(p), p);
                for (int s = 0; s < tokens; s++)
                    if (p[s] != 0f) TensorPrimitives.MultiplyAdd(v.AsSpan(((b * tokens + s) * kvHeads + g) * headDim, headDim), p[s], o, o);
            }
        });
    }

    /// <param name="dOutput">[B·T, H, Dh].</param>
    /// <param name="dq">[B·T, H, Dh], accumulated into (+=).</param>
    /// <param name="dk">[B·T, Hkv, Dh], accumulated into (+=).</param>
    /// <param name="dv">[B·T, Hkv, Dh], accumulated into (+=).</param>
    public static void Backward(float[] q, float[] k, float[] v, bool[]? isReal, float[] probabilities, float[] dOutput,
        float[] dq, float[] dk, float[] dv, int batch, int tokens, int heads, int kvHeads, int headDim)
    {
        int group = heads / kvHeads;
        float scale = 1f / MathF.Sqrt(headDim);
        Parallel.For(0, batch * kvHeads, task =>
        {
            int b = task / kvHeads, g = task % kvHeads;
            var dS = new float[tokens];
            for (int h = g * group; h < (g + 1) * group; h++)
            for (int t = 0; t < tokens; t++)
            {
                int row = b * tokens + t;
                if (isReal is not null && !isReal[row]) continue;          // the output was a constant zero
                var p = probabilities.AsSpan(((b * heads + h) * tokens + t) * tokens, tokens);
                var dOut = dOutput.AsSpan((row * heads + h) * headDim, headDim);
                var qRow = q.AsSpan((row * heads + h) * headDim, headDim);
                var dqRow = dq.AsSpan((row * heads + h) * headDim, headDim);
                for (int s = 0; s < tokens; s++)
                    dS[s] = p[s] == 0f ? 0f : TensorPrimitives.Dot(dOut, v.AsSpan(((b * tokens + s) * kvHeads + g) * headDim, headDim));
                float weighted = TensorPrimitives.Dot(p, dS);               // Σ_s P[s]·dP[s]
                for (int s = 0; s < tokens; s++)
                {
                    if (p[s] == 0f) continue;
                    int kv = ((b * tokens + s) * kvHeads + g) * headDim;
                    float d = p[s] * (dS[s] - weighted) * scale;
                    TensorPrimitives.MultiplyAdd(k.AsSpan(kv, headDim), d, dqRow, dqRow);
                    var dkRow = dk.AsSpan(kv, headDim);
                    TensorPrimitives.MultiplyAdd(qRow, d, dkRow, dkRow);
                    var dvRow = dv.AsSpan(kv, headDim);
                    TensorPrimitives.MultiplyAdd(dOut, p[s], dvRow, dvRow);
                }
            }
        });
    }

    private static bool Visible(bool[]? isReal, bool causal, int keyRow, int t, int s) =>
        (isReal is null || isReal[keyRow]) && (!causal || s <= t);
}
