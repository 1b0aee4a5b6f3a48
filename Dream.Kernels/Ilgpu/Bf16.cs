using ILGPU;

namespace Dream.Kernels.Ilgpu;

/// <summary>bfloat16 inside kernels: the top 16 bits of a float32, kept as <see cref="ushort"/>; widening is exact.</summary>
internal static class Bf16
{
    public static float ToFloat(ushort bits) => Interop.IntAsFloat((uint)bits << 16);
}
