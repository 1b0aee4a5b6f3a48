namespace Dream.Kernels.Training;

/// <summary>
/// The trainer's rotate-half RoPE over [N, heads, Dh] rows with per-row tables [N, Dh/2] (so stacked sequences
/// and padded positions need no special case), in place; Backward rotates the gradient back by the same angle.
/// Elementwise and cheap, so plain loops. Oracle: Dream.Reference.RotaryEmbedding (Apply, Backward).
/// </summary>
public static class RotaryEmbedding
{
    public static void Apply(float[] x, float[] cos, float[] sin, int rows, int heads, int headDim) =>
        Rotate(x, cos, sin, rows, heads, headDim, direction: 1f);

    public static void Backward(float[] dx, float[] cos, float[] sin, int rows, int heads, int headDim) =>
        Rotate(dx, cos, sin, rows, heads, headDim, direction: -1f);

    /// <summary>x[i] = x[i]·cos − x[i+½]·(±sin), x[i+½] = x[i+½]·cos + x[i]·(±sin).</summary>
    private static void Rotate(float[] x, float[] cos, float[] sin, int rows, int heads, int headDim, float direction)
    {
        int half = headDim / 2;
        const int rowsPerBlock = 64;
        Parallel.For(0, (rows + rowsPerBlock - 1) / rowsPerBlock, block =>
        {
            for (int n = block * rowsPerBlock, end = Math.Min(rows, n + rowsPerBlock); n < end; n++)
            for (int h = 0; h < heads; h++)
            {
                int b = (n * heads + h) * headDim;
                for (int i = 0; i < half; i++)
                {
                    float c = cos[n * half + i], s = direction * sin[n * half + i];
                    float first = x[b + i], second = x[b + i + half];
                    x[b + i] = first * c - second * s;
                    x[b + i + half] = second * c + first * s;
                }
            }
        });
    }
}
