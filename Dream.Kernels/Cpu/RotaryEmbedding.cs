using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dream.Kernels.Cpu;

/// <summary>
/// Rotary position embedding in Hugging Face's rotate-half layout (the reference's formulas):
///   inv_freq[j] = 1 / theta^(2j/Dh) and angle = pos · inv_freq[j], in float32 exactly as the official code;
///   x'[i] = x[i]·cos − x[i + Dh/2]·sin,  x'[i + Dh/2] = x[i + Dh/2]·cos + x[i]·sin.
/// Tables are built per forward (only when the positions change); the rotation is vectorised over i.
/// </summary>
public static unsafe class RotaryEmbedding
{
    /// <summary>cos and sin for each token: [T, Dh/2] each, computed like the reference's tables.</summary>
    public static void Tables(ReadOnlySpan<int> positions, int tokens, int headDim, double theta, Span<float> cos, Span<float> sin)
    {
        int half = headDim / 2;
        if (cos.Length < tokens * half || sin.Length < tokens * half) throw new ArgumentException($"cos and sin need T·Dh/2 = {tokens * half} elements");
        for (int j = 0; j < half; j++)
        {
            float exponent = (2 * j) / (float)headDim;
            float invFreq = 1f / MathF.Pow((float)theta, exponent);
            for (int t = 0; t < tokens; t++)
            {
                float angle = positions[t] * invFreq;
                cos[t * half + j] = MathF.Cos(angle);
                sin[t * half + j] = MathF.Sin(angle);
            }
        }
    }

    /// <param name="x">[T, heads, Dh] row-major, rotated in place.</param>
    /// <param name="cos">[T, Dh/2] from <see cref="Tables"/>.</param>
    /// <param name="sin">[T, Dh/2] from <see cref="Tables"/>.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply(Span<float> x, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, int tokens, int heads, int headDim)
    {
        int half = headDim / 2;
        if (x.Length < (long)tokens * heads * headDim) throw new ArgumentException($"x needs T·H·Dh = {(long)tokens * heads * headDim} elements", nameof(x));
        if (cos.Length < tokens * half || sin.Length < tokens * half) throw new ArgumentException($"cos and sin need T·Dh/2 = {tokens * half} elements");
        fixed (float* px = x)
        fixed (float* pc = cos)
        fixed (float* ps = sin)
        {
            for (int t = 0; t < tokens; t++)
            for (int h = 0; h < heads; h++)
                Rotate(px + ((long)t * heads + h) * headDim, pc + t * half, ps + t * half, half);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rotate(float* first, float* c, float* s, int half)
    {
        float* second = first + half;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= half - 16; i += 16)
            {
                var a = Vector512.Load(first + i);
                var b = Vector512.Load(second + i);
                var vc = Vector512.Load(c + i);
                var vs = Vector512.Load(s + i);
                (a * vc - b * vs).Store(first + i);
                (b * vc + a * vs).Store(second + i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= half - 8; i += 8)
            {
                var a = Vector256.Load(first + i);
                var b = Vector256.Load(second + i);
                var vc = Vector256.Load(c + i);
                var vs = Vector256.Load(s + i);
                (a * vc - b * vs).Store(first + i);
                (b * vc + a * vs).Store(second + i);
            }
        }
        for (; i < half; i++)
        {
            float a = first[i], b = second[i];
            first[i] = a * c[i] - b * s[i];
            second[i] = b * c[i] + a * s[i];
        }
    }
}
