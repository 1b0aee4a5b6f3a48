using System.Diagnostics;
using System.Globalization;
using Dream.Core.Numerics;
using Dream.Core.Training;
using Dream.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Bench;

/// <summary>
/// `Dream.Bench gemm [--device cuda] [--lens 256,512,1024,2048] [--reps N] [--shapes qkv,o,...] [--kernels auto,wgmma128x256,mma,...]
/// [--walk on|off|both] [--distribution normal|uniform] [--quick]`: the tensor-core linear layer
/// (<see cref="TensorCoreLinear"/>) at Dream 7B's shapes — fused QKV (T × 3584 → 4608), O (3584 → 3584), fused
/// gate+up with the SwiGLU epilogue (3584 → 2·18944), down with the residual add (18944 → 3584) and lm_head over 256
/// rows (3584 → 152064) — as a table of ms and TFLOP/s (2·T·In·Out FLOPs). Before timing, one product per shape
/// is checked against float64 dot products of the same bf16 values on 64 sampled outputs; a bad result fails the
/// run. The error is scaled by Σ|x·w| (what float32 rounding is proportional to; a wrong fragment is off by about
/// Σ|x·w|/√In, ~1e-2 of it) and for SwiGLU by max(|y|, 1e-2) (bf16 output: up to 2^-8 relative); both must stay below 1e-2
/// and in practice sit at 1e-7 and 4e-3.
/// `--walk` (wgmma only): on (the default, what the model runs) launches one group per multiprocessor, each walking
/// its share of the tiles (<see cref="TileWalk"/>); off gives every tile its own group, the launch before the walk;
/// both times each wgmma row both ways, taking turns. Every row's time is the median of five rounds of --reps launches:
/// this power-limited card's clocks drift by a few percent within a second.
/// torch.matmul on the same card: Dream.Bench/torch_gemm.py prints the same table, on x ~ N(0, 1) and W ~ N(0, 1)·0.05,
/// which is what this bench draws too (`--distribution normal`, the default). On this power-limited card the values
/// move the clock — a multiply's energy depends on how many bits toggle — so the two tables compare fairly only on
/// the same distribution; `uniform` (x on [−1, 1], W on [−0.05, 0.05]) is what this bench drew until the twelfth session.
/// </summary>
public static class GemmBench
{
    private sealed record Shape(string Name, int In, int Out, LinearEpilogue Epilogue, int? FixedTokens = null);

    /// <summary>Timed rounds per row (the median is reported).</summary>
    private const int Rounds = 5;

    private static readonly Shape[] Shapes =
    [
        new("qkv", 3584, 4608, LinearEpilogue.Store),
        new("o", 3584, 3584, LinearEpilogue.AddInto),
        new("gate+up", 3584, 2 * 18944, LinearEpilogue.SwiGlu),
        new("down", 18944, 3584, LinearEpilogue.AddInto),
        new("lm_head", 3584, 152064, LinearEpilogue.Store, 256),
    ];

