using Dream.Core.Numerics;
using Dream.Kernels.Ilgpu;
using FsCheck;
using FsCheck.Fluent;
using ILGPU;
using ILGPU.Runtime;
using static Dream.Tests.Ilgpu.IlgpuCheck;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// bf16 flash attention against Dream.Reference.Attention evaluated in float64 on the same bf16-exact inputs, batch
/// row by batch row: random B, T (1, below, at and past the 64-token blocks of the tensor-core kernel), H/Hkv
/// groups, head dims 128 (the tensor-core kernel on CUDA) and small even ones, q/k/v either in one fused QKV buffer
/// or in separate buffers with padded row strides, and pads anywhere (pad query rows must be exactly +0).
/// On ilgpu-cpu and OpenCL this tests the portable kernel; with DREAM_TEST_DEVICE=cuda, the Dh = 128 cases run
/// a tensor-core kernel — on an H100/H200 each case draws which: the warp-group (wgmma) kernel or, from a kernel set
/// loaded without it, the mma.sync kernel.
/// Tolerance per output element, u = 2^-24:
/// - float32 part, as in <see cref="AttentionTests"/>: a score is off by δ = 2γ'_Dh·scale·Σ|q·k| + 2u·|score|, where
///   γ' uses u for the portable kernel and 4u for the tensor cores (either kind) (their accumulation order and rounding are
///   not specified); the max and each exp(s − max) then carry 2δ, the exp itself ε_exp = 2^-21 + 4·max|score|·2^-23
///   (ex2.approx and the rounding of its scaled argument), the sum of T weights γ_T, the division or reciprocal
///   and multiply 6u: E = max|v|·(4δ + 2ε_exp + 2γ_T + 6u).
/// - the tensor-core kernel rounds P to bf16 before P·V (the denominator keeps float32 weights): at most
///   u_bf16·max|v| more, where u_bf16 = 2^-8 is bf16's unit roundoff (8 significant bits: half an ulp is 2^-8 of
///   the power of two below the value, so rounding can cost 2^-8 relative, not 2^-9).
/// - the output is rounded to bf16 (nearest even): u_bf16 of the float32 result.
/// So |Δ| ≤ u_bf16·|ref| + (1 + u_bf16)·(E + [tensor cores] u_bf16·max|v|).
/// </summary>
[Collection(IlgpuCollection.Name)]
public class FlashAttentionTests
{
    private static readonly Lazy<FlashAttention.Kernels> Flash = new(() => new FlashAttention.Kernels(IlgpuTestDevice.Kernels.Accelerator));
    private static readonly Lazy<FlashAttention.Kernels> FlashMmaSync = new(() => new FlashAttention.Kernels(IlgpuTestDevice.Kernels.Accelerator, warpGroup: false));

    /// <param name="MmaSync">Run the kernel set loaded without the warp-group kernel (the same kernels where the device has none).</param>
    public sealed record Case(int Batch, int Tokens, int KvHeads, int Group, int HeadDim, bool Fused, bool Padded, bool MmaSync, int Seed);

    /// <summary>Longest T drawn: past one 64-key block on the simulator (which is slow), several blocks on a GPU.</summary>
    private static int MaxTokens => IlgpuTestDevice.Kind == IlgpuDevice.Cpu ? 70 : 300;

    private static Arbitrary<Case> Cases =>
        (from batch in Gen.Choose(1, 2)
         from tokens in Gen.Frequency((1, Gen.Constant(1)), (1, Gen.Elements(63, 64, 65)), (3, Gen.Choose(2, MaxTokens)))
         from kvHeads in Size(2) from perKv in Size(3)
         from dh in Gen.Frequency((1, Gen.Constant(FlashAttention.TensorCoreHeadDim)), (1, EvenSize(12)))
         from fused in Gen.Elements(false, true) from padded in Gen.Elements(false, true)
         from mmaSync in Gen.Elements(false, true) from seed in Seed
         select new Case(batch, tokens, kvHeads, perKv, dh, fused, padded, mmaSync, seed)).ToArbitrary();

