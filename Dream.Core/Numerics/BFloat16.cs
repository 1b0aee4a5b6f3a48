namespace Dream.Core.Numerics;

/// <summary>
/// bfloat16 is the top 16 bits of an IEEE float32. Widening is exact (append 16 zero bits); narrowing rounds to
/// nearest, ties to even, as torch does. We keep bf16 as raw <see cref="ushort"/> bits everywhere (no type of its
/// own) so that CPU, ILGPU and file code share one representation.
/// </summary>
public static class BFloat16
{
    public static float ToFloat(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    public static ushort FromFloat(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if ((u & 0x7FFF_FFFF) > 0x7F80_0000) return (ushort)((u >> 16) | 0x0040); // NaN stays a quiet NaN
        uint roundingBias = 0x7FFF + ((u >> 16) & 1);
        return (ushort)((u + roundingBias) >> 16);
    }
}
