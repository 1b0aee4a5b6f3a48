using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// Rotate-half RoPE over B stacked sequences (twin of Dream.Reference.RotaryEmbedding's Apply and Backward):
///   forward   x'[i] = x[i]·cos − x[i + Dh/2]·sin,  x'[i + Dh/2] = x[i + Dh/2]·cos + x[i]·sin
///   backward  the same with −sin (a rotation's transpose is the rotation by −angle), on the gradient, in place.
/// Row n of the batch is position n mod T; cos/sin tables [T, Dh/2] are computed once on the host
/// (Dream.Core.Model.RotaryTables). One thread per (row, head, pair).
/// </summary>
public static class RotaryEmbedding
{
    /// <param name="x">[N, heads, Dh], rotated in place.</param>
    /// <param name="cos">[T, Dh/2].</param>
    /// <param name="sin">[T, Dh/2].</param>
    /// <param name="copy">When not empty: also written with the rotated x in bf16 (mixed-precision attention's operand).</param>
    public static void Apply(TrainingKernels kernels, ArrayView<float> x, ArrayView<float> cos, ArrayView<float> sin, int rows, int tokens, int heads, int headDim,
        ArrayView<ushort> copy = default)
    {
        int n = rows * heads * (headDim / 2);
        bool write = copy.Length > 0;
        if (n > 0) kernels.Rotary(n, x, cos, sin, tokens, heads, headDim, 1f, write ? copy : kernels.Dummy16, write ? 1 : 0);
    }

    /// <param name="dx">[N, heads, Dh], the gradient at the rotation's output, turned in place into its input's.</param>
    public static void Backward(TrainingKernels kernels, ArrayView<float> dx, ArrayView<float> cos, ArrayView<float> sin, int rows, int tokens, int heads, int headDim)
    {
        int n = rows * heads * (headDim / 2);
        if (n > 0) kernels.Rotary(n, dx, cos, sin, tokens, heads, headDim, -1f, kernels.Dummy16, 0);
    }

    internal static void Kernel(Index1D i, ArrayView<float> x, ArrayView<float> cos, ArrayView<float> sin, int tokens, int heads, int headDim, float direction,
        ArrayView<ushort> copy, int writeCopy)
    {
        int half = headDim / 2;
        int pair = i / half;             // n·heads + h
        int j = i - pair * half;
        int t = pair / heads % tokens;
        long b = (long)pair * headDim;
        float c = cos[t * half + j], s = direction * sin[t * half + j];
        float first = x[b + j], second = x[b + j + half];
        float a = first * c - second * s, z = second * c + first * s;
        x[b + j] = a;
        x[b + j + half] = z;
        if (writeCopy != 0)
        {
            copy[b + j] = Bf16.FromFloat(a);
            copy[b + j + half] = Bf16.FromFloat(z);
        }
    }
}
