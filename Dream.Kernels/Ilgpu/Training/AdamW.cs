using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>The per-step scalars of an AdamW update (see Dream.Core.Training.AdamW, whose arithmetic this repeats in float32).</summary>
public struct AdamWStep
{
    public float Decay, StepSize, RootCorrection2, Beta1, Beta2, Epsilon, GradientScale;
}

/// <summary>
/// AdamW on the device (twin of Dream.Core.Training.AdamW.Step with GradientClipping's scale folded in), one
/// thread per element:
///   g = grad·scale;  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ·decay − stepSize·m/(√v/√(1−β₂ᵏ) + ε)
/// Parameters, gradients and moments never leave the device during training: at the 9×9 planner's 4.7 M
/// parameters, a host update would copy 19 MB of gradients down and 19 MB of parameters up per step and run a
/// 4.7 M-element loop on one core, where this kernel reads and writes about 130 MB of device memory.
/// </summary>
public static class AdamW
{
    public static void Step(TrainingKernels kernels, ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> firstMoment,
        ArrayView<float> secondMoment, in AdamWStep step)
    {
        if (parameters.Length > 0) kernels.AdamW((int)parameters.Length, parameters, gradients, firstMoment, secondMoment, step);
    }

    internal static void Kernel(Index1D i, ArrayView<float> theta, ArrayView<float> gradient, ArrayView<float> m, ArrayView<float> v, AdamWStep s)
    {
        float g = gradient[i] * s.GradientScale;
        float mi = s.Beta1 * m[i] + (1 - s.Beta1) * g;
        float vi = s.Beta2 * v[i] + (1 - s.Beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        theta[i] = theta[i] * s.Decay - s.StepSize * mi / (MathF.Sqrt(vi) / s.RootCorrection2 + s.Epsilon);
    }
}
