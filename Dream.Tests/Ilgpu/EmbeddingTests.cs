using Dream.Kernels.Ilgpu;
using FsCheck;
using FsCheck.Fluent;
using static Dream.Tests.Ilgpu.IlgpuCheck;

namespace Dream.Tests.Ilgpu;

/// <summary>The gather kernels (f32 and bf16 tables) against Dream.Reference.Embedding: a copy, so bit-exact.</summary>
[Collection(IlgpuCollection.Name)]
public class EmbeddingTests
{
    public sealed record Case(int Vocab, int Tokens, int Dim, bool Bf16, int Seed);

    private static Arbitrary<Case> Cases =>
        (from vocab in Size(40) from tokens in Size(20) from dim in Size(70) from bf16 in Gen.Elements(false, true) from seed in Seed
         select new Case(vocab, tokens, dim, bf16, seed)).ToArbitrary();

    [IlgpuProperty(MaxTest = 25)]
    public Property EmbeddingMatchesReference() => Prop.ForAll(Cases, c =>
    {
        var random = new Random(c.Seed);
        var acc = IlgpuTestDevice.Kernels.Accelerator;
        ushort[] bits = Bf16Values(random, c.Vocab * c.Dim);
        float[] table = c.Bf16 ? Widen(bits) : Values(random, c.Vocab * c.Dim);
        int[] ids = Enumerable.Range(0, c.Tokens).Select(_ => random.Next(c.Vocab)).ToArray();
        var expected = new float[c.Tokens * c.Dim];
        Dream.Reference.Embedding.Forward(table, ids, expected, c.Tokens, c.Dim);

        using var weight = c.Bf16 ? DeviceWeight.FromBf16(acc, bits) : DeviceWeight.FromFloat32(acc, table);
        using var idsBuffer = Upload(acc, ids);
        using var output = acc.Allocate1D<float>(expected.Length);
        Dream.Kernels.Ilgpu.Embedding.Forward(IlgpuTestDevice.Kernels, weight, idsBuffer.View, output.View, c.Tokens, c.Dim);
        Exact(c.ToString(), Download(acc, output.View, expected.Length), expected);
    });
}
