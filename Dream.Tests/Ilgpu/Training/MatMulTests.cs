using Dream.Kernels.Ilgpu.Training;
using FsCheck;
using FsCheck.Fluent;
using static Dream.Tests.Ilgpu.IlgpuCheck;
using static Dream.Tests.Ilgpu.Training.TrainingCheck;

namespace Dream.Tests.Ilgpu.Training;

/// <summary>
/// The trainer's strided MatMul against the textbook product in float64, for every way the trainer uses it: the
/// three Linear products (y = x·Wᵀ + b, dx = dy·W, dW = dyᵀ·x with and without split-K) on sizes around the block
/// (4G) and the K chunk (16). Each C element is a K-term float32 dot product, plus the bias and the old C:
/// |Δ| ≤ 2·γ_{K+2}·(Σ_k|a·b| + |b| + |c|) + 4u|ref|.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class MatMulTests
{
    public sealed record Case(int Rows, int In, int Out, bool Bias, bool Accumulate, int Slices, int Seed);

    private static Arbitrary<Case> Cases
    {
        get
        {
            int block = 4 * TrainKernels.MatMulTile;
            return (from rows in Around(block) from inF in Around(MatMul.ChunkK) from outF in Around(block)
                    from bias in Gen.Elements(true, false) from acc in Gen.Elements(true, false) from slices in Gen.Choose(1, 4) from seed in Seed
                    select new Case(rows, inF, outF, bias, acc, slices, seed)).ToArbitrary();
        }
    }

    [IlgpuProperty(MaxTest = 20)]
    public Property LinearProductsMatchTheTextbook() => Prop.ForAll(Cases, c =>
    {
        var random = new Random(c.Seed);
        int n = c.Rows, i = c.In, o = c.Out;
        float[] x = Values(random, n * i), w = Values(random, o * i), b = Values(random, o), dy = Values(random, n * o);
        float[] y0 = Values(random, n * o), dx0 = Values(random, n * i), dw0 = Values(random, o * i), db0 = Values(random, o);

        using var xb = Upload(Acc, x); using var wb = Upload(Acc, w); using var bb = Upload(Acc, b); using var dyb = Upload(Acc, dy);
        using var yb = Upload(Acc, y0); using var dxb = Upload(Acc, dx0); using var dwb = Upload(Acc, dw0); using var dbb = Upload(Acc, db0);
        Linear.Forward(TrainKernels, xb.View, wb.View, c.Bias ? bb.View.SubView(0, o) : default, yb.View, n, i, o, c.Accumulate);
        Linear.BackwardInput(TrainKernels, dyb.View, wb.View, dxb.View, n, i, o, c.Accumulate);
        Linear.BackwardWeight(TrainKernels, xb.View, dyb.View, dwb.View, dbb.View.SubView(0, o), n, i, o, c.Slices);

        var oracle = LinearOracle.Of(x, w, c.Bias ? b : null, dy, y0, dx0, dw0, n, i, o, c.Accumulate);
        var db = new double[o]; var dbMag = new double[o];
        for (int f = 0; f < o; f++)
        {
            double bs = 0, bm = 0;
            for (int t = 0; t < n; t++) { bs += dy[t * o + f]; bm += Math.Abs(dy[t * o + f]); }
            db[f] = db0[f] + bs;
            dbMag[f] = Math.Abs(db0[f]) + bm;
        }
        Near($"y {c}", Run(yb, n * o), oracle.Y, j => oracle.YMagnitude[j], i + 2);
        Near($"dx {c}", Run(dxb, n * i), oracle.Dx, j => oracle.DxMagnitude[j], o + 2);
        Near($"dW {c}", Run(dwb, o * i), oracle.DW, j => oracle.DWMagnitude[j], n + c.Slices + 2);
        Near($"db {c}", Run(dbb, o), db, j => dbMag[j], n + 2);
    });
}
