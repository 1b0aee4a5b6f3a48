using System.Numerics.Tensors;

namespace Dream.Kernels.Training;

/// <summary>
/// The trainer's grouped-query attention over B stacked sequences of T tokens, as small matrix products per
/// (sequence, head), keeping the softmax weights P [B, H, T, T] for the backward:
///   forward   S = Q_h·K_gᵀ·scale (hidden keys −∞),  P = softmax_rows(S),  O_h = P·V_g
///   backward  dP = dO_h·V_gᵀ,  dS = P ∘ (dP − rowsum(P ∘ dP))·scale,
///             dQ_h = dS·K_g,  dK_g += dSᵀ·Q_h,  dV_g += Pᵀ·dO_h
/// Visible: a real key (isReal), and s ≤ t when causal (the autoregressive baseline only); a pad query outputs
/// zeros. One task per (sequence, kv head) gathers its heads into contiguous [T, Dh] blocks, so each task alone
/// writes its dk/dv rows: no races, a fixed order. Oracle: Dream.Reference.Attention.
/// </summary>
public static class Attention
{
    /// <summary>Per-thread blocks: Q_h, K_g (or its transpose), V_g (or its transpose), O_h/dO_h, dQ_h, dK_g, dV_g, two T×T.</summary>
    private sealed class Scratch
    {
        public float[] Q = [], K = [], V = [], O = [], DQ = [], DK = [], DV = [], T1 = [], T2 = [];

        public void Ensure(int tokens, int headDim)
        {
            int block = tokens * headDim, square = tokens * tokens;
            if (Q.Length >= block && T1.Length >= square) return;
            Q = new float[block]; K = new float[block]; V = new float[block]; O = new float[block];
            DQ = new float[block]; DK = new float[block]; DV = new float[block];
            T1 = new float[square]; T2 = new float[square];
        }
    }

    [ThreadStatic] private static Scratch? _scratch;

    private static Scratch Local(int tokens, int headDim)
    {
        var s = _scratch ??= new Scratch();
        s.Ensure(tokens, headDim);
        return s;
    }

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
            int b = task / kvHeads, g = task % kvHeads, first = b * tokens;
            var s = Local(tokens, headDim);
            int block = tokens * headDim;
            Gather(k, s.V, first, tokens, kvHeads, g, headDim);                  // K_g [T, Dh] ...
            Linear.Transpose(s.V.AsSpan(0, block), s.K, tokens, headDim);        // ... as K_gᵀ [Dh, T]
            Gather(v, s.V, first, tokens, kvHeads, g, headDim);                  // V_g [T, Dh]
            for (int h = g * group; h < (g + 1) * group; h++)
            {
                var p = probabilities.AsSpan((b * heads + h) * tokens * tokens, tokens * tokens);
                Gather(q, s.Q, first, tokens, heads, h, headDim);
                MatMul.Multiply(s.Q, s.K, p, tokens, headDim, tokens, accumulate: false);
                for (int t = 0; t < tokens; t++)
                {
                    var row = p.Slice(t * tokens, tokens);
                    if (isReal is not null && !isReal[first + t]) { row.Clear(); continue; }
                    for (int j = 0; j < tokens; j++)
                        row[j] = (isReal is null || isReal[first + j]) && (!causal || j <= t) ? row[j] * scale : float.NegativeInfinity;
                    float max = TensorPrimitives.Max(row);
                    TensorPrimitives.Subtract(row, max, row);
                    TensorPrimitives.Exp(row, row);                              // e^(−∞) = 0 for hidden keys
                    TensorPrimitives.Divide(row, TensorPrimitives.Sum(row), row);
                }
                MatMul.Multiply(p, s.V, s.O, tokens, tokens, headDim, accumulate: false);
                Scatter(s.O, output, first, tokens, heads, h, headDim, accumulate: false);
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
            int b = task / kvHeads, g = task % kvHeads, first = b * tokens;
            var s = Local(tokens, headDim);
            int block = tokens * headDim, square = tokens * tokens;
            Gather(v, s.DQ, first, tokens, kvHeads, g, headDim);                 // V_g [T, Dh] ...
            Linear.Transpose(s.DQ.AsSpan(0, block), s.V, tokens, headDim);       // ... as V_gᵀ [Dh, T]
            Gather(k, s.K, first, tokens, kvHeads, g, headDim);                  // K_g [T, Dh]
            Array.Clear(s.DK, 0, block);
            Array.Clear(s.DV, 0, block);
            for (int h = g * group; h < (g + 1) * group; h++)
            {
                var p = probabilities.AsSpan((b * heads + h) * square, square);
                Gather(q, s.Q, first, tokens, heads, h, headDim);
                Gather(dOutput, s.O, first, tokens, heads, h, headDim);
                var dS = s.T1.AsSpan(0, square);
                MatMul.Multiply(s.O, s.V, dS, tokens, headDim, tokens, accumulate: false);    // dP = dO_h·V_gᵀ
                for (int t = 0; t < tokens; t++)
                {
                    var pRow = p.Slice(t * tokens, tokens);
                    var dRow = dS.Slice(t * tokens, tokens);
                    float weighted = TensorPrimitives.Dot(pRow, dRow);                         // Σ_s P·dP
                    TensorPrimitives.Subtract(dRow, weighted, dRow);
                    TensorPrimitives.Multiply(dRow, pRow, dRow);
                    TensorPrimitives.Multiply(dRow, scale, dRow);                              // a pad row: P = 0, dS = 0
                }
                MatMul.Multiply(dS, s.K, s.DQ, tokens, tokens, headDim, accumulate: false);   // dQ_h = dS·K_g
                Scatter(s.DQ, dq, first, tokens, heads, h, headDim, accumulate: true);
                var transposed = s.T2.AsSpan(0, square);
                Linear.Transpose(dS, transposed, tokens, tokens);
                MatMul.Multiply(transposed, s.Q, s.DK, tokens, tokens, headDim, accumulate: true);  // dK_g += dSᵀ·Q_h
                Linear.Transpose(p, transposed, tokens, tokens);
                MatMul.Multiply(transposed, s.O, s.DV, tokens, tokens, headDim, accumulate: true);  // dV_g += Pᵀ·dO_h
            }
            Scatter(s.DK, dk, first, tokens, kvHeads, g, headDim, accumulate: true);
            Scatter(s.DV, dv, first, tokens, kvHeads, g, headDim, accumulate: true);
        });
    }

    /// <summary>block[t, :] = source[first + t, head, :] for a [rows, heads, Dh] source.</summary>
    private static void Gather(float[] source, float[] block, int first, int tokens, int heads, int head, int headDim)
    {
        for (int t = 0; t < tokens; t++)
            source.AsSpan(((first + t) * heads + head) * headDim, headDim).CopyTo(block.AsSpan(t * headDim, headDim));
    }

    private static void Scatter(float[] block, float[] destination, int first, int tokens, int heads, int head, int headDim, bool accumulate)
    {
        for (int t = 0; t < tokens; t++)
        {
            var to = destination.AsSpan(((first + t) * heads + head) * headDim, headDim);
            var from = block.AsSpan(t * headDim, headDim);
            if (accumulate) TensorPrimitives.Add(to, from, to);
            else from.CopyTo(to);
        }
    }
}
