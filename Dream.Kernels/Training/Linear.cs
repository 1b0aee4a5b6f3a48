using System.Numerics.Tensors;

namespace Dream.Kernels.Training;

/// <summary>
/// The trainer's Linear, y = x·Wᵀ + b with W [out, in], and its two backward products, each one
/// <see cref="MatMul"/> call on row-major matrices (transposing what the product needs first):
///   forward       y  = x · Wᵀ  (+ b per row)      [N, In]·[In, Out]
///   input grad    dx += dy · W                     [N, Out]·[Out, In]
///   weight grad   dW += dyᵀ · x                    [Out, N]·[N, In]   (sums over the batch's N rows)
///   bias grad     db += Σ_n dy[n, :]
/// Oracle: Dream.Reference.Linear (Forward, Backward).
/// </summary>
public static class Linear
{
    /// <param name="x">[N, In].</param>
    /// <param name="weight">[Out, In].</param>
    /// <param name="bias">[Out] or null.</param>
    /// <param name="y">[N, Out], overwritten.</param>
    /// <param name="scratch">at least In·Out floats, for Wᵀ.</param>
    public static void Forward(float[] x, float[] weight, float[]? bias, float[] y, float[] scratch, int rows, int inFeatures, int outFeatures)
    {
        Transpose(weight, scratch, outFeatures, inFeatures);                   // Wᵀ [In, Out]
        MatMul.MultiplyParallel(x, scratch, y, rows, inFeatures, outFeatures, accumulate: false);
        if (bias is null) return;
        for (int n = 0; n < rows; n++)
        {
            var yRow = y.AsSpan(n * outFeatures, outFeatures);
            TensorPrimitives.Add(yRow, bias, yRow);
        }
    }

    /// <param name="dy">[N, Out].</param>
    /// <param name="weight">[Out, In].</param>
    /// <param name="dx">[N, In], accumulated into (+=).</param>
    public static void BackwardInput(float[] dy, float[] weight, float[] dx, int rows, int inFeatures, int outFeatures) =>
        MatMul.MultiplyParallel(dy, weight, dx, rows, outFeatures, inFeatures, accumulate: true);

    /// <param name="x">[N, In] the forward input.</param>
    /// <param name="dy">[N, Out].</param>
    /// <param name="dWeight">[Out, In], accumulated into (+=).</param>
    /// <param name="dBias">[Out] or null, accumulated into (+=).</param>
    /// <param name="scratch">at least Out·N floats, for dyᵀ.</param>
    public static void BackwardWeight(float[] x, float[] dy, float[] dWeight, float[]? dBias, float[] scratch,
        int rows, int inFeatures, int outFeatures)
    {
        Transpose(dy, scratch, rows, outFeatures);                             // dyᵀ [Out, N]
        MatMul.MultiplyParallel(scratch, x, dWeight, outFeatures, rows, inFeatures, accumulate: true);
        if (dBias is null) return;
        for (int o = 0; o < outFeatures; o++) dBias[o] += TensorPrimitives.Sum(scratch.AsSpan(o * rows, rows));
    }

    /// <summary>destination[c, r] = source[r, c] for a [rows, cols] source.</summary>
    public static void Transpose(ReadOnlySpan<float> source, Span<float> destination, int rows, int cols)
    {
        // Tiles of 16×16 keep both the reads and the writes within a few cache lines.
        const int tile = 16;
        for (int r0 = 0; r0 < rows; r0 += tile)
        for (int c0 = 0; c0 < cols; c0 += tile)
        {
            int rEnd = Math.Min(rows, r0 + tile), cEnd = Math.Min(cols, c0 + tile);
            for (int r = r0; r < rEnd; r++)
            for (int c = c0; c < cEnd; c++)
                destination[c * rows + r] = source[r * cols + c];
        }
    }
}
