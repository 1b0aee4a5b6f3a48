using FsCheck;
using FsCheck.Fluent;

namespace Dream.Tests.Cpu;

/// <summary>Rows of activations for the row-wise and element-wise ops: T rows of D values at a magnitude scale.</summary>
public sealed record RowsCase(int Tokens, int Dim, float Scale, int Seed);

public static class RowsArbitrary
{
    public static Arbitrary<RowsCase> Case() => CpuCheck.Arbitrary(
        from t in LinearArbitrary.Size(12, 1)
        from d in LinearArbitrary.Size(600, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 128, 384)
        from scale in Gen.Elements(1e-3f, 1f, 30f)
        from seed in Gen.Choose(0, int.MaxValue)
        select new RowsCase(t, d, scale, seed),
        c => CpuCheck.ShrinkSize(c.Tokens).Select(v => c with { Tokens = v })
            .Concat(CpuCheck.ShrinkSize(c.Dim).Select(v => c with { Dim = v })));
}
