using ILGPU.Runtime;
using FsCheck;
using FsCheck.Fluent;
using static Dream.Tests.Ilgpu.IlgpuCheck;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// RMSNorm against Dream.Reference.RmsNorm. The kernel adds the squares in a tree, the reference in a row; each
/// sum of D non-negative terms is within γ_D relatively of the exact one, so the two means differ by at most
/// 2γ_D, the inverse root by about γ_D plus its own two roundings, and the two final products round once each:
/// allowed |Δ| ≤ (2γ_D + 8u)·|ref|, u = 2^-24.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class RmsNormTests
{
    public sealed record Case(int Tokens, int Dim, float Eps, int Seed);

    private static Arbitrary<Case> Cases =>
        (from tokens in Size(9) from dim in Around(IlgpuTestDevice.Kernels.ReductionGroupSize) from eps in Gen.Elements(1e-6f, 1e-5f) from seed in Seed
         select new Case(tokens, dim, eps, seed)).ToArbitrary();

    [IlgpuProperty(MaxTest = 25)]
    public Property RmsNormMatchesReference() => Prop.ForAll(Cases, c => Check(c, bf16: false));

    /// <summary>
    /// The bf16-writing variant (the tensor-core path's; on CUDA the vectorised kernel when D is a multiple of 4):
    /// the same f32 value, rounded once to the nearest bf16 (half an ulp: at most 2^-8 relative, bf16 keeping 8
    /// significant bits).
    /// </summary>
    [IlgpuProperty(MaxTest = 25)]
    public Property RmsNormToBf16MatchesReference() => Prop.ForAll(Cases, c => Check(c, bf16: true));

    private static void Check(Case c, bool bf16)
    {
        var random = new Random(c.Seed);
        var kernels = IlgpuTestDevice.Kernels;
        var acc = kernels.Accelerator;
        float[] x = Values(random, c.Tokens * c.Dim), weight = Values(random, c.Dim);
        var expected = new float[x.Length];
        Dream.Reference.RmsNorm.Forward(x, weight, c.Eps, expected, c.Tokens, c.Dim);

        using var xBuffer = Upload(acc, x);
        using var weightBuffer = Upload(acc, weight);
        float[] actual;
        if (bf16)
        {
            using var y = acc.Allocate1D<ushort>(x.Length);
            Dream.Kernels.Ilgpu.RmsNorm.ForwardToBf16(kernels, xBuffer.View, weightBuffer.View, c.Eps, y.View, c.Tokens, c.Dim);
            var bits = new ushort[x.Length];
            y.View.CopyToCPU(acc.DefaultStream, bits);
            acc.Synchronize();
            actual = bits.Select(Dream.Core.Numerics.BFloat16.ToFloat).ToArray();
        }
        else
        {
            using var y = acc.Allocate1D<float>(x.Length);
            Dream.Kernels.Ilgpu.RmsNorm.Forward(kernels, xBuffer.View, weightBuffer.View, c.Eps, y.View, c.Tokens, c.Dim);
            actual = Download(acc, y.View, x.Length);
        }
        double rtol = 2 * Gamma(c.Dim) + 8 * U;
        double rounding = bf16 ? Math.Pow(2, -8) : 0;
        Close($"{c} bf16={bf16}", actual, expected, i => 1e-30 + (rounding * (1 + rtol) + rtol) * Math.Abs(expected[i]));
    }
}
