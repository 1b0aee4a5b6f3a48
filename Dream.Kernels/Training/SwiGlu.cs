using System.Numerics.Tensors;

namespace Dream.Kernels.Training;

/// <summary>
/// The trainer's SwiGLU, out = silu(gate)·up with silu(g) = g·σ(g), and its backward
///   dUp = dOut·silu(gate),  dGate = dOut·up·(σ + silu·(1 − σ))   (σ' = σ(1 − σ))
/// Vectorised with TensorPrimitives over chunks, the chunks in parallel. Oracle: Dream.Reference.SwiGlu.
/// </summary>
public static class SwiGlu
{
    private const int Chunk = 2048;

    public static void Forward(float[] gate, float[] up, float[] output, int count)
    {
        Parallel.For(0, (count + Chunk - 1) / Chunk, c =>
        {
            int start = c * Chunk, length = Math.Min(Chunk, count - start);
            var g = gate.AsSpan(start, length);
            var o = output.AsSpan(start, length);
            TensorPrimitives.Sigmoid(g, o);
            TensorPrimitives.Multiply(o, g, o);
            TensorPrimitives.Multiply(o, up.AsSpan(start, length), o);
        });
    }

    /// <param name="dGate">[N, F], overwritten (not accumulated: nothing else feeds it).</param>
    /// <param name="dUp">[N, F], overwritten.</param>
    public static void Backward(float[] gate, float[] up, float[] dOutput, float[] dGate, float[] dUp, int count)
    {
        Parallel.For(0, (count + Chunk - 1) / Chunk, c =>
        {
            int start = c * Chunk, length = Math.Min(Chunk, count - start);
            Span<float> sigmoid = stackalloc float[length];
            var g = gate.AsSpan(start, length);
            var dOut = dOutput.AsSpan(start, length);
            var du = dUp.AsSpan(start, length);
            var dg = dGate.AsSpan(start, length);
            TensorPrimitives.Sigmoid(g, sigmoid);
            TensorPrimitives.Multiply(g, sigmoid, du);                        // silu
            TensorPrimitives.Subtract(1f, sigmoid, dg);                       // 1 − σ
            TensorPrimitives.Multiply(dg, du, dg);                            // silu·(1 − σ)
            TensorPrimitives.Add(dg, sigmoid, dg);                            // silu'(g)
            TensorPrimitives.Multiply(dg, up.AsSpan(start, length), dg);
            TensorPrimitives.Multiply(dg, dOut, dg);
            TensorPrimitives.Multiply(du, dOut, du);
        });
    }
}
