using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// A Linear layer's three products for training (twin of Dream.Reference.Linear's Forward and Backward), all
/// through <see cref="MatMul"/>, W [Out, In] row-major as in the checkpoint:
///   forward          y = x·Wᵀ + b              M = N rows,  N = Out, K = In
///   input gradient   dx += dy·W                M = N rows,  N = In,  K = Out
///   weight gradient  dW += dyᵀ·x,  db += Σ dy  M = Out,     N = In,  K = N rows
/// The weight gradient has few output blocks and a long K (every row of the batch), so it is split along K
/// into slices that each write a partial [Out, In] (enough groups to fill the device), summed afterwards in
/// slice order (<see cref="MatMul.SumSlicesKernel"/>).
/// </summary>
public static class Linear
{
    /// <summary>Smallest K slice worth a split (rows of the batch per slice).</summary>
    public const int MinSliceRows = 256;

    /// <param name="x">[N, In].</param>
    /// <param name="weight">[Out, In].</param>
    /// <param name="bias">[Out], or an empty view.</param>
    /// <param name="y">[N, Out], written, or with <paramref name="accumulate"/> added to (a residual stream).</param>
    public static void Forward(TrainingKernels kernels, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> y,
        int rows, int inFeatures, int outFeatures, bool accumulate = false)
    {
        var shape = new MatMulShape
        {
            M = rows, N = outFeatures, K = inFeatures, Heads = 1, HasBias = bias.Length > 0 ? 1 : 0, Accumulate = accumulate ? 1 : 0,
            A = MatrixView.RowMajor(inFeatures), B = MatrixView.Transposed(inFeatures), C = MatrixView.RowMajor(outFeatures),
        };
        MatMul.Run(kernels, x, weight, y, bias.Length > 0 ? bias : kernels.Dummy, shape);
    }

    /// <param name="dy">[N, Out].</param>
    /// <param name="dx">[N, In], accumulated (+=) or, with <paramref name="accumulate"/> false, overwritten.</param>
    public static void BackwardInput(TrainingKernels kernels, ArrayView<float> dy, ArrayView<float> weight, ArrayView<float> dx,
        int rows, int inFeatures, int outFeatures, bool accumulate = true)
    {
        var shape = new MatMulShape
        {
            M = rows, N = inFeatures, K = outFeatures, Heads = 1, Accumulate = accumulate ? 1 : 0,
            A = MatrixView.RowMajor(outFeatures), B = MatrixView.RowMajor(inFeatures), C = MatrixView.RowMajor(inFeatures),
        };
        MatMul.Run(kernels, dy, weight, dx, kernels.Dummy, shape);
    }

    /// <param name="x">[N, In] the forward's input.</param>
    /// <param name="dy">[N, Out].</param>
    /// <param name="dWeight">[Out, In], accumulated (+=).</param>
    /// <param name="dBias">[Out] accumulated (+=), or an empty view.</param>
    /// <param name="slices">K slices; null picks enough to fill the device.</param>
    public static void BackwardWeight(TrainingKernels kernels, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dWeight, ArrayView<float> dBias,
        int rows, int inFeatures, int outFeatures, int? slices = null)
    {
        if (rows == 0) return;
        int count = slices ?? Slices(kernels, rows, inFeatures, outFeatures);
        int sliceRows = (rows + count - 1) / count;
        count = (rows + sliceRows - 1) / sliceRows;
        var shape = new MatMulShape
        {
            M = outFeatures, N = inFeatures, K = count == 1 ? rows : sliceRows, Heads = 1, Accumulate = count == 1 ? 1 : 0,
            KTotal = count == 1 ? 0 : rows,
            A = new MatrixView(0, 1, outFeatures, (long)sliceRows * outFeatures),     // dyᵀ, slice z starts at row z·slice
            B = new MatrixView(0, inFeatures, 1, (long)sliceRows * inFeatures),
            C = new MatrixView(0, inFeatures, 1, (long)outFeatures * inFeatures),
        };
        if (count == 1)
        {
            MatMul.Run(kernels, dy, x, dWeight, kernels.Dummy, shape);
        }
        else
        {
            int size = outFeatures * inFeatures;
            var partial = kernels.Scratch((long)count * size);
            MatMul.Run(kernels, dy, x, partial, kernels.Dummy, shape, count);
            kernels.SumSlices(size, partial, size, count, dWeight);
        }
        if (dBias.Length > 0) ColumnSum.Run(kernels, dy, default, default, dBias, rows, outFeatures);
    }

    /// <summary>K slices for a weight gradient: about <see cref="TrainingKernels.TargetGroups"/> groups in all, slices of at least <see cref="MinSliceRows"/> rows.</summary>
    public static int Slices(TrainingKernels kernels, int rows, int inFeatures, int outFeatures)
    {
        int block = 4 * kernels.MatMulTile;
        long blocks = (long)((outFeatures + block - 1) / block) * ((inFeatures + block - 1) / block);
        long wanted = (kernels.TargetGroups + blocks - 1) / blocks;
        return (int)Math.Clamp(wanted, 1, Math.Max(1, rows / MinSliceRows));
    }
}
