using System.Numerics;
using Dream.Core.Checkpoint;
using Dream.Core.Model;

namespace Dream.Reference;

/// <summary>
/// Rotary position embedding in Hugging Face's rotate-half ("NeoX") layout, as Qwen2 and Dream use it:
///   inv_freq[j] = 1 / theta^(2j/Dh),  angle[t, j] = pos[t] · inv_freq[j]  for j in [0, Dh/2)
///   x'[i]        = x[i]·cos − x[i + Dh/2]·sin      (i &lt; Dh/2)
///   x'[i + Dh/2] = x[i + Dh/2]·cos + x[i]·sin
/// The angles, cos and sin are computed in float32 exactly like the official code (which upcasts to float32
/// for them whatever the model dtype), then widened to T.
/// Backward: each (i, i + Dh/2) pair was rotated by the angle, so its gradient is rotated back (the transpose
/// of a rotation is its inverse): dx[i] = dx'[i]·cos + dx'[i + Dh/2]·sin,  dx[i + Dh/2] = dx'[i + Dh/2]·cos − dx'[i]·sin.
/// </summary>
public static class RotaryEmbedding
{
    /// <summary>cos and sin tables for each token: [T, Dh/2] each, built in float32 by the shared
    /// <see cref="RotaryTables"/> (the second half of Hugging Face's table repeats the first), widened to T.</summary>
    public static (T[] Cos, T[] Sin) Tables<T>(int[] positions, int tokens, int headDim, double theta,
        TensorDType invFreqDType = TensorDType.F32)
        where T : IFloatingPointIeee754<T>
    {
        int half = headDim / 2;
        var cos = new float[tokens * half];
        var sin = new float[tokens * half];
        RotaryTables.Fill(positions.AsSpan(0, tokens), RotaryTables.InverseFrequencies(headDim, theta, invFreqDType), cos, sin);
        return (cos.Select(T.CreateChecked).ToArray(), sin.Select(T.CreateChecked).ToArray());
    }

    /// <param name="x">[T, heads, Dh] row-major, rotated in place.</param>
    /// <param name="cos">[T, Dh/2] from <see cref="Tables"/>.</param>
    /// <param name="sin">[T, Dh/2] from <see cref="Tables"/>.</param>
    public static void Apply<T>(T[] x, T[] cos, T[] sin, int tokens, int heads, int headDim)
        where T : IFloatingPointIeee754<T> =>
        Rotate(x, cos, sin, T.One, tokens, heads, headDim);

    /// <summary>
    /// The gradient of a rotation is the rotation back (its transpose): the same pairs turned by −angle.
    /// </summary>
    /// <param name="dx">[T, heads, Dh]: on entry the gradient of the rotated x, on exit that of the input x
    /// (in place, like <see cref="Apply"/>).</param>
    /// <param name="cos">[T, Dh/2] from <see cref="Tables"/>.</param>
    /// <param name="sin">[T, Dh/2] from <see cref="Tables"/>.</param>
    public static void Backward<T>(T[] dx, T[] cos, T[] sin, int tokens, int heads, int headDim)
        where T : IFloatingPointIeee754<T> =>
        Rotate(dx, cos, sin, -T.One, tokens, heads, headDim);

    /// <summary>Turns each pair (x[i], x[i + Dh/2]) by ±angle; multiplying sin by ±1 is exact, so the forward
    /// rounds exactly as the formula in the class summary.</summary>
    private static void Rotate<T>(T[] x, T[] cos, T[] sin, T direction, int tokens, int heads, int headDim)
        where T : IFloatingPointIeee754<T>
    {
        int half = headDim / 2;
        for (int t = 0; t < tokens; t++)
        for (int h = 0; h < heads; h++)
        {
            int b = (t * heads + h) * headDim;
            for (int i = 0; i < half; i++)
            {
                T c = cos[t * half + i], s = direction * sin[t * half + i];
                T first = x[b + i], second = x[b + i + half];
                x[b + i] = first * c - second * s;
                x[b + i + half] = second * c + first * s;
            }
        }
    }
}
