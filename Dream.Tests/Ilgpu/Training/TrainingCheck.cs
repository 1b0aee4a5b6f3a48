using Dream.Kernels.Ilgpu.Training;
using ILGPU;
using ILGPU.Runtime;
using static Dream.Tests.Ilgpu.IlgpuCheck;

namespace Dream.Tests.Ilgpu.Training;

/// <summary>Helpers of the training-kernel twins: one kernel set per test device, float64 references, the bound.</summary>
public static class TrainingCheck
{
    private static readonly Lazy<TrainingKernels> Loaded = new(() => new TrainingKernels(IlgpuTestDevice.Kernels.Accelerator));

    public static TrainingKernels TrainKernels => Loaded.Value;
    public static Accelerator Acc => IlgpuTestDevice.Kernels.Accelerator;

    public static double[] Wide(float[] x) => x.Select(v => (double)v).ToArray();

    public static float[] Run(MemoryBuffer1D<float, Stride1D.Dense> buffer, int count) => Download(Acc, buffer.View, count);

    /// <summary>
    /// |kernel − ref| ≤ c·γ_n·magnitude + 4u·|ref|, the float32 error of an n-term evaluation whose terms add up in
    /// absolute value to <paramref name="magnitude"/> (Higham's bound, with c the slack for the few chained roundings the
    /// op adds, stated by each caller); ref is computed in float64 from the same float32 inputs.
    /// </summary>
    public static void Near(string what, float[] actual, double[] expected, Func<int, double> magnitude, int n, double c = 2)
    {
        var e = expected.Select(x => (float)x).ToArray();
        Close(what, actual, e, i => 1e-30 + c * Gamma(n) * magnitude(i) + 4 * U * Math.Abs(expected[i]));
    }

    /// <summary>Normwise: every element against the largest |ref| of the tensor (for ops whose terms cancel).</summary>
    public static void NearNormwise(string what, float[] actual, double[] expected, int n, double c = 4) =>
        Near(what, actual, expected, _ => expected.Length == 0 ? 0 : expected.Max(Math.Abs), n, c);
}
