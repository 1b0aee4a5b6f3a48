using FsCheck;
using FsCheck.Fluent;
using static Dream.Tests.Ilgpu.IlgpuCheck;

namespace Dream.Tests.Ilgpu;

/// <summary>The residual add against Dream.Reference.ResidualAdd: one correctly rounded IEEE addition, so bit-exact.</summary>
[Collection(IlgpuCollection.Name)]
public class ResidualAddTests
{
    public sealed record Case(int Count, int Seed);

    private static Arbitrary<Case> Cases => (from count in Size(300) from seed in Seed select new Case(count, seed)).ToArbitrary();

    [IlgpuProperty(MaxTest = 25)]
    public Property ResidualAddMatchesReference() => Prop.ForAll(Cases, c =>
    {
        var random = new Random(c.Seed);
        var acc = IlgpuTestDevice.Kernels.Accelerator;
        float[] h = Values(random, c.Count), delta = Values(random, c.Count);
        float[] expected = (float[])h.Clone();
        Dream.Reference.ResidualAdd.Forward(expected, delta, c.Count);

        using var hBuffer = Upload(acc, h);
        using var deltaBuffer = Upload(acc, delta);
        Dream.Kernels.Ilgpu.ResidualAdd.Forward(IlgpuTestDevice.Kernels, hBuffer.View, deltaBuffer.View, c.Count);
        Exact(c.ToString(), Download(acc, hBuffer.View, c.Count), expected);
    });
}
