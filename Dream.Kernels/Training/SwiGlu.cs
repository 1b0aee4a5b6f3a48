namespace Dream.Kernels.Training;

/// <summary>
/// The trainer's SwiGLU, out = silu(gate)·up, and its backward
///   dUp = dOut·silu(gate),  dGate = dOut·up·σ(gate)·(1 + gate·(1 − σ(gate))).
/// Elementwise: plain loops in parallel chunks. Oracle: Dream.Reference.SwiGlu.
/// </summary>
public static class SwiGlu
{
    private const int Chunk = 4096;

    public static void Forward(float[] gate, float[] up, float[] output, int count)
    {
        Parallel.For(0, (count + Chunk - 1) / Chunk, c =>
        {
            for (int i = c * Chunk, end = Math.Min(count, i + Chunk); i < end; i++)
                output[i] = gate[i] / (1f + MathF.Exp(-gate[i])) * up[i];
        });
    }

    /// <param name="dGate">[N, F], overwritten (not accumulated: nothing else feeds it).</param>
    /// <param name="dUp">[N, F], overwritten.</param>
    public static void Backward(float[] gate, float[] up, float[] dOutput, float[] dGate, float[] dUp, int count)
    {
        Parallel.For(0, (count + Chunk - 1) / Chunk, c =>
        {
            for (int i = c * Chunk, end = Math.Min(count, i + Chunk); i < end; i++)
            {
                float sigmoid = 1f / (1f + MathF.Exp(-gate[i]));
                dUp[i] = dOutput[i] * gate[i] * sigmoid;
                dGate[i] = dOutput[i] * up[i] * sigmoid * (1f + gate[i] * (1f - sigmoid));
            }
        });
    }
}
