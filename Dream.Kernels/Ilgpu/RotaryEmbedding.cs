using ILGPU;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Rotary position embedding in the rotate-half layout (twin of Dream.Reference.RotaryEmbedding):
///   x'[i] = x[i]·cos − x[i + Dh/2]·sin,  x'[i + Dh/2] = x[i + Dh/2]·cos + x[i]·sin   (i &lt; Dh/2)
/// cos/sin come from host tables (Dream.Core.Model.RotaryTables, shared with every backend; GPU sin/cos are
/// approximations, far off for the large angles of long contexts). One thread per (token, head, pair), in place.
/// <see cref="ApplyToBf16"/> works on the fused QKV product of the tensor-core path instead: it rotates the q and k
/// heads of each row, passes the v heads through, and writes everything as bf16 (the attention kernel's input).
/// Where Dh/2 is a multiple of 4 and the buffers are 16-byte aligned (Dream's Dh = 128) it takes four pairs per
/// thread (<see cref="KernelToBf16Quads"/>: 16-byte loads, 8-byte stores, the same arithmetic per element): the
/// pass is bound by memory, and one pair per thread moved 2-byte stores and a division per pair (31.6 µs per layer
/// at 2048 tokens on an H200, docs/benchmarks.md).
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
        if (n == 0) return;
        if (TakesQuads(qkv, cos, sin, output, headDim))
            kernels.RotaryEmbeddingToBf16Quads(n / 4, qkv, cos, sin, output, heads + kvHeads, heads + 2 * kvHeads, headDim);
        else
            kernels.RotaryEmbeddingToBf16(n, qkv, cos, sin, output, heads + kvHeads, heads + 2 * kvHeads, headDim);
    }

    /// <summary>Whether <see cref="ApplyToBf16"/> takes four pairs per thread: Dh/2 a multiple of 4 and every view 16-byte aligned.</summary>
    public static bool TakesQuads(ArrayView<float> qkv, ArrayView<float> cos, ArrayView<float> sin, ArrayView<ushort> output, int headDim) =>
        headDim % 8 == 0 && Ptx.DeviceAddress(qkv) % 16 == 0 && Ptx.DeviceAddress(cos) % 16 == 0
        && Ptx.DeviceAddress(sin) % 16 == 0 && Ptx.DeviceAddress(output) % 16 == 0;

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

    /// <summary>
    /// <see cref="KernelToBf16"/> for pairs j..j+3 at once: one thread per (token, head slot, quad of pairs), index
    /// i = (t·allHeads + slot)·(Dh/8) + j/4. Each element takes the scalar kernel's two products and one add.
    /// </summary>
    internal static void KernelToBf16Quads(Index1D i, ArrayView<float> qkv, ArrayView<float> cos, ArrayView<float> sin, ArrayView<ushort> output,
        int rotatedHeads, int allHeads, int headDim)
    {
        int half = headDim / 2, quads = half / 4;
        int pair = i / quads;           // t·allHeads + slot
        int j = (i - pair * quads) * 4;
        int t = pair / allHeads;
        int slot = pair - t * allHeads;
        long b = (long)pair * headDim;
        var x4 = qkv.Cast<Float4>();
        Float4 first = x4[(b + j) >> 2], second = x4[(b + j + half) >> 2];
        if (slot < rotatedHeads)
        {
            long table = ((long)t * half + j) >> 2;
            Float4 c = cos.Cast<Float4>()[table], s = sin.Cast<Float4>()[table];
            Float4 rotated = first;
            rotated.X = first.X * c.X - second.X * s.X;
            rotated.Y = first.Y * c.Y - second.Y * s.Y;
            rotated.Z = first.Z * c.Z - second.Z * s.Z;
            rotated.W = first.W * c.W - second.W * s.W;
            second.X = second.X * c.X + first.X * s.X;
            second.Y = second.Y * c.Y + first.Y * s.Y;
            second.Z = second.Z * c.Z + first.Z * s.Z;
            second.W = second.W * c.W + first.W * s.W;
            first = rotated;
        }
        var y = output.Cast<ulong>();   // four bf16 per quad
        y[(b + j) >> 2] = Pack(first);
        y[(b + j + half) >> 2] = Pack(second);
    }

    /// <summary>Four floats as four bf16 (nearest, ties to even), the first in the low bits.</summary>
    private static ulong Pack(Float4 v) => Bf16.Pack(v.X, v.Y) | ((ulong)Bf16.Pack(v.Z, v.W) << 32);

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
