using System.Numerics;

namespace Dream.Reference;

/// <summary>SwiGLU gating: out = silu(gate) · up, silu(x) = x / (1 + e^(−x)).</summary>
public static class SwiGlu
{
    /// <param name="gate">[T, F].</param>
    /// <param name="up">[T, F].</param>
    /// <param name="output">[T, F].</param>
    public static void Forward<T>(T[] gate, T[] up, T[] output, int count)
        where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < count; i++)
            output[i] = gate[i] / (T.One + T.Exp(-gate[i])) * up[i];
    }
}
