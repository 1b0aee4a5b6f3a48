using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The deterministic (temperature 0, no top-p / top-k) path of the official `sample_tokens` on the device, one
/// logits row [V] at a time, so that only a few numbers per row cross to the host instead of V logits:
///   p = softmax(l) with the max subtracted;  token = argmax p (first index on ties);  maxProb = p[token];
///   margin = p₁ − p₂ (the two largest; p₁ when V = 1);  entropy = Σ p·log(p + 1e-10) (higher = surer).
/// Twin of the host sampler in Dream.Core.Generation (TokenSampler with the MaskGitPlus, TopKMargin and Entropy
/// confidences); float32 sums here, so values agree to rounding, not bit for bit.
/// One group per row: threads stride over the vocabulary; three passes (max, Σ exp, then p with the row's best,
/// second best and entropy terms), each ending in per-thread partials in shared memory and one barrier, after
/// which every thread (or thread 0, for the final combine) reads all partials in thread order.
/// </summary>
public static class GpuSampling
{
    /// <param name="logits">[R, V] row-major.</param>
    /// <param name="tokens">[R] argmax p, first index on ties.</param>
    /// <param name="maxProb">[R] p[token].</param>
    /// <param name="margin">[R] p₁ − p₂.</param>
    /// <param name="entropy">[R] Σ p·log(p + 1e-10).</param>
    public static void Greedy(IlgpuKernels kernels, ArrayView<float> logits, int rows, int vocab,
        ArrayView<int> tokens, ArrayView<float> maxProb, ArrayView<float> margin, ArrayView<float> entropy)
    {
        if (rows == 0) return;
        ArgumentOutOfRangeException.ThrowIfLessThan(vocab, 1);
        int group = kernels.ReductionGroupSize;
        kernels.GpuSamplingGreedy(new KernelConfig(rows, group), logits, vocab, tokens, maxProb, margin, entropy);
    }

    internal static void Kernel(ArrayView<float> logits, int vocab,
        ArrayView<int> tokens, ArrayView<float> maxProb, ArrayView<float> margin, ArrayView<float> entropy)
    {
        int tid = Group.IdxX;
        int groupSize = Group.DimX;
        int row = Grid.IdxX;
        long rowBase = (long)row * vocab;
        var first = SharedMemory.Allocate<float>(IlgpuKernels.MaxGroupSize);      // [group] best p, then the max logit
        var firstIndex = SharedMemory.Allocate<float>(IlgpuKernels.MaxGroupSize); // [group] its index (exact in float below 2^24)
        var second = SharedMemory.Allocate<float>(IlgpuKernels.MaxGroupSize);    // [group] second-best p, then Σ exp
        var terms = SharedMemory.Allocate<float>(IlgpuKernels.MaxGroupSize);     // [group] Σ p·log(p + 1e-10)

        float localMax = float.NegativeInfinity;
        for (int j = tid; j < vocab; j += groupSize)
            if (logits[rowBase + j] > localMax) localMax = logits[rowBase + j];
        first[tid] = localMax;
        Group.Barrier();
        float max = float.NegativeInfinity;
        for (int i = 0; i < groupSize; i++)
            if (first[i] > max) max = first[i];

        float localSum = 0f;
        for (int j = tid; j < vocab; j += groupSize) localSum += MathF.Exp(logits[rowBase + j] - max);
        second[tid] = localSum;
        Group.Barrier();
        float sum = 0f;
        for (int i = 0; i < groupSize; i++) sum += second[i];
        float inverse = 1f / sum;
        Group.Barrier();   // everyone has read the sums before `second` is reused

        float best = -1f, runnerUp = -1f, bestIndex = 0f, localTerms = 0f;
        for (int j = tid; j < vocab; j += groupSize)
        {
            float p = MathF.Exp(logits[rowBase + j] - max) * inverse;
            localTerms += p * MathF.Log(p + 1e-10f);
            if (p > best)
            {
                runnerUp = best;
                best = p;
                bestIndex = j;
            }
            else if (p > runnerUp)
            {
                runnerUp = p;
            }
        }
        first[tid] = best;
        firstIndex[tid] = bestIndex;
        second[tid] = runnerUp;
        terms[tid] = localTerms;
        Group.Barrier();

        if (tid != 0) return;
        float p1 = -1f, p2 = -1f, index = 0f, total = 0f;
        for (int i = 0; i < groupSize; i++)
        {
            total += terms[i];
            float f = first[i], s = second[i];
            // Ties in p go to the lower vocabulary index; threads own interleaved indices, so compare them.
            if (f > p1 || (f == p1 && firstIndex[i] < index))
            {
                p2 = p1 > s ? p1 : s;
                p1 = f;
                index = firstIndex[i];
            }
            else
            {
                float candidate = f > s ? f : s;
                if (candidate > p2) p2 = candidate;
            }
        }
        tokens[row] = (int)index;
        maxProb[row] = p1;
        margin[row] = vocab < 2 ? p1 : p1 - p2;
        entropy[row] = total;
    }
}
