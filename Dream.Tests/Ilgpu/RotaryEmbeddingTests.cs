using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static Dream.Tests.Ilgpu.IlgpuCheck;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// RoPE. The host tables are the reference's tables bit for bit (positions up to 32767, both thetas in use).
/// The rotation against Dream.Reference.RotaryEmbedding.Apply: each output is a·c − b·s (first half) or b·c + a·s
/// (second half) — two products and one add, each rounding once (or fused on a GPU): allowed |Δ| ≤ 4u·(sum of the
/// two products' magnitudes), u = 2^-24.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class RotaryEmbeddingTests
{
    public sealed record TableCase(int Tokens, int HeadDim, double Theta, int Seed);

    public sealed record Case(int Tokens, int Heads, int HeadDim, double Theta, int Seed);

    [Property(MaxTest = 50)]
    public Property TablesMatchReferenceBitForBit() => Prop.ForAll(
        (from tokens in Size(20) from dh in EvenSize(64) from theta in Gen.Elements(1e4, 1e6) from seed in Seed
         select new TableCase(tokens, dh, theta, seed)).ToArbitrary(), c =>
    {
        var random = new Random(c.Seed);
        int[] positions = Enumerable.Range(0, c.Tokens).Select(_ => random.Next(32768)).ToArray();
        var (cos, sin) = Dream.Reference.RotaryEmbedding.Tables<float>(positions, c.Tokens, c.HeadDim, c.Theta);
        var myCos = new float[cos.Length];
        var mySin = new float[sin.Length];
        Dream.Kernels.Ilgpu.RotaryEmbedding.Tables(positions, c.HeadDim, c.Theta, myCos, mySin);
        Exact(c + " cos", myCos, cos);
        Exact(c + " sin", mySin, sin);
    });

    private static Arbitrary<Case> Cases =>
        (from tokens in Size(10) from heads in Size(5) from dh in EvenSize(20) from theta in Gen.Elements(1e4, 1e6) from seed in Seed
         select new Case(tokens, heads, dh, theta, seed)).ToArbitrary();

    [IlgpuProperty(MaxTest = 25)]
    public Property RotationMatchesReference() => Prop.ForAll(Cases, c =>
    {
        var random = new Random(c.Seed);
        var acc = IlgpuTestDevice.Kernels.Accelerator;
        int half = c.HeadDim / 2;
        int[] positions = Enumerable.Range(0, c.Tokens).Select(_ => random.Next(4096)).ToArray();
        var (cos, sin) = Dream.Reference.RotaryEmbedding.Tables<float>(positions, c.Tokens, c.HeadDim, c.Theta);
        float[] x = Values(random, c.Tokens * c.Heads * c.HeadDim);
        float[] expected = (float[])x.Clone();
        Dream.Reference.RotaryEmbedding.Apply(expected, cos, sin, c.Tokens, c.Heads, c.HeadDim);

        using var xBuffer = Upload(acc, x);
        using var cosBuffer = Upload(acc, cos);
        using var sinBuffer = Upload(acc, sin);
        Dream.Kernels.Ilgpu.RotaryEmbedding.Apply(IlgpuTestDevice.Kernels, xBuffer.View, cosBuffer.View, sinBuffer.View, c.Tokens, c.Heads, c.HeadDim);
        Close(c.ToString(), Download(acc, xBuffer.View, x.Length), expected, idx =>
        {
            int i = idx % c.HeadDim, rowBase = idx - i, t = idx / (c.Heads * c.HeadDim);
            int j = i % half;
            double a = x[rowBase + j], b = x[rowBase + j + half];
            double cj = cos[t * half + j], sj = sin[t * half + j];
            // First half: a·c − b·s; second half: b·c + a·s.
            double products = i < half ? Math.Abs(a * cj) + Math.Abs(b * sj) : Math.Abs(b * cj) + Math.Abs(a * sj);
            return 1e-30 + 4 * U * products;
        });
    });
}
