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
        var pairValues = new Float2 { X = qkv[b + j], Y = qkv[b + j + half] };
        if (slot < rotatedHeads) pairValues = Rotate(pairValues, cos[t * half + j], sin[t * half + j]);
        output[b + j] = Bf16.FromFloat(pairValues.X);
        output[b + j + half] = Bf16.FromFloat(pairValues.Y);
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
        // Pairs j, j+1, j+2, j+3: (first.X, second.X), ...
        Float2 p0 = new() { X = first.X, Y = second.X }, p1 = new() { X = first.Y, Y = second.Y };
        Float2 p2 = new() { X = first.Z, Y = second.Z }, p3 = new() { X = first.W, Y = second.W };
        if (slot < rotatedHeads)
        {
            long table = ((long)t * half + j) >> 2;
            Float4 c = cos.Cast<Float4>()[table], s = sin.Cast<Float4>()[table];
            p0 = Rotate(p0, c.X, s.X);
            p1 = Rotate(p1, c.Y, s.Y);
            p2 = Rotate(p2, c.Z, s.Z);
            p3 = Rotate(p3, c.W, s.W);
        }
        var y = output.Cast<ulong>();   // four bf16 per quad, the first in the low bits
        y[(b + j) >> 2] = Bf16.Pack(p0.X, p1.X) | ((ulong)Bf16.Pack(p2.X, p3.X) << 32);
        y[(b + j + half) >> 2] = Bf16.Pack(p0.Y, p1.Y) | ((ulong)Bf16.Pack(p2.Y, p3.Y) << 32);
    }

    /// <summary>
    /// One rotate-half pair (X = x[i], Y = x[i + Dh/2]) turned by the angle with cosine <paramref name="c"/> and sine
    /// <paramref name="s"/>: (x·c − y·s, y·c + x·s), two products and one add each. Every kernel here rotates
    /// through it, so the four-pair kernel computes exactly what the one-pair kernels do.
    /// </summary>
    private static Float2 Rotate(Float2 pair, float c, float s) =>
        new() { X = pair.X * c - pair.Y * s, Y = pair.Y * c + pair.X * s };

    internal static void Kernel(Index1D i, ArrayView<float> x, ArrayView<float> cos, ArrayView<float> sin, int heads, int headDim)
    {
        int half = headDim / 2;
        int pair = i / half;            // t·heads + h
        int j = i - pair * half;
        int t = pair / heads;
        long b = (long)pair * headDim;
        var rotated = Rotate(new Float2 { X = x[b + j], Y = x[b + j + half] }, cos[t * half + j], sin[t * half + j]);
        x[b + j] = rotated.X;
        x[b + j + half] = rotated.Y;
    }
}
