using ILGPU;

namespace Dream.Kernels.Ilgpu;

/// <summary>SwiGLU gating: out = silu(gate) · up, silu(x) = x / (1 + e^(−x)) (twin of Dream.Reference.SwiGlu); one thread per element.</summary>
public static class SwiGlu
{
    /// <param name="gate">[T, F].</param>
    /// <param name="up">[T, F].</param>
    /// <param name="output">[T, F] (may be <paramref name="gate"/>).</param>
    public static void Forward(IlgpuKernels kernels, ArrayView<float> gate, ArrayView<float> up, ArrayView<float> output, int count)
    {
        if (count > 0) kernels.SwiGlu(count, gate, up, output);
    }

    internal static void Kernel(Index1D i, ArrayView<float> gate, ArrayView<float> up, ArrayView<float> output)
    {
        float g = gate[i];
        output[i] = g / (1f + MathF.Exp(-g)) * up[i];
    }
}
