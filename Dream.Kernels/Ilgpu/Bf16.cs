using ILGPU;

namespace Dream.Kernels.Ilgpu;

/// <summary>bfloat16 inside kernels: the top 16 bits of a float32, kept as <see cref="ushort"/>; widening is exact.</summary>
internal static class Bf16
{
    public static float ToFloat(ushort bits) => Interop.IntAsFloat((uint)bits << 16);

    /// <summary>Rounds to the nearest bf16, ties to even (as torch's `.to(torch.bfloat16)`); NaN stays NaN.</summary>
    public static ushort FromFloat(float value)
    {
        uint bits = Interop.FloatAsInt(value);
        if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (ushort)((bits >> 16) | 0x0040u);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>Two neighbouring bf16 values in one 32-bit word, <paramref name="low"/> first in memory (bits 0–15): one store for both.</summary>
    public static uint Pack(float low, float high) => FromFloat(low) | ((uint)FromFloat(high) << 16);
}
