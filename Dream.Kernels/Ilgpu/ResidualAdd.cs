using ILGPU;

namespace Dream.Kernels.Ilgpu;

/// <summary>The residual connection h = h + delta (twin of Dream.Reference.ResidualAdd); one thread per element.</summary>
public static class ResidualAdd
{
    /// <param name="h">[T, D], updated in place.</param>
    /// <param name="delta">[T, D].</param>
    public static void Forward(IlgpuKernels kernels, ArrayView<float> h, ArrayView<float> delta, int count)
    {
        if (count > 0) kernels.ResidualAdd(count, h, delta);
    }

    internal static void Kernel(Index1D i, ArrayView<float> h, ArrayView<float> delta) => h[i] += delta[i];
}
