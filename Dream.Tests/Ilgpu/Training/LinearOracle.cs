namespace Dream.Tests.Ilgpu.Training;

/// <summary>
/// The three products of a Linear layer in float64, with Σ|terms| beside each (what float32 rounding is proportional
/// to): y = y0 + x·Wᵀ + b, dx = dx0 + dy·W, dW = dW0 + dyᵀ·x. x [N, In], W [Out, In], dy [N, Out], row-major; the
/// oracle of both trainer product tests (float32 and tensor-core).
/// </summary>
internal sealed record LinearOracle(double[] Y, double[] YMagnitude, double[] Dx, double[] DxMagnitude, double[] DW, double[] DWMagnitude)
{
    /// <param name="y0">added to y when <paramref name="accumulate"/>.</param>
    /// <param name="dx0">added to dx when <paramref name="accumulate"/>.</param>
    /// <param name="dw0">always added to dW (weight gradients accumulate).</param>
    /// <param name="bias">[Out], or null.</param>
    public static LinearOracle Of(float[] x, float[] w, float[]? bias, float[] dy, float[] y0, float[] dx0, float[] dw0,
        int n, int i, int o, bool accumulate)
    {
        var y = new double[n * o]; var yMag = new double[n * o];
        var dx = new double[n * i]; var dxMag = new double[n * i];
        var dw = new double[o * i]; var dwMag = new double[o * i];
        for (int t = 0; t < n; t++)
        for (int f = 0; f < o; f++)
        {
            double s = 0, m = 0;
            for (int k = 0; k < i; k++) { s += (double)x[t * i + k] * w[f * i + k]; m += Math.Abs((double)x[t * i + k] * w[f * i + k]); }
            double old = accumulate ? y0[t * o + f] : 0, b = bias is null ? 0 : bias[f];
            y[t * o + f] = old + s + b;
            yMag[t * o + f] = m + Math.Abs(old) + Math.Abs(b);
        }
        for (int t = 0; t < n; t++)
        for (int k = 0; k < i; k++)
        {
            double s = 0, m = 0;
            for (int f = 0; f < o; f++) { s += (double)dy[t * o + f] * w[f * i + k]; m += Math.Abs((double)dy[t * o + f] * w[f * i + k]); }
            double old = accumulate ? dx0[t * i + k] : 0;
            dx[t * i + k] = old + s;
            dxMag[t * i + k] = m + Math.Abs(old);
        }
        for (int f = 0; f < o; f++)
        for (int k = 0; k < i; k++)
        {
            double s = 0, m = 0;
            for (int t = 0; t < n; t++) { s += (double)dy[t * o + f] * x[t * i + k]; m += Math.Abs((double)dy[t * o + f] * x[t * i + k]); }
            dw[f * i + k] = dw0[f * i + k] + s;
            dwMag[f * i + k] = m + Math.Abs(dw0[f * i + k]);
        }
        return new LinearOracle(y, yMag, dx, dxMag, dw, dwMag);
    }
}
