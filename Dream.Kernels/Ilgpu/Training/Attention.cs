using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// Grouped-query attention for training over B stacked sequences of T tokens (twin of
/// Dream.Reference.Attention's Forward and Backward; training batches have no padding):
///   forward   S = Q_h·K_gᵀ·scale (keys s &gt; t hidden when causal),  P = softmax_rows(S),  O_h = P·V_g
///   backward  dP = dO_h·V_gᵀ,  dS = P ∘ (dP − rowsum(P ∘ dP))·scale,
///             dQ_h = dS·K_g,  dK_g = Σ_{h ∈ g} dSᵀ·Q_h,  dV_g = Σ_{h ∈ g} Pᵀ·dO_h
/// with g = h / (H/Hkv). The products are <see cref="MatMul"/> batched over z = (sequence, head), reading Q, K,
/// V, O in place through strides; P [B, H, T, T] is kept for the backward. Each head writes its own dK_h, dV_h
/// [N, H, Dh]; a last pass adds the heads of a group in head order — no atomics, a fixed order.
/// Why not one fused kernel per (sequence, head) in shared memory: K_g and V_g of 164 tokens × 64 dims are 84 KB,
/// over the 48 KB of static shared memory a portable kernel may take; the tiled product is tested once and
/// serves all nine products.
/// </summary>
public static class Attention
{
    /// <param name="q">[N, H, Dh] after RoPE.</param>
    /// <param name="k">[N, Hkv, Dh] after RoPE.</param>
    /// <param name="v">[N, Hkv, Dh].</param>
    /// <param name="probabilities">[B, H, T, T], written.</param>
    /// <param name="output">[N, H, Dh], written.</param>
    public static void Forward(TrainingKernels kernels, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, bool causal,
        ArrayView<float> probabilities, ArrayView<float> output, int batch, int tokens, int heads, int kvHeads, int headDim)
    {
        if (batch * tokens == 0) return;
        var l = new Layout(tokens, heads, kvHeads, headDim);
        Product(kernels, q, l.Q, k, l.KTransposed, probabilities, l.P, tokens, tokens, headDim, heads, batch, false);
        int rows = batch * heads * tokens;
        kernels.Softmax(new KernelConfig(rows, kernels.ReductionGroupSize), probabilities, tokens, causal ? 1 : 0, 1f / MathF.Sqrt(headDim));
        Product(kernels, probabilities, l.P, v, l.KV, output, l.Q, tokens, headDim, tokens, heads, batch, false);
    }

    /// <param name="dOutput">[N, H, Dh].</param>
    /// <param name="dScores">[B, H, T, T] scratch.</param>
    /// <param name="dHeads">[N, H, Dh] scratch.</param>
    /// <param name="dq">[N, H, Dh], written.</param>
    /// <param name="dk">[N, Hkv, Dh], written.</param>
    /// <param name="dv">[N, Hkv, Dh], written.</param>
    public static void Backward(TrainingKernels kernels, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> probabilities,
        ArrayView<float> dOutput, ArrayView<float> dScores, ArrayView<float> dHeads, ArrayView<float> dq, ArrayView<float> dk, ArrayView<float> dv,
        int batch, int tokens, int heads, int kvHeads, int headDim)
    {
        if (batch * tokens == 0) return;
        var l = new Layout(tokens, heads, kvHeads, headDim);
        int rows = batch * heads * tokens, kvCount = batch * tokens * kvHeads * headDim;
        Product(kernels, probabilities, l.PTransposed, dOutput, l.Q, dHeads, l.Q, tokens, headDim, tokens, heads, batch, false);   // dV_h = Pᵀ·dO
        kernels.GroupSum(kvCount, dHeads, dv, heads, kvHeads, headDim);
        Product(kernels, dOutput, l.Q, v, l.KTransposed, dScores, l.P, tokens, tokens, headDim, heads, batch, false);              // dP = dO·Vᵀ
        kernels.SoftmaxBackward(new KernelConfig(rows, kernels.ReductionGroupSize), probabilities, dScores, tokens, 1f / MathF.Sqrt(headDim));
        Product(kernels, dScores, l.P, k, l.KV, dq, l.Q, tokens, headDim, tokens, heads, batch, false);                            // dQ = dS·K
        Product(kernels, dScores, l.PTransposed, q, l.Q, dHeads, l.Q, tokens, headDim, tokens, heads, batch, false);               // dK_h = dSᵀ·Q
        kernels.GroupSum(kvCount, dHeads, dk, heads, kvHeads, headDim);
    }

