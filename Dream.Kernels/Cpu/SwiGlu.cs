using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dream.Kernels.Cpu;

/// <summary>
/// SwiGLU gating: out = silu(gate) · up, silu(x) = x / (1 + e^(−x)), written with Vector256 so that the three
/// operations are one pass (TensorPrimitives would need three) with the same formula as the reference.
/// Vector256, not Vector512: .NET 10's Vector512.Exp measured 2.6× slower than Vector256.Exp on an AVX-512 Zen 4.
/// </summary>
public static unsafe class SwiGlu
{
    /// <param name="gate">[T, F].</param>
    /// <param name="up">[T, F].</param>
    /// <param name="output">[T, F] (may alias gate or up).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> output, int count)
    {
        if (gate.Length < count || up.Length < count || output.Length < count)
            throw new ArgumentException($"gate, up and output need {count} elements");
        fixed (float* g = gate)
        fixed (float* u = up)
        fixed (float* o = output)
        {
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; i <= count - 8; i += 8)
                {
                    var x = Vector256.Load(g + i);
                    (x / (Vector256<float>.One + Vector256.Exp(-x)) * Vector256.Load(u + i)).Store(o + i);
                }
            }
            for (; i < count; i++) o[i] = g[i] / (1f + MathF.Exp(-g[i])) * u[i];
        }
    }
}
