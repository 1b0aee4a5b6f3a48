using Dream.Kernels.Ilgpu;
using FsCheck;
using FsCheck.Fluent;
using static Dream.Tests.Ilgpu.IlgpuCheck;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// The tiled matrix multiply (f32 and bf16 weights, with and without bias) against Dream.Reference.Linear on
/// non-square shapes: one token, T &lt; In, sizes that are not multiples of the tile, In across chunk edges. A float32 dot product of In
/// terms is within γ_In·Σ|x·w| of the exact value whatever the order or FMA use (Higham, §3.1), and the bias add
/// rounds once: allowed |Δ| ≤ 2γ_In·Σ_i|x_i·w_i| + 2u·|ref|, u = 2^-24.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class LinearTests
{
    public sealed record Case(int Tokens, int In, int Out, bool Bias, bool Bf16, int Seed);

    // Sizes around the launch geometry: T around the group's token tile, In around the staged chunk, Out around
    // the group's block of 4·tile features.
    private static Arbitrary<Case> Cases =>
        (from tokens in Around(IlgpuTestDevice.Kernels.LinearTile) from inF in Around(IlgpuTestDevice.Kernels.LinearChunk)
         from outF in Around(Dream.Kernels.Ilgpu.Linear.FeaturesPerThread * IlgpuTestDevice.Kernels.LinearTile)
         from bias in Gen.Elements(false, true) from bf16 in Gen.Elements(false, true) from seed in Seed
         select new Case(tokens, inF, outF, bias, bf16, seed)).ToArbitrary();

    [IlgpuProperty(MaxTest = 25)]
    public Property LinearMatchesReference() => Prop.ForAll(Cases, c =>
    {
        var random = new Random(c.Seed);
        var kernels = IlgpuTestDevice.Kernels;
        var acc = kernels.Accelerator;
        float[] x = Values(random, c.Tokens * c.In);
        ushort[] bits = Bf16Values(random, c.Out * c.In);
        float[] weight = c.Bf16 ? Widen(bits) : Values(random, c.Out * c.In);
        float[]? bias = c.Bias ? Values(random, c.Out) : null;
        var expected = new float[c.Tokens * c.Out];
        Dream.Reference.Linear.Forward(x, weight, bias, expected, c.Tokens, c.In, c.Out);

        using var xBuffer = Upload(acc, x);
        using var w = c.Bf16 ? DeviceWeight.FromBf16(acc, bits) : DeviceWeight.FromFloat32(acc, weight);
        using var biasBuffer = Upload(acc, bias ?? []);
        using var y = acc.Allocate1D<float>(expected.Length);
        Dream.Kernels.Ilgpu.Linear.Forward(kernels, xBuffer.View, w, bias is null ? null : biasBuffer.View, y.View, c.Tokens, c.In, c.Out);

        double gamma = Gamma(c.In);
        Close(c.ToString(), Download(acc, y.View, expected.Length), expected, idx =>
        {
            int t = idx / c.Out, o = idx % c.Out;
            double magnitude = 0;
            for (int i = 0; i < c.In; i++) magnitude += Math.Abs((double)x[t * c.In + i] * weight[o * c.In + i]);
            return 1e-30 + 2 * gamma * magnitude + 2 * U * Math.Abs(expected[idx]);
        });
    });
}