    public static int Run(string[] args)
    {
        string device = "cuda";
        int[] lens = [256, 512, 1024, 2048];
        int reps = 20;
        string distribution = "normal";
        bool quick = false;
        string[]? onlyShapes = null, onlyKernels = null;
        string walk = "on";
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--device": device = Next(args, ref i); break;
                case "--lens": lens = Next(args, ref i).Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--reps": reps = int.Parse(Next(args, ref i), CultureInfo.InvariantCulture); break;
                case "--quick": quick = true; break;
                case "--distribution":
                    distribution = Next(args, ref i);
                    if (distribution is not ("normal" or "uniform")) throw new ArgumentException($"gemm: --distribution takes normal or uniform, got '{distribution}'");
                    break;
                case "--shapes": onlyShapes = Next(args, ref i).Split(','); break;
                case "--kernels": onlyKernels = Next(args, ref i).Split(','); break;
                case "--walk":
                    walk = Next(args, ref i);
                    if (walk is not ("on" or "off" or "both")) throw new ArgumentException($"gemm: --walk takes on, off or both, got '{walk}'");
                    break;
                default: throw new ArgumentException($"gemm: unknown option '{args[i]}'");
            }
        }
        // DREAM_TRACE=1 shows ILGPU's trace output, where the PTX compiler's errors go.
        if (Environment.GetEnvironmentVariable("DREAM_TRACE") is { Length: > 0 }) Trace.Listeners.Add(new ConsoleTraceListener(useErrorStream: true));
        // The CPU simulator runs the portable fallback at a few MFLOP/s: shrink everything.
        int scale = quick ? 16 : 1;
        using var dev = IlgpuDevice.Create(device);
        using var kernels = new IlgpuKernels(dev.Accelerator);
        var acc = dev.Accelerator;
        bool hopper = kernels.WarpGroupLinear is not null;
        Console.WriteLine($"device: {dev.Name} ({device}); tensor cores: {(hopper ? "wgmma (sm_90a), beside mma.sync" : kernels.IsCuda ? "mma.sync" : "no (portable fallback)")}");

        var shapes = Shapes.Where(s => onlyShapes is null || onlyShapes.Contains(s.Name)).Select(s => s with { In = s.In / scale, Out = s.Out / scale, FixedTokens = s.FixedTokens / scale }).ToArray();
        int maxTokens = Math.Max(lens.Max() / scale, 1);
        long maxX = shapes.Max(s => (long)(s.FixedTokens ?? maxTokens) * s.In), maxW = shapes.Max(s => (long)s.In * s.Out);
        long maxY = shapes.Max(s => (long)(s.FixedTokens ?? maxTokens) * s.Out);
        bool normal = distribution == "normal";
        ushort[] hostX = RandomBf16(1, maxX, 1f, normal), hostW = RandomBf16(2, maxW, 0.05f, normal);
        using var x = acc.Allocate1D(hostX);
        using var w = acc.Allocate1D(hostW);
        using var bias = acc.Allocate1D<float>(shapes.Max(s => s.Out));
        bias.MemSetToZero();
        using var yF32 = acc.Allocate1D<float>(maxY);
        using var yBf16 = acc.Allocate1D<ushort>(maxY / 2 + 1);
        if (shapes.Length == 0) throw new ArgumentException($"gemm: --shapes names none of {string.Join(", ", Shapes.Select(s => s.Name))}");
        // On an H100/H200 every product runs on each kernel: what the model picks (auto), each wgmma tile, and mma.sync.
        TensorCoreKernel[] kernelChoices = hopper
            ? [TensorCoreKernel.Auto, .. WarpGroupTile.Carried.Select(TensorCoreKernel.Wgmma), TensorCoreKernel.MmaSync]
            : [TensorCoreKernel.MmaSync];
        if (onlyKernels is not null)
        {
            kernelChoices = kernelChoices.Where(p => onlyKernels.Contains(KernelName(p))).ToArray();
            if (kernelChoices.Length == 0)
                throw new ArgumentException($"gemm: --kernels names no kernel this device runs (auto, mma{(hopper ? ", " + string.Join(", ", WarpGroupTile.Carried.Select(t => KernelName(TensorCoreKernel.Wgmma(t)))) : "")})");
        }
        long workspaceLength = lens.SelectMany(len => shapes.SelectMany(s => kernelChoices.Select(wg =>
            TensorCoreLinear.WorkspaceLength(kernels, s.FixedTokens ?? Math.Max(len / scale, 1), s.In, s.Out, s.Epilogue, wg)))).Max();
        using var workspace = acc.Allocate1D<float>(Math.Max(workspaceLength, 1));
        acc.Synchronize();

        bool ok = true;
        Console.WriteLine("| shape | T | In | Out | epilogue | kernel | split-K | ms | TFLOP/s | max rel. error (sampled) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (int len in lens)
        {
            foreach (var s in shapes)
            {
                int tokens = s.FixedTokens ?? Math.Max(len / scale, 1);
                if (s.FixedTokens is not null && len != lens[0]) continue;   // lm_head rows do not depend on T
                var xs = x.View.SubView(0, (long)tokens * s.In);
                var ws = w.View.SubView(0, (long)s.In * s.Out);
                foreach (var kernel in kernelChoices)
                {
                    // The ways this row is launched: the kernel, or with --walk both the kernel with a group per tile
                    // and then walking.
                    TensorCoreKernel[] ways = kernel.ForcesMmaSync || walk == "on" ? [kernel]
                        : walk == "off" ? [kernel.WithMaxGroups(int.MaxValue)] : [kernel.WithMaxGroups(int.MaxValue), kernel];
                    void Launch(TensorCoreKernel path) =>
                        TensorCoreLinear.Forward(kernels, xs, ws, s.Epilogue == LinearEpilogue.Store ? bias.View.SubView(0, s.Out) : null, s.Epilogue,
                            yF32.View.SubView(0, (long)tokens * s.Out), yBf16.View.SubView(0, (long)tokens * s.Out / 2 + 1), tokens, s.In, s.Out, workspace.View,
                            kernel: path);
                    var errors = new double[ways.Length];
                    for (int k = 0; k < ways.Length; k++)
                    {
                        // The residual epilogue adds into y: zeroed for the checked product only. The timed launches keep
                        // adding, as the model adds into its live residual stream with no clear. A memset of T·Out floats
                        // in the timed loop (7 MB for O at 512 tokens) had O at 0.030 ms; without it 0.025 (H200, runs 58, 60).
                        if (s.Epilogue == LinearEpilogue.AddInto) yF32.View.SubView(0, (long)tokens * s.Out).MemSetToZero(kernels.Stream);
                        Launch(ways[k]);
                        acc.Synchronize();
                        errors[k] = Check(acc, s, tokens, hostX, hostW, yF32.View, yBf16.View);
                    }

                    int n = quick ? 1 : reps;
                    // As many untimed launches first: the host-side check leaves the card idle, and the first product
                    // timed after an idle spell ran at the clocks of an idle card (qkv at 320 tokens, the first row of
                    // a call, took 0.045 ms for a tile that took 0.027 ms later in the same call).
                    foreach (var way in ways) for (int r = 0; r < n; r++) Launch(way);
                    acc.Synchronize();
                    // Rounds of n launches, the ways taking turns; each way's median round. This power-limited card's
                    // clocks drift by a few percent within a second, so one batch per way compared nothing smaller.
                    var rounds = new double[ways.Length][];
                    for (int k = 0; k < ways.Length; k++) rounds[k] = new double[Rounds];
                    for (int round = 0; round < Rounds; round++)
                    {
                        for (int k = 0; k < ways.Length; k++)
                        {
                            var watch = Stopwatch.StartNew();
                            for (int r = 0; r < n; r++) Launch(ways[k]);
                            acc.Synchronize();
                            rounds[k][round] = watch.Elapsed.TotalMilliseconds / n;
                        }
                    }
                    for (int k = 0; k < ways.Length; k++)
                    {
                        var path = ways[k];
                        bool good = errors[k] < 1e-2;
                        ok &= good;
                        double ms = rounds[k].Order().ElementAt(Rounds / 2);
                        double tflops = 2.0 * tokens * s.In * s.Out / (ms * 1e-3) / 1e12;
                        string name = (path.Tile is null && !path.ForcesMmaSync
                            ? $"auto: {TensorCoreLinear.Describe(kernels, tokens, s.In, s.Out, s.Epilogue)}" : TensorCoreLinear.Describe(kernels, tokens, s.In, s.Out, s.Epilogue, path))
                            + (path.MaxGroups == int.MaxValue ? ", a group per tile" : "");
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"| {s.Name} | {tokens} | {s.In} | {s.Out} | {s.Epilogue} | {name} | {TensorCoreLinear.ChooseSplits(kernels, tokens, s.In, s.Out, s.Epilogue, path)} | {ms:F3} | {tflops:F1} | {errors[k]:E2}{(good ? "" : " FAIL")} |"));
                    }
                }
            }
        }
        Console.WriteLine(ok ? "all checks passed" : "CHECK FAILED");
        return ok ? 0 : 1;
    }

    /// <summary>Largest scaled error over 64 sampled outputs against float64 sums of the same bf16 products (see the class summary).</summary>
    private static double Check(Accelerator acc, Shape s, int tokens, ushort[] x, ushort[] w, ArrayView<float> yF32, ArrayView<ushort> yBf16)
    {
        var random = new Random(tokens * 31 + s.Out);
        double worst = 0;
        bool swiGlu = s.Epilogue == LinearEpilogue.SwiGlu;
        int width = swiGlu ? s.Out / 2 : s.Out;
        var one = new float[1];
        var oneBits = new ushort[1];
        for (int k = 0; k < 64; k++)
        {
            int t = random.Next(tokens), o = random.Next(width);
            double expected, actual;
            if (swiGlu)
            {
                int gateRow = (o >> 3 << 4) + (o & 7);
                double g = Dot(x, w, t, gateRow, s.In), u = Dot(x, w, t, gateRow + 8, s.In);
                expected = g / (1 + Math.Exp(-g)) * u;
                yBf16.SubView((long)t * width + o, 1).CopyToCPU(oneBits);
                actual = BFloat16.ToFloat(oneBits[0]);
            }
            else
            {
                expected = Dot(x, w, t, o, s.In);
                yF32.SubView((long)t * s.Out + o, 1).CopyToCPU(one);
                actual = one[0];
                worst = Math.Max(worst, Math.Abs(actual - expected) / MagnitudeOfDot(x, w, t, o, s.In));
                continue;
            }
            worst = Math.Max(worst, Math.Abs(actual - expected) / Math.Max(Math.Abs(expected), 1e-2));
        }
        return worst;
    }

    private static double Dot(ushort[] x, ushort[] w, int t, int o, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double)BFloat16.ToFloat(x[(long)t * n + i]) * BFloat16.ToFloat(w[(long)o * n + i]);
        return sum;
    }

    private static double MagnitudeOfDot(ushort[] x, ushort[] w, int t, int o, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.Abs((double)BFloat16.ToFloat(x[(long)t * n + i]) * BFloat16.ToFloat(w[(long)o * n + i]));
        return sum;
    }

    /// <summary>
    /// count bf16 values: scale · N(0, 1) (<see cref="TrainingRandom.NextNormal"/>, as torch.randn) or uniform on
    /// [−scale, scale]; in parallel blocks of 2^20, each from its own stream (lm_head's W alone is 545 M values).
    /// </summary>
    private static ushort[] RandomBf16(int seed, long count, float scale, bool normal)
    {
        const int Block = 1 << 20;
        var values = new ushort[count];
        Parallel.For(0, (count + Block - 1) / Block, block =>
        {
            var random = new TrainingRandom((ulong)seed, block);
            long end = Math.Min(count, (block + 1) * Block);
            for (long i = block * Block; i < end; i++)
                values[i] = BFloat16.FromFloat((float)(normal ? random.NextNormal() : 2 * random.NextDouble() - 1) * scale);
        });
        return values;
    }

    /// <summary>The name --kernels takes: auto, mma, or wgmma{tokens}x{features} (wgmma128x256, ...; a "t" after a token-column tile: wgmma160x192t).</summary>
    private static string KernelName(TensorCoreKernel kernel) =>
        kernel.ForcesMmaSync ? "mma" : kernel.Tile is { } tile ? $"wgmma{tile.Tokens}x{tile.Features}{(tile.TokenColumns ? "t" : "")}" : "auto";

    private static string Next(string[] args, ref int i) =>
        i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
}
