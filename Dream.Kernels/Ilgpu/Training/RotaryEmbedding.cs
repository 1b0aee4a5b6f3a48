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
    public static void Apply(TrainingKernels kernels, ArrayView<float> x, ArrayView<float> cos, ArrayView<float> sin, int rows, int tokens, int heads, int headDim)
    {
        int n = rows * heads * (headDim / 2);
        if (n > 0) kernels.Rotary(n, x, cos, sin, tokens, heads, headDim, 1f);
    }

    /// <param name="dx">[N, heads, Dh], the gradient at the rotation's output, turned in place into its input's.</param>
    public static void Backward(TrainingKernels kernels, ArrayView<float> dx, ArrayView<float> cos, ArrayView<float> sin, int rows, int tokens, int heads, int headDim)
    {
        int n = rows * heads * (headDim / 2);
        if (n > 0) kernels.Rotary(n, dx, cos, sin, tokens, heads, headDim, -1f);
    }

    internal static void Kernel(Index1D i, ArrayView<float> x, ArrayView<float> cos, ArrayView<float> sin, int tokens, int heads, int headDim, float direction)
    {
        int half = headDim / 2;
        int pair = i / half;             // n·heads + h
        int j = i - pair * half;
        int t = pair / heads % tokens;
        long b = (long)pair * headDim;
        float c = cos[t * half + j], s = direction * sin[t * half + j];
        float first = x[b + j], second = x[b + j + half];
        x[b + j] = first * c - second * s;
        x[b + j + half] = second * c + first * s;
    }
}
