using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// The weighted cross-entropy of the loss rows (twin of Dream.Reference.CrossEntropy):
///   loss = Σ_r w_r·(logsumexp(z_r) − z_r[target_r]),   dz_r = w_r·(softmax(z_r) − onehot(target_r))
/// One group per row: strided partial max, then partial Σ exp, each closed by a barrier and read by every
/// thread in thread order; thread 0 writes the row's term. A single group then adds the R terms (strided
/// partials, then thread 0 in order), so the loss is one float to read back.
/// </summary>
public static class CrossEntropy
{
    /// <param name="logits">[R, V].</param>
    /// <param name="targets">[R].</param>
    /// <param name="weights">[R].</param>
    /// <param name="dLogits">[R, V], written (dLoss = 1).</param>
    /// <param name="terms">[R] scratch.</param>
    /// <param name="loss">[1], written.</param>
    public static void Run(TrainingKernels kernels, ArrayView<float> logits, ArrayView<int> targets, ArrayView<float> weights,
        ArrayView<float> dLogits, ArrayView<float> terms, ArrayView<float> loss, int rows, int vocab)
    {
        if (rows > 0) kernels.CrossEntropyRows(new KernelConfig(rows, kernels.RowGroupSize(vocab)), logits, targets, weights, dLogits, terms, vocab);
        kernels.Total(new KernelConfig(1, kernels.ReductionGroupSize), terms, rows, loss);
    }

    internal static void Kernel(ArrayView<float> logits, ArrayView<int> targets, ArrayView<float> weights, ArrayView<float> dLogits,
        ArrayView<float> terms, int vocab)
    {
        var partial = SharedMemory.Allocate<float>(TrainingKernels.MaxGroupSize);
        int tid = Group.IdxX, groupSize = Group.DimX, r = Grid.IdxX;
        long at = (long)r * vocab;
        float max = float.NegativeInfinity;
        for (int j = tid; j < vocab; j += groupSize) max = MathF.Max(max, logits[at + j]);
        float rowMax = GroupReduce.Max(partial, max);
        float sum = 0f;
        for (int j = tid; j < vocab; j += groupSize) sum += MathF.Exp(logits[at + j] - rowMax);
        float total = GroupReduce.Sum(partial, sum);
        float w = weights[r];
        int target = targets[r];
        for (int j = tid; j < vocab; j += groupSize)
            dLogits[at + j] = w * MathF.Exp(logits[at + j] - rowMax) / total - (j == target ? w : 0f);
        if (tid == 0) terms[r] = w * (rowMax + MathF.Log(total) - logits[at + target]);
    }

    /// <summary>One group: output[0] = Σ_r terms[r] (thread-strided partials, added in thread order).</summary>
    internal static void TotalKernel(ArrayView<float> terms, int count, ArrayView<float> output)
    {
        var partial = SharedMemory.Allocate<float>(TrainingKernels.MaxGroupSize);
        int tid = Group.IdxX, groupSize = Group.DimX;
        float sum = 0f;
        for (int r = tid; r < count; r += groupSize) sum += terms[r];
        float total = GroupReduce.Sum(partial, sum);
        if (tid == 0) output[0] = total;
    }
}
