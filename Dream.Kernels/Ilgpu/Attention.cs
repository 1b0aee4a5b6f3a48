using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Bidirectional grouped-query attention with a padding mask (twin of Dream.Reference.Attention):
///   out[t, h] = Σ_s softmax_s(q[t, h]·k[s, g]/sqrt(Dh)) · v[s, g],  g = h / (H / Hkv), s over real keys only;
///   a pad query row outputs zeros.
/// One group per (batch row, query token, head). Threads stride over the keys writing scores to shared memory
/// and a per-thread max; after one barrier every thread reads all the partial maxima, turns its own scores into
/// exp(score − max) and a partial sum; after a second barrier every thread adds the partial sums, then threads
/// stride over the head dimension accumulating Σ_s p_s·v[s] in key order and divide by the sum. Two barriers per
/// group (the CPU simulator pays dearly for each). Shared memory: a row of up to 8192 scores + two floats per thread.
/// </summary>
public static class Attention
{
    /// <param name="q">[B·T, H, Dh] (after RoPE).</param>
    /// <param name="k">[B·T, Hkv, Dh] (after RoPE).</param>
    /// <param name="v">[B·T, Hkv, Dh].</param>
    /// <param name="isReal">[B·T] 1 for real tokens, 0 for padding.</param>
    /// <param name="output">[B·T, H, Dh].</param>
    public static void Forward(IlgpuKernels kernels, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<int> isReal, ArrayView<float> output,
        int batch, int tokens, int heads, int kvHeads, int headDim)
    {
        if (batch * tokens == 0) return;
        if (tokens > IlgpuKernels.MaxAttentionTokens)
            throw new NotSupportedException($"attention over {tokens} tokens: this kernel keeps one row of scores in shared memory and takes at most {IlgpuKernels.MaxAttentionTokens}");
        float scale = 1f / MathF.Sqrt(headDim);
        var config = new KernelConfig(batch * tokens * heads, kernels.ReductionGroupSize);
        kernels.Attention(config, q, k, v, isReal, output, tokens, heads, kvHeads, headDim, scale);
    }

    internal static void Kernel(ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<int> isReal, ArrayView<float> output,
        int tokens, int heads, int kvHeads, int headDim, float scale)
    {
        int queryHead = Grid.IdxX;          // (b·T + t)·H + h
        int query = queryHead / heads;      // b·T + t
        int h = queryHead - query * heads;
        int firstKey = query / tokens * tokens;
        int g = h / (heads / kvHeads);
        long outBase = (long)queryHead * headDim;
        int kvStride = kvHeads * headDim;

        // A pad query row outputs zeros; its group still walks every barrier (no return ahead of a barrier).
        bool padQuery = isReal[query] == 0;
        var scores = SharedMemory.Allocate<float>(IlgpuKernels.MaxAttentionTokens);  // [T]
        var partialMax = SharedMemory.Allocate<float>(IlgpuKernels.MaxGroupSize);    // [group]
        var partialSum = SharedMemory.Allocate<float>(IlgpuKernels.MaxGroupSize);    // [group]

        var operands = new F32Operands(q, k, v);
        float sum = SoftmaxRow(operands, isReal, scores, partialMax, partialSum, outBase, firstKey, g * headDim, kvStride, tokens, headDim, scale);
        for (int i = Group.IdxX; i < headDim; i += Group.DimX)
            output[outBase + i] = padQuery ? 0f : WeightedValue(operands, scores, firstKey, g * headDim + i, kvStride, tokens) / sum;
    }

    /// <summary>Reads q, k and v elements as float32, whatever the storage (float32 here, bf16 in <see cref="FlashAttention"/>'s portable kernel).</summary>
    internal interface IOperands
    {
        float Query(long index);
        float Key(long index);
        float Value(long index);
    }

    private readonly struct F32Operands(ArrayView<float> q, ArrayView<float> k, ArrayView<float> v) : IOperands
    {
        public float Query(long index) => q[index];
        public float Key(long index) => k[index];
        public float Value(long index) => v[index];
    }

    /// <summary>
    /// The shared body of both one-group-per-row kernels, up to the softmax: threads stride over the keys writing
    /// q·k·scale (−∞ for pad keys) to <paramref name="scores"/> and a partial max; after one barrier every thread
    /// reads all the partial maxima (same order, same result) and turns its own scores into exp(s − max) and a partial
    /// sum; after a second barrier every thread adds the partial sums, which it returns. Call from group-uniform
    /// control flow.
    /// </summary>
    /// <param name="queryBase">Index of the query row's element 0 for this head.</param>
    /// <param name="keyColumn">g·Dh: this head's kv group within a key/value row.</param>
    /// <param name="kvStride">Elements between consecutive tokens of k and of v.</param>
    internal static float SoftmaxRow<TOperands>(TOperands operands, ArrayView<int> isReal, ArrayView<float> scores,
        ArrayView<float> partialMax, ArrayView<float> partialSum, long queryBase, int firstKey, int keyColumn, int kvStride,
        int tokens, int headDim, float scale) where TOperands : struct, IOperands
    {
        int tid = Group.IdxX, groupSize = Group.DimX;
        float localMax = float.NegativeInfinity;
        for (int s = tid; s < tokens; s += groupSize)
        {
            float score = float.NegativeInfinity;
            if (isReal[firstKey + s] != 0)
            {
                long keyBase = (long)(firstKey + s) * kvStride + keyColumn;
                float dot = 0f;
                for (int i = 0; i < headDim; i++) dot += operands.Query(queryBase + i) * operands.Key(keyBase + i);
                score = dot * scale;
            }
            scores[s] = score;
            if (score > localMax) localMax = score;
        }
        partialMax[tid] = localMax;
        Group.Barrier();

        float max = float.NegativeInfinity;
        for (int j = 0; j < groupSize; j++)
            if (partialMax[j] > max) max = partialMax[j];
        float localSum = 0f;
        for (int s = tid; s < tokens; s += groupSize)
        {
            float e = isReal[firstKey + s] != 0 ? MathF.Exp(scores[s] - max) : 0f;
            scores[s] = e;
            localSum += e;
        }
        partialSum[tid] = localSum;
        Group.Barrier();

        float sum = 0f;
        for (int j = 0; j < groupSize; j++) sum += partialSum[j];
        return sum;
    }

    /// <summary>Σ_s scores[s]·v[s, column] in key order (the unnormalised output element at <paramref name="column"/>).</summary>
    internal static float WeightedValue<TOperands>(TOperands operands, ArrayView<float> scores, int firstKey, int column, int kvStride, int tokens)
        where TOperands : struct, IOperands
    {
        float acc = 0f;
        for (int s = 0; s < tokens; s++) acc += scores[s] * operands.Value((long)(firstKey + s) * kvStride + column);
        return acc;
    }
}
