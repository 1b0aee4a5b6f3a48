using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using ILGPU;
using ILGPU.Runtime;
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

    public sealed record Case(int Tokens, int Heads, int HeadDim, double Theta, int Seed);

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

    /// <param name="Misaligned">Write the output one element into its buffer, which rules out the four-pair kernel.</param>
    public sealed record FusedCase(int Tokens, int Heads, int KvHeads, int HeadDim, bool Misaligned, int Seed);

    private static Arbitrary<FusedCase> FusedCases =>
        (from tokens in Size(10) from heads in Size(5) from kvHeads in Size(3)
         from dh in Gen.Frequency((1, EvenSize(20)), (2, Gen.Choose(1, 5).Select(k => 8 * k)))
         from misaligned in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true))) from seed in Seed
         select new FusedCase(tokens, heads, kvHeads, dh, misaligned, seed)).ToArbitrary();

    /// <summary>
    /// The tensor-core path's pass over the fused QKV product (<c>ApplyToBf16</c>): q and k heads rotated as the
    /// reference rotates them, v heads passed through, all rounded to bf16 — through the four-pair kernel when
    /// Dh/2 is a multiple of 4 and the views are 16-byte aligned, the one-pair kernel otherwise (the case says which
    /// it expects, and the host's choice is checked). Allowed: the rotation's 4u·(sum of the two products' magnitudes)
    /// as above, then bf16's rounding, 2^-8 of the value.
    /// </summary>
    [IlgpuProperty(MaxTest = 25)]
    public Property RotationToBf16MatchesReference() => Prop.ForAll(FusedCases, c =>
    {
        var random = new Random(c.Seed);
        var acc = IlgpuTestDevice.Kernels.Accelerator;
        int half = c.HeadDim / 2, qWidth = c.Heads * c.HeadDim, kvWidth = c.KvHeads * c.HeadDim, width = qWidth + 2 * kvWidth;
        int[] positions = Enumerable.Range(0, c.Tokens).Select(_ => random.Next(4096)).ToArray();
        var (cos, sin) = Dream.Reference.RotaryEmbedding.Tables<float>(positions, c.Tokens, c.HeadDim, 1e6);
        float[] qkv = Values(random, c.Tokens * width);

        // The reference rotates [T, heads, Dh] arrays: q and k are cut out, rotated and put back; v stays.
        float[] Part(int offset, int partWidth) =>
            Enumerable.Range(0, c.Tokens * partWidth).Select(i => qkv[i / partWidth * width + offset + i % partWidth]).ToArray();
        float[] q = Part(0, qWidth), k = Part(qWidth, kvWidth);
        Dream.Reference.RotaryEmbedding.Apply(q, cos, sin, c.Tokens, c.Heads, c.HeadDim);
        Dream.Reference.RotaryEmbedding.Apply(k, cos, sin, c.Tokens, c.KvHeads, c.HeadDim);
        float[] expected = (float[])qkv.Clone();
        for (int i = 0; i < q.Length; i++) expected[i / qWidth * width + i % qWidth] = q[i];
        for (int i = 0; i < k.Length; i++) expected[i / kvWidth * width + qWidth + i % kvWidth] = k[i];

        using var qkvBuffer = Upload(acc, qkv);
        using var cosBuffer = Upload(acc, cos);
        using var sinBuffer = Upload(acc, sin);
        using var outBuffer = acc.Allocate1D<ushort>(qkv.Length + 8);
        ArrayView<ushort> output = ((ArrayView<ushort>)outBuffer.View).SubView(c.Misaligned ? 1 : 0, qkv.Length);
        bool quads = Dream.Kernels.Ilgpu.RotaryEmbedding.TakesQuads(qkvBuffer.View, cosBuffer.View, sinBuffer.View, output, c.HeadDim);
        Assert.Equal(c.HeadDim % 8 == 0 && !c.Misaligned, quads);
        Dream.Kernels.Ilgpu.RotaryEmbedding.ApplyToBf16(IlgpuTestDevice.Kernels, qkvBuffer.View, cosBuffer.View, sinBuffer.View, output,
            c.Tokens, c.Heads, c.KvHeads, c.HeadDim);
        var bits = new ushort[qkv.Length];
        acc.Synchronize();
        output.CopyToCPU(acc.DefaultStream, bits);
        Close($"{c} ({(quads ? "four pairs" : "one pair")} per thread)", Widen(bits), expected, idx =>
        {
            int column = idx % width, i = column % c.HeadDim, t = idx / width, rowBase = idx - i;
            double rounding = Math.Pow(2, -8) * Math.Abs(expected[idx]);
            if (column >= qWidth + kvWidth) return 1e-30 + rounding;   // v: only the rounding
            int j = i % half;
            double a = qkv[rowBase + j], b = qkv[rowBase + j + half];
            double cj = cos[t * half + j], sj = sin[t * half + j];
            double products = i < half ? Math.Abs(a * cj) + Math.Abs(b * sj) : Math.Abs(b * cj) + Math.Abs(a * sj);
            return 1e-30 + rounding + (1 + Math.Pow(2, -8)) * 4 * U * products;
        });
    });
}
