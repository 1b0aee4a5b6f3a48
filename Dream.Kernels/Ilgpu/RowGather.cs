using ILGPU;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Picks the rows the sampler needs out of the residual stream, so that the final norm and lm_head run over
/// those rows only: output[r, :] = h[rows[r], :]. One thread per output element.
/// (Reference twin: the row selection inside Dream.Reference.ReferenceModel.Forward.)
/// </summary>
public static class RowGather
{
    /// <param name="h">[B·T, D].</param>
    /// <param name="rows">[R] flat rows b·T + t.</param>
    /// <param name="output">[R, D].</param>
    public static void Forward(IlgpuKernels kernels, ArrayView<float> h, ArrayView<int> rows, ArrayView<float> output, int count, int dim)
    {
        if (count > 0) kernels.RowGather(count * dim, h, rows, output, dim);
    }

    internal static void Kernel(Index1D i, ArrayView<float> h, ArrayView<int> rows, ArrayView<float> output, int dim)
    {
        int r = i / dim;
        int d = i - r * dim;
        output[i] = h[(long)rows[r] * dim + d];
    }
}
