using FsCheck;
using FsCheck.Fluent;
using static Dream.Tests.Ilgpu.IlgpuCheck;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// SwiGLU against Dream.Reference.SwiGlu. Tolerance: relative 4e-6 (≈ 64 ulp) — a GPU exp may be off by a few
/// ulp plus the argument's own rounding amplified by |gate| ≤ 8 (e^(x(1+u)) = e^x·(1 + x·u)), then one add, one
/// divide and one multiply each round once. Gates span [−8, 8], so both tails of the sigmoid are exercised.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class SwiGluTests
{
    public sealed record Case(int Count, int Seed);

    private static Arbitrary<Case> Cases => (from count in Size(300) from seed in Seed select new Case(count, seed)).ToArbitrary();

    [IlgpuProperty(MaxTest = 25)]
    public Property SwiGluMatchesReference() => Prop.ForAll(Cases, c =>
    {
        var random = new Random(c.Seed);
        var acc = IlgpuTestDevice.Kernels.Accelerator;
        float[] gate = Values(random, c.Count, 8f), up = Values(random, c.Count);
        var expected = new float[c.Count];
        Dream.Reference.SwiGlu.Forward(gate, up, expected, c.Count);

        using var gateBuffer = Upload(acc, gate);
        using var upBuffer = Upload(acc, up);
        using var output = acc.Allocate1D<float>(Math.Max(c.Count, 1));
        Dream.Kernels.Ilgpu.SwiGlu.Forward(IlgpuTestDevice.Kernels, gateBuffer.View, upBuffer.View, output.View, c.Count);
        Close(c.ToString(), Download(acc, output.View, c.Count), expected, i => 1e-30 + 4e-6 * Math.Abs(expected[i]));
    });
}
