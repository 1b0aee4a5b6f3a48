using ILGPU;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Rotary position embedding in the rotate-half layout (twin of Dream.Reference.RotaryEmbedding):
///   x'[i] = x[i]·cos − x[i + Dh/2]·sin,  x'[i + Dh/2] = x[i + Dh/2]·cos + x[i]·sin   (i &lt; Dh/2)
/// cos/sin come from host tables (Dream.Core.Model.RotaryTables, shared with every backend; GPU sin/cos are
/// approximations, far off for the large angles of long contexts). One thread per (token, head, pair), in place.
/// <see cref="ApplyToBf16"/> works on the fused QKV product of the tensor-core path instead: it rotates the q and k
/// heads of each row, passes the v heads through, and writes everything as bf16 (the attention kernel's input).
/// </summary>
public static class RotaryEmbedding
{
    /// <param name="x">[T, heads, Dh], rotated in place.</param>
    /// <param name="cos">[T, Dh/2].</param>
    /// <param name="sin">[T, Dh/2].</param>
    public static void Apply(IlgpuKernels kernels, ArrayView<float> x, ArrayView<float> cos, ArrayView<float> sin, int tokens, int heads, int headDim)
    {
        int n = tokens * heads * (headDim / 2);
        if (n > 0) kernels.RotaryEmbedding(n, x, cos, sin, heads, headDim);
    }

    /// <param name="qkv">[T, (H + 2·Hkv)·Dh] f32: q heads, then k heads, then v heads.</param>
    /// <param name="output">[T, (H + 2·Hkv)·Dh] bf16 bits: q and k rotated, v as is.</param>
    public static void ApplyToBf16(IlgpuKernels kernels, ArrayView<float> qkv, ArrayView<float> cos, ArrayView<float> sin, ArrayView<ushort> output,
        int tokens, int heads, int kvHeads, int headDim)
    {
        int n = tokens * (heads + 2 * kvHeads) * (headDim / 2);
        if (n > 0) kernels.RotaryEmbeddingToBf16(n, qkv, cos, sin, output, heads + kvHeads, heads + 2 * kvHeads, headDim);
    }

    internal static void KernelToBf16(Index1D i, ArrayView<float> qkv, ArrayView<float> cos, ArrayView<float> sin, ArrayView<ushort> output,
        int rotatedHeads, int allHeads, int headDim)
    {
        int half = headDim / 2;
        int pair = i / half;            // t·allHeads + slot
        int j = i - pair * half;
        int t = pair / allHeads;
        int slot = pair - t * allHeads;
        long b = (long)pair * headDim;
        float first = qkv[b + j], second = qkv[b + j + half];
        if (slot < rotatedHeads)
        {
            float c = cos[t * half + j], s = sin[t * half + j];
            float rotatedFirst = first * c - second * s;
            second = second * c + first * s;
            first = rotatedFirst;
        }
        output[b + j] = Bf16.FromFloat(first);
        output[b + j + half] = Bf16.FromFloat(second);
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
