using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// RMSNorm for training (twin of Dream.Reference.RmsNorm's Forward and Backward), over rows of D:
///   forward   r = 1/sqrt(mean(x²) + eps), y = x·r·w                       (r kept per row for the backward)
///   backward  g = dy·w;  dx += r·g − x·r³·(g·x)/D;  dw += Σ_rows dy·x·r
/// One group of G threads per row: strided partial sums in static shared memory, one barrier, and every thread
/// adds the G partials in thread order (so all agree). dw is a column sum over rows (<see cref="ColumnSum"/>).
/// </summary>
public static class RmsNorm
{
    /// <param name="x">[N, D].</param>
    /// <param name="weight">[D].</param>
    /// <param name="y">[N, D].</param>
    /// <param name="inverseRms">[N], written.</param>
    public static void Forward(TrainingKernels kernels, ArrayView<float> x, ArrayView<float> weight, float eps, ArrayView<float> y,
        ArrayView<float> inverseRms, int rows, int dim)
    {
        if (rows > 0) kernels.RmsNormForward(new KernelConfig(rows, kernels.RowGroupSize(dim)), x, weight, eps, y, inverseRms, dim);
    }

    /// <param name="x">[N, D] the forward's input.</param>
    /// <param name="dy">[N, D].</param>
    /// <param name="dx">[N, D], accumulated (+=).</param>
    /// <param name="dWeight">[D], accumulated (+=).</param>
    public static void Backward(TrainingKernels kernels, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> inverseRms,
        ArrayView<float> dy, ArrayView<float> dx, ArrayView<float> dWeight, int rows, int dim)
    {
        if (rows == 0) return;
        kernels.RmsNormBackward(new KernelConfig(rows, kernels.RowGroupSize(dim)), x, weight, inverseRms, dy, dx, dim);
        ColumnSum.Run(kernels, dy, x, inverseRms, dWeight, rows, dim);
    }

    internal static void ForwardKernel(ArrayView<float> x, ArrayView<float> weight, float eps, ArrayView<float> y, ArrayView<float> inverseRms, int dim)
    {
        var partial = SharedMemory.Allocate<float>(TrainingKernels.MaxGroupSize);
        int tid = Group.IdxX, groupSize = Group.DimX;
        long row = (long)Grid.IdxX * dim;
        float sumOfSquares = 0f;
        for (int i = tid; i < dim; i += groupSize) sumOfSquares += x[row + i] * x[row + i];
        float r = 1f / MathF.Sqrt(GroupReduce.Sum(partial, sumOfSquares) / dim + eps);
        if (tid == 0) inverseRms[Grid.IdxX] = r;
        for (int i = tid; i < dim; i += groupSize) y[row + i] = x[row + i] * r * weight[i];
    }

    internal static void BackwardKernel(ArrayView<float> x, ArrayView<float> weight, ArrayView<float> inverseRms, ArrayView<float> dy,
        ArrayView<float> dx, int dim)
    {
        var partial = SharedMemory.Allocate<float>(TrainingKernels.MaxGroupSize);
        int tid = Group.IdxX, groupSize = Group.DimX;
        long row = (long)Grid.IdxX * dim;
        float dot = 0f;
        for (int i = tid; i < dim; i += groupSize) dot += dy[row + i] * weight[i] * x[row + i];
        float total = GroupReduce.Sum(partial, dot);
        float r = inverseRms[Grid.IdxX];
        float c = r * r * r * total / dim;
        for (int i = tid; i < dim; i += groupSize) dx[row + i] += r * dy[row + i] * weight[i] - x[row + i] * c;
    }
}
