using Dream.Core.Checkpoint;
using Dream.Core.Numerics;

namespace Dream.Core.Model;

/// <summary>
/// RoPE's frequency and angle tables, shared by every backend so they cannot drift apart:
///   inv_freq[j] = 1 / theta^(2j/Dh)       (float32, as torch computes it: pow and divide in float32)
///   angle[t, j] = pos[t] · inv_freq[j]     (one float32 product)
///   cos, sin    = float32 cos/sin of angle [T, Dh/2] (the second half of Hugging Face's table repeats the first)
/// GPU sin/cos are approximations, far off for long contexts' large angles, so tables are always built on the host.
/// </summary>
public static class RotaryTables
{
    /// <summary>
    /// inv_freq [Dh/2]. When <see cref="DreamConfig.RopeInvFreqDType"/> is BF16 or F16 the values are rounded to it,
    /// as Hugging Face's loader does when it casts a half-precision checkpoint's buffers (see <see cref="RopeFrequencies"/>).
    /// </summary>
    public static float[] InverseFrequencies(DreamConfig config) =>
        InverseFrequencies(config.HeadDim, config.RopeTheta, config.RopeInvFreqDType);

    /// <summary>inv_freq [Dh/2] for a head size and theta, rounded to <paramref name="rounding"/> (F32: not rounded).</summary>
    public static float[] InverseFrequencies(int headDim, double theta, TensorDType rounding = TensorDType.F32)
    {
        int half = headDim / 2;
        var inv = new float[half];
        for (int j = 0; j < half; j++)
        {
            float exponent = (2 * j) / (float)headDim;
            float value = 1f / MathF.Pow((float)theta, exponent);
            inv[j] = rounding switch
            {
                TensorDType.BF16 => BFloat16.ToFloat(BFloat16.FromFloat(value)),
                TensorDType.F16 => (float)(Half)value,
                _ => value,
            };
        }
        return inv;
    }

    /// <param name="positions">[T] RoPE positions.</param>
    /// <param name="inverseFrequencies">[Dh/2] from <see cref="InverseFrequencies"/>.</param>
    /// <param name="cos">[T, Dh/2] row-major, written.</param>
    /// <param name="sin">[T, Dh/2] row-major, written.</param>
    public static void Fill(ReadOnlySpan<int> positions, ReadOnlySpan<float> inverseFrequencies, Span<float> cos, Span<float> sin)
    {
        int half = inverseFrequencies.Length, tokens = positions.Length;
        if (cos.Length < tokens * half || sin.Length < tokens * half)
            throw new ArgumentException($"cos and sin need T·Dh/2 = {tokens * half} elements");
        for (int t = 0; t < tokens; t++)
        for (int j = 0; j < half; j++)
        {
            float angle = positions[t] * inverseFrequencies[j];
            cos[t * half + j] = MathF.Cos(angle);
            sin[t * half + j] = MathF.Sin(angle);
        }
    }
}

/// <summary>
/// How RoPE's inv_freq is held. The math says float32 (<see cref="Float32"/>: what the forward golden files, the
/// training recipe and any float model built from the weights use). Hugging Face's `from_pretrained` of a bf16
/// checkpoint casts the buffer to bf16 (<see cref="AsTransformersLoads"/>): the official `diffusion_generate` runs
/// of bf16 checkpoints, and so their generation golden files, see bf16-rounded frequencies.
/// </summary>
public enum RopeFrequencies
{
    Float32,
    AsTransformersLoads,
}