    [IlgpuProperty(MaxTest = 30)]
    public Property FlashAttentionMatchesReference() => Prop.ForAll(Cases, c =>
    {
        var random = new Random(c.Seed);
        var acc = IlgpuTestDevice.Kernels.Accelerator;
        int heads = c.KvHeads * c.Group, n = c.Batch * c.Tokens, dh = c.HeadDim;
        int qWidth = heads * dh, kvWidth = c.KvHeads * dh;
        // Fused: one [B·T, (H + 2Hkv)·Dh] buffer, q | k | v per row. Separate: rows padded by 8 elements.
        int qStride = c.Fused ? qWidth + 2 * kvWidth : qWidth + 8, kvStride = c.Fused ? qStride : kvWidth + 8;
        ushort[] qAll = Bf16Values(random, n * qStride), kAll = c.Fused ? qAll : Bf16Values(random, n * kvStride),
            vAll = c.Fused ? qAll : Bf16Values(random, n * kvStride);
        int kOffset = c.Fused ? qWidth : 0, vOffset = c.Fused ? qWidth + kvWidth : 0;
        int[] isReal = Enumerable.Range(0, n).Select(_ => !c.Padded || random.Next(3) != 0 ? 1 : 0).ToArray();

        // Dense copies [B·T, H, Dh] / [B·T, Hkv, Dh] for the reference and the bound.
        double[] Dense(ushort[] all, int stride, int offset, int width) =>
            Enumerable.Range(0, n * width).Select(i => (double)BFloat16.ToFloat(all[i / width * stride + offset + i % width])).ToArray();
        double[] q = Dense(qAll, qStride, 0, qWidth), k = Dense(kAll, kvStride, kOffset, kvWidth), v = Dense(vAll, kvStride, vOffset, kvWidth);

        var expected = new double[n * qWidth];
        for (int b = 0; b < c.Batch; b++)
        {
            double[] Slice(double[] a, int width) => a.AsSpan(b * c.Tokens * width, c.Tokens * width).ToArray();
            var output = new double[c.Tokens * qWidth];
            bool[]? real = c.Padded ? isReal.Skip(b * c.Tokens).Take(c.Tokens).Select(r => r != 0).ToArray() : null;
            Dream.Reference.Attention.Forward(Slice(q, qWidth), Slice(k, kvWidth), Slice(v, kvWidth), real, output, c.Tokens, heads, c.KvHeads, dh);
            output.CopyTo(expected, b * c.Tokens * qWidth);
        }

        using var qBuffer = Upload(acc, qAll);
        using var kBuffer = c.Fused ? null : Upload(acc, kAll);
        using var vBuffer = c.Fused ? null : Upload(acc, vAll);
        using var realBuffer = Upload(acc, isReal);
        using var outBuffer = acc.Allocate1D<ushort>(n * qWidth);
        ArrayView<ushort> qView = qBuffer.View;
        ArrayView<ushort> kView = c.Fused ? qView.SubView(kOffset, qView.Length - kOffset) : kBuffer!.View;
        ArrayView<ushort> vView = c.Fused ? qView.SubView(vOffset, qView.Length - vOffset) : vBuffer!.View;
        var kernels = c.MmaSync ? FlashMmaSync.Value : Flash.Value;
        bool tensorCores = FlashAttention.UsesTensorCores(kernels, qView, kView, vView, qStride, kvStride, dh);
        FlashAttention.Forward(kernels, qView, kView, vView, qStride, kvStride, realBuffer.View, outBuffer.View,
            c.Batch, c.Tokens, heads, c.KvHeads, dh);
        var bits = new ushort[n * qWidth];
        acc.Synchronize();
        ((ArrayView<ushort>)outBuffer.View).CopyToCPU(acc.DefaultStream, bits);
        float[] actual = Widen(bits);

        var (delta, maxScore) = ScoreErrors(q, k, c.Batch, c.Tokens, heads, c.KvHeads, dh, Gamma(dh) * (tensorCores ? 4 : 1));
        double epsExp = Math.Pow(2, -21) + 4 * maxScore * Math.Pow(2, -23);
        double maxV = v.Length == 0 ? 0 : v.Max(Math.Abs), bf16 = Math.Pow(2, -8);
        double f32 = maxV * (4 * delta + 2 * epsExp + 2 * Gamma(c.Tokens) + 6 * U) + (tensorCores ? bf16 * maxV : 0);
        string what = $"{c} ({(!tensorCores ? "portable" : kernels.HasWarpGroupKernel ? "wgmma" : "mma.sync")})";
        Close(what, actual, expected.Select(e => (float)e).ToArray(), i => 1e-30 + bf16 * Math.Abs(expected[i]) + (1 + bf16) * f32);
        for (int t = 0; t < n; t++)
            if (isReal[t] == 0)
                for (int i = 0; i < qWidth; i++)
                    Assert.True(bits[t * qWidth + i] == 0, $"{what}: pad query row {t} has bits 0x{bits[t * qWidth + i]:X4} at {i}, not +0");
    });
}
