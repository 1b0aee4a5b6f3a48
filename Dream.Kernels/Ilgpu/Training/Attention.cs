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
    /// <param name="half">
    /// Mixed precision: bf16 copies of q, k, v (already filled) and the padded copy of P (written here by the
    /// softmax); S = Q·Kᵀ and O = P·V then run on <see cref="TensorCoreGemm"/>. Null: every product f32.
    /// </param>
    public static void Forward(TrainingKernels kernels, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, bool causal,
        ArrayView<float> probabilities, ArrayView<float> output, int batch, int tokens, int heads, int kvHeads, int headDim,
        AttentionBf16? half = null)
    {
        if (batch * tokens == 0) return;
        var l = new Layout(tokens, heads, kvHeads, headDim);
        int rows = batch * heads * tokens;
        float scale = 1f / MathF.Sqrt(headDim);
        if (half is { } h)
        {
            int tp = PaddedTokens(tokens);
            h.Check(batch, tokens, heads, kvHeads, headDim, backward: false);
            var g = new HalfLayout(tokens, tp, heads, kvHeads, headDim);
            TensorCoreGemm.Run(kernels, h.Q, h.K, probabilities, default, g.Scores(), batch * heads);            // S = Q·Kᵀ
            kernels.Softmax(new KernelConfig(rows, kernels.RowGroupSize(tokens)), probabilities, tokens, causal ? 1 : 0, scale, h.P, tp);
            TensorCoreGemm.Run(kernels, h.P, h.V, output, default, g.TimesKv(aMajor: false, g.KvRowStride, g.KvHeadStride, heads / kvHeads), batch * heads); // O = P·V
            return;
        }
        Product(kernels, q, l.Q, k, l.KTransposed, probabilities, l.P, tokens, tokens, headDim, heads, batch, false);
        kernels.Softmax(new KernelConfig(rows, kernels.RowGroupSize(tokens)), probabilities, tokens, causal ? 1 : 0, scale, kernels.Dummy16, 0);
        Product(kernels, probabilities, l.P, v, l.KV, output, l.Q, tokens, headDim, tokens, heads, batch, false);
    }

    /// <param name="dOutput">[N, H, Dh].</param>
    /// <param name="dScores">[B, H, T, T] scratch.</param>
    /// <param name="dHeads">[N, H, Dh] scratch.</param>
    /// <param name="dq">[N, H, Dh], written.</param>
    /// <param name="dk">[N, Hkv, Dh], written.</param>
    /// <param name="dv">[N, Hkv, Dh], written.</param>
    /// <param name="half">
    /// Mixed precision: the forward's bf16 copies of q, k, v and P, dO's bf16 copy (already filled) and a padded
    /// scratch for dS (written here by the softmax backward); the four products run on <see cref="TensorCoreGemm"/>.
    /// </param>
    public static void Backward(TrainingKernels kernels, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> probabilities,
        ArrayView<float> dOutput, ArrayView<float> dScores, ArrayView<float> dHeads, ArrayView<float> dq, ArrayView<float> dk, ArrayView<float> dv,
        int batch, int tokens, int heads, int kvHeads, int headDim, AttentionBf16? half = null)
    {
        if (batch * tokens == 0) return;
        var l = new Layout(tokens, heads, kvHeads, headDim);
        int rows = batch * heads * tokens, kvCount = batch * tokens * kvHeads * headDim;
        float scale = 1f / MathF.Sqrt(headDim);
        if (half is { } h)
        {
            int tp = PaddedTokens(tokens), z = batch * heads, group = heads / kvHeads;
            h.Check(batch, tokens, heads, kvHeads, headDim, backward: true);
            var g = new HalfLayout(tokens, tp, heads, kvHeads, headDim);
            TensorCoreGemm.Run(kernels, h.P, h.DOutput, dHeads, default, g.TimesKv(aMajor: true, g.QRowStride, g.QHeadStride, 1), z);     // dV_h = Pᵀ·dO
            kernels.GroupSum(kvCount, dHeads, dv, heads, kvHeads, headDim);
            TensorCoreGemm.Run(kernels, h.DOutput, h.V, dScores, default, g.Scores(), z);                               // dP = dO·Vᵀ
            kernels.SoftmaxBackward(new KernelConfig(rows, kernels.RowGroupSize(tokens)), probabilities, dScores, tokens, scale, h.DScores, tp);
            TensorCoreGemm.Run(kernels, h.DScores, h.K, dq, default, g.TimesKv(aMajor: false, g.KvRowStride, g.KvHeadStride, group), z);  // dQ = dS·K
            TensorCoreGemm.Run(kernels, h.DScores, h.Q, dHeads, default, g.TimesKv(aMajor: true, g.QRowStride, g.QHeadStride, 1), z);     // dK_h = dSᵀ·Q
            kernels.GroupSum(kvCount, dHeads, dk, heads, kvHeads, headDim);
            return;
        }
        Product(kernels, probabilities, l.PTransposed, dOutput, l.Q, dHeads, l.Q, tokens, headDim, tokens, heads, batch, false);   // dV_h = Pᵀ·dO
        kernels.GroupSum(kvCount, dHeads, dv, heads, kvHeads, headDim);
        Product(kernels, dOutput, l.Q, v, l.KTransposed, dScores, l.P, tokens, tokens, headDim, heads, batch, false);              // dP = dO·Vᵀ
        kernels.SoftmaxBackward(new KernelConfig(rows, kernels.RowGroupSize(tokens)), probabilities, dScores, tokens, scale, kernels.Dummy16, 0);
        Product(kernels, dScores, l.P, k, l.KV, dq, l.Q, tokens, headDim, tokens, heads, batch, false);                            // dQ = dS·K
        Product(kernels, dScores, l.PTransposed, q, l.Q, dHeads, l.Q, tokens, headDim, tokens, heads, batch, false);               // dK_h = dSᵀ·Q
        kernels.GroupSum(kvCount, dHeads, dk, heads, kvHeads, headDim);
    }

    /// <summary>Row length of the bf16 copies of P and dS: T rounded up to a multiple of 8 (16-byte rows), the pad zero.</summary>
    public static int PaddedTokens(int tokens) => (tokens + 7) / 8 * 8;

    /// <summary>
    /// Whether the tensor-core path is valid for this head width: on CUDA every bf16 row and head offset of q, k,
    /// v and dO must be a multiple of 8 elements (16 bytes), i.e. Dh mod 8 = 0 (P's and dS's rows are padded to
    /// <see cref="PaddedTokens"/>); the portable fallback elsewhere takes any shape. All six products share this
    /// condition, so it is one choice for the layer.
    /// </summary>
    public static bool TensorCoresFit(TrainingKernels kernels, int headDim) => !kernels.IsCuda || headDim % 8 == 0;

    /// <summary>The strided views of one (sequence, head) block of each tensor.</summary>
    private readonly struct Layout(int t, int h, int hkv, int dh)
    {
        public MatrixView Q { get; } = new(0, h * dh, 1, (long)t * h * dh, dh);                               // [T, Dh] of q, o, dq
        public MatrixView KV { get; } = new(0, hkv * dh, 1, (long)t * hkv * dh, dh, h / hkv);                 // [T, Dh] of k or v
        public MatrixView KTransposed { get; } = new(0, 1, hkv * dh, (long)t * hkv * dh, dh, h / hkv);        // [Dh, T]
        public MatrixView P { get; } = new(0, t, 1, (long)h * t * t, (long)t * t);                            // [T, T]
        public MatrixView PTransposed { get; } = new(0, 1, t, (long)h * t * t, (long)t * t);
    }

    /// <summary>
    /// The <see cref="GemmShape"/>s of the tensor-core path, z = (sequence, head) with Heads = H:
    ///   [T, T] products (S = Q·Kᵀ, dP = dO·Vᵀ): A = q or dO [T, Dh] KContiguous (row stride H·Dh), B = k or v
    ///     [T, Dh] KContiguous (row stride Hkv·Dh, head divisor H/Hkv), C = f32 [T, T] of P or dS;
    ///   [T, Dh] products with K = T: A = P or dS (bf16, rows of T' = <see cref="PaddedTokens"/>) read KContiguous
    ///     (O = P·V, dQ = dS·K) or KMajor as its transpose (dV_h = Pᵀ·dO, dK_h = dSᵀ·Q); B = v, k (divisor
    ///     H/Hkv) or dO, q (divisor 1) read KMajor (k = the token row); C = f32 [T, Dh] of o, dq or dHeads.
    /// </summary>
    private readonly struct HalfLayout(int t, int tp, int h, int hkv, int dh)
    {
        public long QRowStride => (long)h * dh;
        public long QHeadStride => dh;
        public long KvRowStride => (long)hkv * dh;
        public long KvHeadStride => dh;

        public GemmShape Scores() => new()
        {
            M = t, N = t, K = dh, Heads = h, BHeadDivisor = h / hkv,
            ALayout = (int)OperandLayout.KContiguous, BLayout = (int)OperandLayout.KContiguous,
            ARowStride = QRowStride, ABatchStride = (long)t * h * dh, AHeadStride = QHeadStride,
            BRowStride = KvRowStride, BBatchStride = (long)t * hkv * dh, BHeadStride = KvHeadStride,
            CRowStride = t, CBatchStride = (long)h * t * t, CHeadStride = (long)t * t,
        };

        /// <summary>C [T, Dh] = A·B with A the padded [T, T'] copy (as stored, or transposed) and B a [T, Dh] block of q/dO or k/v.</summary>
        public GemmShape TimesKv(bool aMajor, long bRowStride, long bHeadStride, int bDivisor) => new()
        {
            M = t, N = dh, K = t, Heads = h, BHeadDivisor = bDivisor,
            ALayout = (int)(aMajor ? OperandLayout.KMajor : OperandLayout.KContiguous), BLayout = (int)OperandLayout.KMajor,
            ARowStride = tp, ABatchStride = (long)h * t * tp, AHeadStride = (long)t * tp,
            BRowStride = bRowStride, BBatchStride = (long)t * bRowStride, BHeadStride = bHeadStride,
            CRowStride = (long)h * dh, CBatchStride = (long)t * h * dh, CHeadStride = dh,
        };
    }

    private static void Product(TrainingKernels kernels, ArrayView<float> a, MatrixView av, ArrayView<float> b, MatrixView bv,
        ArrayView<float> c, MatrixView cv, int m, int n, int k, int heads, int batch, bool accumulate)
    {
        var shape = new MatMulShape { M = m, N = n, K = k, Heads = heads, A = av, B = bv, C = cv, Accumulate = accumulate ? 1 : 0 };
        MatMul.Run(kernels, a, b, c, kernels.Dummy, shape, batch * heads);
    }

    /// <summary>One group per row of S [B·H·T, T]: p = softmax(s·scale) in place, keys past the query hidden when causal.</summary>
    /// <remarks>With <paramref name="paddedTokens"/> &gt; 0 the row of P is also written in bf16 to <paramref name="copy"/> [B·H·T, T'], pad zero.</remarks>
    internal static void SoftmaxKernel(ArrayView<float> scores, int tokens, int causal, float scale, ArrayView<ushort> copy, int paddedTokens)
    {
        var partial = SharedMemory.Allocate<float>(TrainingKernels.MaxGroupSize);
        int tid = Group.IdxX, groupSize = Group.DimX;
        int row = Grid.IdxX, t = row % tokens;
        long at = (long)row * tokens;
        int visible = causal != 0 ? t + 1 : tokens;
        float max = float.NegativeInfinity;
        for (int s = tid; s < visible; s += groupSize) max = MathF.Max(max, scores[at + s] * scale);
        float rowMax = GroupReduce.Max(partial, max);
        float sum = 0f;
        for (int s = tid; s < tokens; s += groupSize)
        {
            float e = s < visible ? MathF.Exp(scores[at + s] * scale - rowMax) : 0f;
            scores[at + s] = e;
            sum += e;
        }
        float inverse = 1f / GroupReduce.Sum(partial, sum);
        long copyAt = (long)row * paddedTokens;
        for (int s = tid; s < tokens; s += groupSize)
        {
            float p = scores[at + s] * inverse;
            scores[at + s] = p;
            if (paddedTokens > 0) copy[copyAt + s] = Bf16.FromFloat(p);
        }
        for (int s = tokens + tid; s < paddedTokens; s += groupSize) copy[copyAt + s] = 0;
    }

    /// <summary>One group per row: dS = P ∘ (dP − Σ P∘dP)·scale, in place over dP.</summary>
    /// <remarks>With <paramref name="paddedTokens"/> &gt; 0 the row of dS is also written in bf16 to <paramref name="copy"/> [B·H·T, T'], pad zero.</remarks>
    internal static void SoftmaxBackwardKernel(ArrayView<float> probabilities, ArrayView<float> dScores, int tokens, float scale, ArrayView<ushort> copy, int paddedTokens)
    {
        var partial = SharedMemory.Allocate<float>(TrainingKernels.MaxGroupSize);
        int tid = Group.IdxX, groupSize = Group.DimX;
        long at = (long)Grid.IdxX * tokens;
        float dot = 0f;
        for (int s = tid; s < tokens; s += groupSize) dot += probabilities[at + s] * dScores[at + s];
        float total = GroupReduce.Sum(partial, dot);
        long copyAt = (long)Grid.IdxX * paddedTokens;
        for (int s = tid; s < tokens; s += groupSize)
        {
            float ds = probabilities[at + s] * (dScores[at + s] - total) * scale;
            dScores[at + s] = ds;
            if (paddedTokens > 0) copy[copyAt + s] = Bf16.FromFloat(ds);
        }
        for (int s = tokens + tid; s < paddedTokens; s += groupSize) copy[copyAt + s] = 0;
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

/// <summary>
/// The bf16 operands of <see cref="Attention"/>'s tensor-core path (mixed precision): copies of q [N, H, Dh],
/// k and v [N, Hkv, Dh] after RoPE, of dO [N, H, Dh], and the padded copies of P and dS [B, H, T, T'] with
/// T' = <see cref="Attention.PaddedTokens"/> (written by the softmax kernels, pad columns zero).
/// Forward reads Q, K, V and writes P; Backward reads Q, K, V, P, DOutput and writes DScores.
/// </summary>
public readonly record struct AttentionBf16(ArrayView<ushort> Q, ArrayView<ushort> K, ArrayView<ushort> V, ArrayView<ushort> P,
    ArrayView<ushort> DOutput = default, ArrayView<ushort> DScores = default)
{
    internal void Check(int batch, int tokens, int heads, int kvHeads, int headDim, bool backward)
    {
        long n = (long)batch * tokens, square = (long)batch * heads * tokens * Attention.PaddedTokens(tokens);
        if (Q.Length < n * heads * headDim || K.Length < n * kvHeads * headDim || V.Length < n * kvHeads * headDim || P.Length < square
            || backward && (DOutput.Length < n * heads * headDim || DScores.Length < square))
            throw new ArgumentException("a bf16 attention copy is shorter than its tensor");
    }
}
