using System.Numerics.Tensors;

namespace Dream.Kernels.Cpu;

/// <summary>The residual connection: h = h + delta (TensorPrimitives.Add).</summary>
public static class ResidualAdd
{
    /// <param name="h">[T, D], updated in place.</param>
    /// <param name="delta">[T, D].</param>
    public static void Forward(Span<float> h, ReadOnlySpan<float> delta, int count) =>
        TensorPrimitives.Add(h[..count], delta[..count], h[..count]);
}
