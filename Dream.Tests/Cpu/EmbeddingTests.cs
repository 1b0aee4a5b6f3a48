using Dream.Core.Checkpoint;
using Dream.Kernels.Cpu;
using FsCheck.Xunit;

namespace Dream.Tests.Cpu;

public class EmbeddingTests
{
    /// <summary>A row gather with exact widening from bf16/f16/f32: bit-identical (atol 0, rtol 0).</summary>
    [Property(MaxTest = 50, Arbitrary = [typeof(RowsArbitrary)])]
    public unsafe void MatchesReference(RowsCase c)
    {
        var random = new Random(c.Seed);
        int vocab = 1 + random.Next(50);
        var dtype = (TensorDType)new[] { TensorDType.F32, TensorDType.BF16, TensorDType.F16 }[random.Next(3)];
        float[] table = CpuCheck.Values(random, vocab * c.Dim, c.Scale);
        byte[] stored = CpuCheck.Store(table, dtype);
        int[] ids = Enumerable.Range(0, c.Tokens).Select(_ => random.Next(vocab)).ToArray();
        var expected = new float[c.Tokens * c.Dim];
        Dream.Reference.Embedding.Forward(table, ids, expected, c.Tokens, c.Dim);
        var actual = new float[c.Tokens * c.Dim];
        fixed (byte* p = stored)
            Dream.Kernels.Cpu.Embedding.Forward(new WeightMatrix((nint)p, dtype, vocab, c.Dim, c.Dim), ids, actual, c.Tokens, c.Dim);
        CpuCheck.Close(actual, expected, 0, 0, $"Embedding {c} {dtype}");
    }
}
