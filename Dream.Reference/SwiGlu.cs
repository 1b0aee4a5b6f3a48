using System.Numerics;

namespace Dream.Reference;

/// <summary>
/// SwiGLU gating: out = silu(gate) · up, silu(x) = x / (1 + e^(−x)) = x·σ(x).
/// Backward: dUp += dOut · silu(gate);  dGate += dOut · up · σ(gate)·(1 + gate·(1 − σ(gate))).
/// </summary>
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

    /// <param name="gate">[T, F] the forward input.</param>
    /// <param name="up">[T, F] the forward input.</param>
    /// <param name="dOutput">[T, F].</param>
    /// <param name="dGate">[T, F] accumulated into (+=).</param>
    /// <param name="dUp">[T, F] accumulated into (+=).</param>
    public static void Backward<T>(T[] gate, T[] up, T[] dOutput, T[] dGate, T[] dUp, int count)
        where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < count; i++)
        {
            T sigmoid = T.One / (T.One + T.Exp(-gate[i]));
            T silu = gate[i] * sigmoid;
            dUp[i] += dOutput[i] * silu;
            dGate[i] += dOutput[i] * up[i] * sigmoid * (T.One + gate[i] * (T.One - sigmoid));
        }
    }
}
