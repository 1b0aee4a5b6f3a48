using ILGPU;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Rotary position embedding in the rotate-half layout (twin of Dream.Reference.RotaryEmbedding):
///   x'[i] = x[i]·cos − x[i + Dh/2]·sin,  x'[i + Dh/2] = x[i + Dh/2]·cos + x[i]·sin   (i &lt; Dh/2)
/// cos/sin come from host tables computed in float32 exactly as the reference computes them (GPU sin/cos are
/// approximations, far off for the large angles of long contexts). One thread per (token, head, pair), in place.
/// </summary>
public static class RotaryEmbedding
{
    /// <summary>
    /// Fills cos and sin [T, Dh/2] for <paramref name="positions"/>: inv_freq[j] = 1 / theta^(2j/Dh) and
    /// angle = pos · inv_freq[j], all in float32 like the official code (pinned bit for bit to the reference's tables).
    /// </summary>
    public static void Tables(ReadOnlySpan<int> positions, int headDim, double theta, Span<float> cos, Span<float> sin)
    {
        int half = headDim / 2;
        int tokens = positions.Length;
        if (cos.Length < tokens * half || sin.Length < tokens * half)
            throw new ArgumentException($"cos/sin tables need {tokens * half} entries");
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

    /// <param name="x">[T, heads, Dh], rotated in place.</param>
    /// <param name="cos">[T, Dh/2].</param>
    /// <param name="sin">[T, Dh/2].</param>
    public static void Apply(IlgpuKernels kernels, ArrayView<float> x, ArrayView<float> cos, ArrayView<float> sin, int tokens, int heads, int headDim)
    {
        int n = tokens * heads * (headDim / 2);
        if (n > 0) kernels.RotaryEmbedding(n, x, cos, sin, heads, headDim);
    }

    internal static void Kernel(Index1D i, ArrayView<float> x, ArrayView<float> cos, ArrayView<float> sin, int heads, int headDim)
    {
        int half = headDim / 2;
        int pair = i / half;            // t·heads + h
        int j = i - pair * half;
        int t = pair / heads;
        long b = (long)pair * headDim;
        float c = cos[t * half + j], s = sin[t * half + j];
        float first = x[b + j], second = x[b + j + half];
        x[b + j] = first * c - second * s;
        x[b + j + half] = second * c + first * s;
    }
}
