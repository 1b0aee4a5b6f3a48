using System.Diagnostics;
using Dream.Core.Numerics;
using Dream.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Bench;

/// <summary>
/// `attention [--device cuda|opencl|ilgpu-cpu] [--quick] [--lens T,T,...] [--no-check]`: checks <see cref="FlashAttention"/> on the device, then
/// times it at Dream 7B's attention shape (B = 1, H = 28, Hkv = 4, Dh = 128) for T = 256, 512, 1024, 2048.
/// Check: random bf16 cases (pads, T around the 64-token blocks, GQA groups, a 7B-shaped case with pads) against
/// Dream.Reference.Attention in float64, and at T = 1024 and 2048 the tensor-core kernel against the portable one;
/// on an H100/H200 both tensor-core kernels (wgmma and mma.sync) are checked and timed.
/// A case passes when max |Δ| ≤ 2^-8·|ref| + 2^-7·max|v| elementwise: bf16 output rounding (unit roundoff 2^-8),
/// P rounded to bf16 (2^-8·max|v|) and as much again for float32, exp and tensor-core accumulation, which are
/// ~1e-5 in practice. Pad query rows must be exactly +0. Exit code 1 when any case fails.
/// `--quick` shrinks everything to shapes the ILGPU CPU simulator runs in seconds; `--lens` picks the timed token
/// counts and `--no-check` skips the checks (for a profiler: the first launches are then the timed shape's).
/// </summary>
public static class AttentionBench
{
    private sealed record Shape(int Batch, int Tokens, int Heads, int KvHeads, int HeadDim, bool Padded);

