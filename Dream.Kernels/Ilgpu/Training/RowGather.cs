using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// The loss rows out of the residual stream and back: forward sel[r] = h[rows[r]] (the inference gather kernel),
/// backward dh[rows[r]] += dSel[r]. The loss rows of a batch are distinct, so each thread of the backward owns
/// one element of dh. One thread per element of [R, D].
/// </summary>
public static class RowGather
{
    /// <param name="h">[N, D].</param>
    /// <param name="rows">[R] distinct rows.</param>
    /// <param name="output">[R, D].</param>
    public static void Forward(TrainingKernels kernels, ArrayView<float> h, ArrayView<int> rows, ArrayView<float> output, int count, int dim)
    {
        if (count * dim > 0) kernels.RowGatherForward(count * dim, h, rows, output, dim);
    }

    /// <param name="dOutput">[R, D].</param>
    /// <param name="dh">[N, D], accumulated (+=) at the gathered rows.</param>
    public static void Backward(TrainingKernels kernels, ArrayView<float> dOutput, ArrayView<int> rows, ArrayView<float> dh, int count, int dim)
    {
        if (count * dim > 0) kernels.RowGatherBackward(count * dim, dOutput, rows, dh, dim);
    }

    internal static void BackwardKernel(Index1D i, ArrayView<float> dOutput, ArrayView<int> rows, ArrayView<float> dh, int dim)
    {
        int r = i / dim, d = i - r * dim;
        dh[(long)rows[r] * dim + d] += dOutput[i];
    }
}
