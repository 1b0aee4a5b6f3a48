using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// The global gradient norm on the device (twin of Dream.Core.Training.GradientClipping): each of P groups adds
/// the squares of one contiguous slice (threads strided, partials in shared memory, thread 0 adds them in order);
/// the host reads the P partials and adds them in double. The clipping scale itself is folded into
/// <see cref="AdamW"/>, so the only host round trip is these P floats.
/// </summary>
public static class GradientClipping
{
    /// <param name="gradients">All gradients, one flat buffer.</param>
    /// <param name="partials">[P] scratch, P = <see cref="TrainingKernels.NormGroups"/>.</param>
    /// <param name="host">[P] host staging.</param>
    public static double Norm(TrainingKernels kernels, ArrayView<float> gradients, ArrayView<float> partials, float[] host)
    {
        int groups = kernels.NormGroups;
        long count = gradients.Length;
        int slice = (int)((count + groups - 1) / groups);
        kernels.SumOfSquares(new KernelConfig(groups, kernels.ReductionGroupSize), gradients, (int)count, slice, partials);
        partials.SubView(0, groups).CopyToCPU(kernels.Accelerator.DefaultStream, host.AsSpan(0, groups));
        double sum = 0;
        for (int p = 0; p < groups; p++) sum += host[p];
        return Math.Sqrt(sum);
    }

    internal static void SumOfSquaresKernel(ArrayView<float> gradients, int count, int slice, ArrayView<float> partials)
    {
        var partial = SharedMemory.Allocate<float>(TrainingKernels.MaxGroupSize);
        int tid = Group.IdxX, groupSize = Group.DimX;
        long start = (long)Grid.IdxX * slice, end = start + slice < count ? start + slice : count;
        float sum = 0f;
        for (long i = start + tid; i < end; i += groupSize) sum += gradients[i] * gradients[i];
        float total = GroupReduce.Sum(partial, sum);
        if (tid == 0) partials[Grid.IdxX] = total;
    }
}