    public static int Run(string[] args)
    {
        string kind = IlgpuDevice.Cuda;
        bool quick = false, check = true;
        int[]? lens = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--device" when i + 1 < args.Length: kind = args[++i]; break;
                case "--quick": quick = true; break;
                case "--no-check": check = false; break;
                case "--lens" when i + 1 < args.Length:
                    lens = args[++i].Split(',').Select(x => int.TryParse(x, out int n) && n > 0 ? n
                        : throw new ArgumentException($"attention: --lens takes positive token counts separated by commas; got '{args[i]}'")).ToArray();
                    break;
                default: throw new ArgumentException($"attention: unknown option '{args[i]}'");
            }
        }

        // ptxas reports PTX errors through Trace only.
        Trace.Listeners.Add(new ConsoleTraceListener(useErrorStream: true));
        using var device = IlgpuDevice.Create(kind);
        var kernels = new FlashAttention.Kernels(device.Accelerator);
        Console.WriteLine($"device: {device.Kind}, {device.Name}; tensor-core kernel {(kernels.HasWarpGroupKernel ? "loaded (wgmma, and mma.sync for comparison)" : kernels.HasTensorCoreKernel ? "loaded (mma.sync)" : "not available (portable kernel only)")}");
        // On an H100/H200 the mma.sync kernel runs beside the warp-group kernel: checked on six of the Dh = 128
        // shapes against the reference and timed in the same table.
        var mmaSync = kernels.HasWarpGroupKernel ? new FlashAttention.Kernels(device.Accelerator, warpGroup: false) : null;

        bool ok = true;
        var random = new Random(20240607);
        Console.WriteLine();
        Console.WriteLine("| case | B | T | H | Hkv | Dh | pads | kernel | against | max abs error | allowed at the closest element | result |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        int number = 0;
        if (check)
            foreach (var shape in CheckShapes(random, quick))
                ok &= Check(device.Accelerator, kernels, shape, random, ++number, againstPortable: false);
        if (kernels.HasTensorCoreKernel && !quick && check)
            foreach (int tokens in new[] { 1024, 2048 })
                ok &= Check(device.Accelerator, kernels, new Shape(1, tokens, 28, 4, 128, true), random, ++number, againstPortable: true);
        if (mmaSync is not null && check)
            foreach (var shape in CheckShapes(random, quick).Where(s => s.HeadDim == 128).Take(6))
                ok &= Check(device.Accelerator, mmaSync, shape, random, ++number, againstPortable: false);

        Console.WriteLine();
        Console.WriteLine("| T | B | H | Hkv | Dh | kernel | ms | TFLOP/s (4·T²·H·Dh) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (int tokens in lens ?? (quick ? [64, 128] : [256, 512, 1024, 2048]))
        {
            var shape = new Shape(1, tokens, quick ? 4 : 28, quick ? 1 : 4, 128, false);
            Time(device.Accelerator, kernels, shape, random);
            if (mmaSync is not null) Time(device.Accelerator, mmaSync, shape, random);
        }

        Console.WriteLine();
        Console.WriteLine(ok ? "attention check: PASS" : "attention check: FAIL");
        return ok ? 0 : 1;
    }

    /// <summary>About 20 shapes: edges of the 64-token blocks, GQA groups 1..7, one token, small head dims (portable kernel), and the 7B shape with pads.</summary>
    private static IEnumerable<Shape> CheckShapes(Random random, bool quick)
    {
        int[] tokens = quick ? [1, 5, 63, 64, 65] : [1, 7, 63, 64, 65, 127, 129, 200, 257, 300];
        (int H, int Hkv)[] heads = quick ? [(2, 1), (4, 2), (3, 3)] : [(28, 4), (4, 4), (8, 2), (6, 1), (7, 1)];
        int cases = quick ? 6 : 18;
        for (int i = 0; i < cases; i++)
        {
            var (h, hkv) = heads[random.Next(heads.Length)];
            int dh = i % 6 == 5 ? 2 * random.Next(1, 40) : 128;
            yield return new Shape(random.Next(1, 3), tokens[random.Next(tokens.Length)], h, hkv, dh, random.Next(3) != 0);
        }
        yield return quick ? new Shape(1, 70, 4, 1, 128, true) : new Shape(1, 512, 28, 4, 128, true);
        yield return quick ? new Shape(2, 33, 4, 2, 128, true) : new Shape(2, 512, 28, 4, 128, true);
    }

    private static bool Check(Accelerator acc, FlashAttention.Kernels kernels, Shape s, Random random, int number, bool againstPortable)
    {
        int n = s.Batch * s.Tokens, qWidth = s.Heads * s.HeadDim, kvWidth = s.KvHeads * s.HeadDim;
        ushort[] q = Bf16(random, n * qWidth), k = Bf16(random, n * kvWidth), v = Bf16(random, n * kvWidth);
        int[] isReal = PadMask(random, s);

        using var qBuffer = Upload(acc, q);
        using var kBuffer = Upload(acc, k);
        using var vBuffer = Upload(acc, v);
        using var realBuffer = Upload(acc, isReal);
        using var outBuffer = acc.Allocate1D<ushort>(n * qWidth);
        bool tensorCores = FlashAttention.UsesTensorCores(kernels, qBuffer.View, kBuffer.View, vBuffer.View, qWidth, kvWidth, s.HeadDim);
        FlashAttention.Forward(kernels, qBuffer.View, kBuffer.View, vBuffer.View, qWidth, kvWidth, realBuffer.View, outBuffer.View,
            s.Batch, s.Tokens, s.Heads, s.KvHeads, s.HeadDim);
        float[] actual = Download(acc, outBuffer.View);

        double[] expected;
        if (againstPortable)
        {
            FlashAttention.ForwardPortable(kernels, qBuffer.View, kBuffer.View, vBuffer.View, qWidth, kvWidth, realBuffer.View, outBuffer.View,
                s.Batch, s.Tokens, s.Heads, s.KvHeads, s.HeadDim);
            expected = Download(acc, outBuffer.View).Select(x => (double)x).ToArray();
        }
        else
            expected = Reference(q, k, v, isReal, s);

        double maxV = v.Length == 0 ? 0 : v.Max(b => Math.Abs(BFloat16.ToFloat(b)));
        double worst = 0, allowedAtWorst = 0, worstExcess = double.NegativeInfinity;
        bool padRowsZero = true;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(actual[i] - expected[i]);
            if (double.IsNaN(actual[i])) diff = double.PositiveInfinity;
            double allowed = Math.Pow(2, -8) * Math.Abs(expected[i]) * (againstPortable ? 2 : 1) + Math.Pow(2, -7) * maxV;
            if (diff > worst) worst = diff;
            if (diff - allowed > worstExcess) (worstExcess, allowedAtWorst) = (diff - allowed, allowed);
            if (isReal[i / qWidth] == 0 && BitConverter.SingleToInt32Bits(actual[i]) != 0) padRowsZero = false;
        }
        bool pass = worstExcess <= 0 && padRowsZero;
        Console.WriteLine($"| {number} | {s.Batch} | {s.Tokens} | {s.Heads} | {s.KvHeads} | {s.HeadDim} | {isReal.Count(r => r == 0)} | " +
                          $"{KernelName(kernels, tensorCores)} | {(againstPortable ? "portable kernel" : "reference (f64)")} | {worst:E2} | {allowedAtWorst:E2} | " +
                          $"{(pass ? "PASS" : padRowsZero ? "FAIL" : "FAIL (pad row not +0)")} |");
        return pass;
    }

    private static void Time(Accelerator acc, FlashAttention.Kernels kernels, Shape s, Random random)
    {
        int n = s.Batch * s.Tokens, qWidth = s.Heads * s.HeadDim, kvWidth = s.KvHeads * s.HeadDim;
        using var qBuffer = Upload(acc, Bf16(random, n * qWidth));
        using var kBuffer = Upload(acc, Bf16(random, n * kvWidth));
        using var vBuffer = Upload(acc, Bf16(random, n * kvWidth));
        using var realBuffer = Upload(acc, Enumerable.Repeat(1, n).ToArray());
        using var outBuffer = acc.Allocate1D<ushort>(n * qWidth);
        bool tensorCores = FlashAttention.UsesTensorCores(kernels, qBuffer.View, kBuffer.View, vBuffer.View, qWidth, kvWidth, s.HeadDim);
        void Launch() => FlashAttention.Forward(kernels, qBuffer.View, kBuffer.View, vBuffer.View, qWidth, kvWidth, realBuffer.View, outBuffer.View,
            s.Batch, s.Tokens, s.Heads, s.KvHeads, s.HeadDim);

        for (int i = 0; i < 3; i++) Launch();
        acc.Synchronize();
        int iterations = 1;
        double seconds;
        while (true)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < iterations; i++) Launch();
            acc.Synchronize();
            seconds = clock.Elapsed.TotalSeconds;
            if (seconds > 0.2 || iterations >= 1 << 14) break;
            iterations *= 4;
        }
        double ms = seconds / iterations * 1e3;
        double flops = 4.0 * s.Batch * s.Tokens * s.Tokens * s.Heads * s.HeadDim;
        Console.WriteLine($"| {s.Tokens} | {s.Batch} | {s.Heads} | {s.KvHeads} | {s.HeadDim} | {KernelName(kernels, tensorCores)} | {ms:F3} | {flops / (ms * 1e-3) / 1e12:F1} |");
    }

    private static string KernelName(FlashAttention.Kernels kernels, bool tensorCores) =>
        !tensorCores ? "portable" : kernels.HasWarpGroupKernel ? "wgmma" : "mma.sync";

    /// <summary>Pads: none, or a left-padded prefix (as a batch of prompts is padded) plus a few scattered pads; now and then a fully padded batch row.</summary>
    private static int[] PadMask(Random random, Shape s)
    {
        var isReal = Enumerable.Repeat(1, s.Batch * s.Tokens).ToArray();
        if (!s.Padded) return isReal;
        for (int b = 0; b < s.Batch; b++)
        {
            bool allPad = s.Batch > 1 && b == 1 && random.Next(4) == 0;
            int prefix = allPad ? s.Tokens : random.Next(0, Math.Max(1, s.Tokens / 4));
            for (int t = 0; t < s.Tokens; t++)
                if (t < prefix || random.Next(16) == 0) isReal[b * s.Tokens + t] = 0;
        }
        return isReal;
    }

    private static double[] Reference(ushort[] q, ushort[] k, ushort[] v, int[] isReal, Shape s)
    {
        int qWidth = s.Heads * s.HeadDim, kvWidth = s.KvHeads * s.HeadDim;
        var expected = new double[s.Batch * s.Tokens * qWidth];
        for (int b = 0; b < s.Batch; b++)
        {
            double[] Slice(ushort[] a, int width) => a.Skip(b * s.Tokens * width).Take(s.Tokens * width).Select(x => (double)BFloat16.ToFloat(x)).ToArray();
            var output = new double[s.Tokens * qWidth];
            bool[] real = isReal.Skip(b * s.Tokens).Take(s.Tokens).Select(r => r != 0).ToArray();
            Dream.Reference.Attention.Forward(Slice(q, qWidth), Slice(k, kvWidth), Slice(v, kvWidth), real, output, s.Tokens, s.Heads, s.KvHeads, s.HeadDim);
            output.CopyTo(expected, b * s.Tokens * qWidth);
        }
        return expected;
    }

    private static ushort[] Bf16(Random random, int count)
    {
        var bits = new ushort[count];
        for (int i = 0; i < count; i++) bits[i] = BFloat16.FromFloat((float)(random.NextDouble() * 4 - 2));
        return bits;
    }

    private static MemoryBuffer1D<T, Stride1D.Dense> Upload<T>(Accelerator acc, T[] values) where T : unmanaged
    {
        var buffer = acc.Allocate1D<T>(Math.Max(values.Length, 1));
        if (values.Length > 0) buffer.View.SubView(0, values.Length).CopyFromCPU(acc.DefaultStream, values);
        return buffer;
    }

    private static float[] Download(Accelerator acc, ArrayView1D<ushort, Stride1D.Dense> view)
    {
        var bits = new ushort[view.Length];
        acc.Synchronize();
        view.CopyToCPU(acc.DefaultStream, bits);
        return bits.Select(BFloat16.ToFloat).ToArray();
    }
}
