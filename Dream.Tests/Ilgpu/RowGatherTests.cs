using Dream.Kernels.Ilgpu;
using FsCheck;
using FsCheck.Fluent;
using static Dream.Tests.Ilgpu.IlgpuCheck;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// The row gather against the reference model's row selection (Array.Copy of each requested row, in request
/// order, repeats allowed): a copy, so bit-exact.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class RowGatherTests
{
    public sealed record Case(int Total, int Rows, int Dim, int Seed);

    private static Arbitrary<Case> Cases =>
        (from total in Size(30) from rows in Size(12) from dim in Size(70) from seed in Seed
         select new Case(total, rows, dim, seed)).ToArbitrary();

    [IlgpuProperty(MaxTest = 25)]
    public Property RowGatherMatchesReference() => Prop.ForAll(Cases, c =>
    {
        var random = new Random(c.Seed);
        var acc = IlgpuTestDevice.Kernels.Accelerator;
        float[] h = Values(random, c.Total * c.Dim);
        int[] rows = Enumerable.Range(0, c.Rows).Select(_ => random.Next(c.Total)).ToArray();
        var expected = new float[c.Rows * c.Dim];
        for (int r = 0; r < rows.Length; r++) Array.Copy(h, rows[r] * c.Dim, expected, r * c.Dim, c.Dim);

        using var hBuffer = Upload(acc, h);
        using var rowsBuffer = Upload(acc, rows);
        using var output = acc.Allocate1D<float>(expected.Length);
        RowGather.Forward(IlgpuTestDevice.Kernels, hBuffer.View, rowsBuffer.View, output.View, c.Rows, c.Dim);
        Exact(c.ToString(), Download(acc, output.View, expected.Length), expected);
    });
}