    /// <summary>The strided views of one (sequence, head) block of each tensor.</summary>
    private readonly struct Layout(int t, int h, int hkv, int dh)
    {
        public MatrixView Q { get; } = new(0, h * dh, 1, (long)t * h * dh, dh);                               // [T, Dh] of q, o, dq
        public MatrixView KV { get; } = new(0, hkv * dh, 1, (long)t * hkv * dh, dh, h / hkv);                 // [T, Dh] of k or v
        public MatrixView KTransposed { get; } = new(0, 1, hkv * dh, (long)t * hkv * dh, dh, h / hkv);        // [Dh, T]
        public MatrixView P { get; } = new(0, t, 1, (long)h * t * t, (long)t * t);                            // [T, T]
        public MatrixView PTransposed { get; } = new(0, 1, t, (long)h * t * t, (long)t * t);
    }

    private static void Product(TrainingKernels kernels, ArrayView<float> a, MatrixView av, ArrayView<float> b, MatrixView bv,
        ArrayView<float> c, MatrixView cv, int m, int n, int k, int heads, int batch, bool accumulate)
    {
        var shape = new MatMulShape { M = m, N = n, K = k, Heads = heads, A = av, B = bv, C = cv, Accumulate = accumulate ? 1 : 0 };
        MatMul.Run(kernels, a, b, c, kernels.Dummy, shape, batch * heads);
    }

    /// <summary>One group per row of S [B·H·T, T]: p = softmax(s·scale) in place, keys past the query hidden when causal.</summary>
    internal static void SoftmaxKernel(ArrayView<float> scores, int tokens, int causal, float scale)
    {
        var partial = SharedMemory.Allocate<float>(TrainingKernels.MaxGroupSize);
        int tid = Group.IdxX, groupSize = Group.DimX;
        int row = Grid.IdxX, t = row % tokens;
        long at = (long)row * tokens;
        int visible = causal != 0 ? t + 1 : tokens;
        float max = float.NegativeInfinity;
        for (int s = tid; s < visible; s += groupSize) max = MathF.Max(max, scores[at + s] * scale);
        partial[tid] = max;
        Group.Barrier();
        float rowMax = float.NegativeInfinity;
        for (int j = 0; j < groupSize; j++) rowMax = MathF.Max(rowMax, partial[j]);
        Group.Barrier();
        float sum = 0f;
        for (int s = tid; s < tokens; s += groupSize)
        {
            float e = s < visible ? MathF.Exp(scores[at + s] * scale - rowMax) : 0f;
            scores[at + s] = e;
            sum += e;
        }
        partial[tid] = sum;
        Group.Barrier();
        float total = 0f;
        for (int j = 0; j < groupSize; j++) total += partial[j];
        float inverse = 1f / total;
        for (int s = tid; s < tokens; s += groupSize) scores[at + s] *= inverse;
    }

    /// <summary>One group per row: dS = P ∘ (dP − Σ P∘dP)·scale, in place over dP.</summary>
    internal static void SoftmaxBackwardKernel(ArrayView<float> probabilities, ArrayView<float> dScores, int tokens, float scale)
    {
        var partial = SharedMemory.Allocate<float>(TrainingKernels.MaxGroupSize);
        int tid = Group.IdxX, groupSize = Group.DimX;
        long at = (long)Grid.IdxX * tokens;
        float dot = 0f;
        for (int s = tid; s < tokens; s += groupSize) dot += probabilities[at + s] * dScores[at + s];
        partial[tid] = dot;
        Group.Barrier();
        float total = 0f;
        for (int j = 0; j < groupSize; j++) total += partial[j];
        for (int s = tid; s < tokens; s += groupSize) dScores[at + s] = probabilities[at + s] * (dScores[at + s] - total) * scale;
    }

    /// <summary>dkv[n, g, d] = Σ_{j &lt; H/Hkv} dHeads[n, g·(H/Hkv) + j, d]: one thread per element of [N, Hkv, Dh].</summary>
    internal static void GroupSumKernel(Index1D i, ArrayView<float> dHeads, ArrayView<float> dkv, int heads, int kvHeads, int headDim)
    {
        int d = i % headDim, rest = i / headDim;
        int g = rest % kvHeads, n = rest / kvHeads, group = heads / kvHeads;
        long from = ((long)n * heads + g * group) * headDim + d;
        float sum = 0f;
        for (int j = 0; j < group; j++) sum += dHeads[from + j * headDim];
        dkv[i] = sum;
    }
}
