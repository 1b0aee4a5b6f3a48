using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// RMSNorm over the last axis: y = (x · 1/sqrt(mean(x²) + eps)) · weight (twin of Dream.Reference.RmsNorm).
/// One group per row: each thread sums the squares of a strided slice into shared memory; after one barrier
/// every thread adds all the partial sums (in the same order, so all agree) and scales its slice.
/// <see cref="ForwardToBf16"/> is the same normalisation writing bf16 (rounded once, to nearest even): the input of
/// a tensor-core linear layer (<see cref="TensorCoreLinear"/>).
/// </summary>
public static class RmsNorm
{
    /// <param name="x">[T, D].</param>
    /// <param name="weight">[D].</param>
    /// <param name="y">[T, D] (may be <paramref name="x"/>).</param>
    public static void Forward(IlgpuKernels kernels, ArrayView<float> x, ArrayView<float> weight, float eps, ArrayView<float> y, int tokens, int dim)
    {
        if (tokens == 0) return;
        int group = kernels.ReductionGroupSize;
        kernels.RmsNorm(new KernelConfig(tokens, group), x, weight, eps, y, dim);
    }

    /// <param name="x">[T, D] f32.</param>
    /// <param name="weight">[D].</param>
    /// <param name="y">[T, D] bf16 bits.</param>
    public static void ForwardToBf16(IlgpuKernels kernels, ArrayView<float> x, ArrayView<float> weight, float eps, ArrayView<ushort> y, int tokens, int dim)
    {
        if (tokens == 0) return;
        kernels.RmsNormToBf16(new KernelConfig(tokens, kernels.ReductionGroupSize), x, weight, eps, y, dim);
    }

    internal static void Kernel(ArrayView<float> x, ArrayView<float> weight, float eps, ArrayView<float> y, int dim)
    {
        float inverseRms = InverseRms(x, eps, dim);
        long row = (long)Grid.IdxX * dim;
        for (int i = Group.IdxX; i < dim; i += Group.DimX) y[row + i] = x[row + i] * inverseRms * weight[i];
    }

    internal static void KernelToBf16(ArrayView<float> x, ArrayView<float> weight, float eps, ArrayView<ushort> y, int dim)
    {
        float inverseRms = InverseRms(x, eps, dim);
        long row = (long)Grid.IdxX * dim;
        for (int i = Group.IdxX; i < dim; i += Group.DimX) y[row + i] = Bf16.FromFloat(x[row + i] * inverseRms * weight[i]);
    }

    /// <summary>1/sqrt(mean(x²) + eps) of the group's row, the same value in every thread.</summary>
    private static float InverseRms(ArrayView<float> x, float eps, int dim)
    {
        int tid = Group.IdxX;
        int groupSize = Group.DimX;
        long row = (long)Grid.IdxX * dim;
        var partial = SharedMemory.Allocate<float>(IlgpuKernels.MaxGroupSize);  // [group]

        float sumOfSquares = 0f;
        for (int i = tid; i < dim; i += groupSize) sumOfSquares += x[row + i] * x[row + i];
        partial[tid] = sumOfSquares;
        Group.Barrier();
        float total = 0f;
        for (int j = 0; j < groupSize; j++) total += partial[j];

        return 1f / MathF.Sqrt(total / dim + eps);
    }
}
