using Dream.Kernels.Ilgpu.Training;
using FsCheck;
using FsCheck.Fluent;
using static Dream.Tests.Ilgpu.IlgpuCheck;
using static Dream.Tests.Ilgpu.Training.TrainingCheck;

namespace Dream.Tests.Ilgpu.Training;

/// <summary>
/// The trainer's mixed-precision Linear products (<see cref="LinearBf16"/> over <see cref="TensorCoreGemm"/>:
/// forward with bias and with the residual add, the input gradient with and without accumulation, the weight
/// gradient with 1–4 split-K slices, which exercise the KContiguous/KContiguous, KContiguous/KMajor and
/// KMajor/KMajor operand layouts) against the textbook product in float64, on bf16-exact inputs so the only
/// differences are summation order and rounding. On CUDA this runs mma.sync, elsewhere the portable fallback.
/// Sizes cross the 128-wide block edges and the 32-wide k step, including k counts that leave part of a 16-byte
/// chunk (rows not a multiple of 8 are only legal on the portable path: on CUDA the widths are multiples of 8).
///
/// Tolerance: products of two bf16 are exact in f32; tensor cores may truncate additions (1 ulp = 2u each), so a
/// K-term sum is within γ'_K·Σ|a·b| with γ'_n = n·2u/(1 − n·2u); the bias, the old value and the split-K sum of
/// S slices add at most (S + 2) more roundings of the running magnitude. The bias gradient is the f32 ColumnSum.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class TensorCoreGemmTests
{
    public sealed record Case(int Rows, int In, int Out, bool Bias, bool Accumulate, int Slices, int Seed);

    private static Arbitrary<Case> Cases =>
        (from rows in Around(TensorCoreGemm.Tile) from inF in Gen.Choose(1, 6).Select(x => 8 * x) from outF in Around(TensorCoreGemm.Tile)
         from bias in Gen.Elements(true, false) from acc in Gen.Elements(true, false) from slices in Gen.Choose(1, 4) from seed in Seed
         select new Case(rows, inF, IlgpuTestDevice.Kernels.IsCuda ? (outF + 7) / 8 * 8 : outF, bias, acc, slices, seed)).ToArbitrary();

    private static double GammaTruncating(int n) => n * 2 * U / (1 - n * 2 * U);

    [IlgpuProperty(MaxTest = 12)]
    public Property LinearProductsMatchTheTextbook() => Prop.ForAll(Cases, c =>
    {
        var random = new Random(c.Seed);
        int n = c.Rows, i = c.In, o = c.Out;
        ushort[] x16 = Bf16Values(random, n * i), w16 = Bf16Values(random, o * i), dy16 = Bf16Values(random, n * o);
        float[] x = Widen(x16), w = Widen(w16), dy = Widen(dy16), b = Values(random, o);
        float[] y0 = Values(random, n * o), dx0 = Values(random, n * i), dw0 = Values(random, o * i);

        using var xb = Upload(Acc, x16); using var wb = Upload(Acc, w16); using var dyb = Upload(Acc, dy16);
        using var dyf = Upload(Acc, dy); using var bb = Upload(Acc, b);
        using var yb = Upload(Acc, y0); using var dxb = Upload(Acc, dx0); using var dwb = Upload(Acc, dw0); using var dbb = Upload(Acc, new float[o]);
        LinearBf16.Forward(TrainKernels, xb.View, wb.View, c.Bias ? bb.View.SubView(0, o) : default, yb.View, n, i, o, c.Accumulate);
        LinearBf16.BackwardInput(TrainKernels, dyb.View, wb.View, dxb.View, n, i, o, c.Accumulate);
        LinearBf16.BackwardWeight(TrainKernels, xb.View, dyb.View, dyf.View, dwb.View, dbb.View.SubView(0, o), n, i, o, c.Slices);

        var oracle = LinearOracle.Of(x, w, c.Bias ? b : null, dy, y0, dx0, dw0, n, i, o, c.Accumulate);
        Check($"y {c}", Run(yb, n * o), oracle.Y, oracle.YMagnitude, i, 2);
        Check($"dx {c}", Run(dxb, n * i), oracle.Dx, oracle.DxMagnitude, o, 1);
        Check($"dW {c}", Run(dwb, o * i), oracle.DW, oracle.DWMagnitude, n, c.Slices + 2);
    });

    private static void Check(string what, float[] actual, double[] expected, double[] magnitude, int k, int extraRoundings) =>
        Close(what, actual, expected.Select(e => (float)e).ToArray(), j =>
            1e-30 + (GammaTruncating(k) + extraRoundings * 2 * U) * magnitude[j] + 4 * U * Math.Abs(expected[j]));

    /// <summary>
    /// The same product batched over (sequence, head) with grouped B heads — the strided addressing attention
    /// would use: C[z] = A[z]·B[z/H, (z mod H)/2]ᵀ for H = 4 heads sharing 2 B heads, A and B KContiguous.
    /// </summary>
    [IlgpuFact]
    public void BatchedHeadsAddressTheirOwnBlocks()
    {
        var random = new Random(7);
        int batch = 2, heads = 4, group = 2, t = 9, dh = 16;
        int kvHeads = heads / group;
        ushort[] q16 = Bf16Values(random, batch * t * heads * dh), k16 = Bf16Values(random, batch * t * kvHeads * dh);
        float[] q = Widen(q16), kf = Widen(k16);
        using var qb = Upload(Acc, q16); using var kb = Upload(Acc, k16);
        using var sb = Acc.Allocate1D<float>(batch * heads * t * t);
        var shape = new GemmShape
        {
            M = t, N = t, K = dh, Heads = heads, BHeadDivisor = group,
            ARowStride = heads * dh, ABatchStride = (long)t * heads * dh, AHeadStride = dh,
            BRowStride = kvHeads * dh, BBatchStride = (long)t * kvHeads * dh, BHeadStride = dh,
            CRowStride = t, CBatchStride = (long)heads * t * t, CHeadStride = (long)t * t,
        };
        TensorCoreGemm.Run(TrainKernels, qb.View, kb.View, sb.View, default, shape, batch * heads);
        var expected = new double[batch * heads * t * t];
        var magnitude = new double[expected.Length];
        for (int s = 0; s < batch; s++)
        for (int h = 0; h < heads; h++)
        for (int r = 0; r < t; r++)
        for (int col = 0; col < t; col++)
        {
            double sum = 0, m = 0;
            for (int d = 0; d < dh; d++)
            {
                double p = (double)q[((s * t + r) * heads + h) * dh + d] * kf[((s * t + col) * kvHeads + h / group) * dh + d];
                sum += p; m += Math.Abs(p);
            }
            int at = ((s * heads + h) * t + r) * t + col;
            expected[at] = sum; magnitude[at] = m;
        }
        Check("batched heads", Run(sb, expected.Length), expected, magnitude, dh, 0);
    }
}
