using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// SwiGLU for training (twin of Dream.Reference.SwiGlu): forward o = silu(g)·u (the inference kernel), backward
///   du += do·silu(g),   dg += do·u·σ(g)·(1 + g·(1 − σ(g)))
/// One thread per element.
/// </summary>
public static class SwiGlu
{
    /// <param name="gate">[N, F].</param>
    /// <param name="up">[N, F].</param>
    /// <param name="output">[N, F].</param>
    public static void Forward(TrainingKernels kernels, ArrayView<float> gate, ArrayView<float> up, ArrayView<float> output, int count)
    {
        if (count > 0) kernels.SwiGluForward(count, gate, up, output);
    }

    /// <param name="dGate">[N, F], accumulated (+=).</param>
    /// <param name="dUp">[N, F], accumulated (+=).</param>
    public static void Backward(TrainingKernels kernels, ArrayView<float> gate, ArrayView<float> up, ArrayView<float> dOutput,
        ArrayView<float> dGate, ArrayView<float> dUp, int count)
    {
        if (count > 0) kernels.SwiGluBackward(count, gate, up, dOutput, dGate, dUp);
    }

    internal static void BackwardKernel(Index1D i, ArrayView<float> gate, ArrayView<float> up, ArrayView<float> dOutput, ArrayView<float> dGate, ArrayView<float> dUp)
    {
        float g = gate[i], sigma = 1f / (1f + MathF.Exp(-g)), d = dOutput[i];
        dUp[i] += d * g * sigma;
        dGate[i] += d * up[i] * sigma * (1f + g * (1f - sigma));
    }
}
