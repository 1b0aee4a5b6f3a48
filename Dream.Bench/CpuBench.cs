using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Dream.Core.Checkpoint;
using Dream.Core.Model;
using Dream.Core.Numerics;
using Dream.Kernels.Cpu;
using Dream.Reference;

namespace Dream.Bench;

/// <summary>
/// The cpu backend's numbers: matrix multiply GFLOP/s against the machine's FMA peak, the sudoku planner's
/// forward (reference vs cpu, and 82 forwards ≈ one puzzle), and peak RSS for one Dream-7B-shaped layer.
///
///   cpu-bench [peak] [gemm] [planner [MODEL_DIR]]        (default: peak gemm planner)
///   cpu-bench layer7b-prepare DIR                        writes a 1-layer 7B-shaped checkpoint of random bf16
///   cpu-bench layer7b DIR                                forward on it; prints time and peak RSS (run alone)
///
/// Every timing is the best of several runs (the machine may be shared); each product is checked against a
/// float64 dot product on sampled outputs before it is timed.
/// </summary>
public static class CpuBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        var sections = args.Length == 0 ? ["peak", "gemm", "planner"] : args;
        Console.WriteLine($"cpu backend benchmark — {Environment.ProcessorCount} cores, {MachineName()}, " +
                          $"Vector512 {(Vector512.IsHardwareAccelerated ? "yes" : "no")}, NR {Gemm.NR}, .NET {Environment.Version}");
        for (int i = 0; i < sections.Length; i++)
        {
            switch (sections[i])
            {
                case "peak": Peak(); break;
                case "gemm": GemmShapes(); break;
                case "planner":
                    string dir = i + 1 < sections.Length && Directory.Exists(sections[i + 1]) ? sections[++i] : Path.Combine("models", "dream-sudoku");
                    Planner(dir);
                    break;
                case "layer7b-prepare": Layer7bPrepare(sections[++i]); break;
                case "layer7b": Layer7b(sections[++i]); break;
                default:
                    Console.Error.WriteLine($"unknown section '{sections[i]}' (peak, gemm, planner [DIR], layer7b-prepare DIR, layer7b DIR)");
                    return 2;
            }
        }
        return 0;
    }

    // ---------------------------------------------------------------- FMA peak

    /// <summary>
    /// The formula peak = cores × f32 lanes of the FMA datapath × 2 FMA pipes × 2 flops × the clock in /proc/cpuinfo;
    /// the measured peak = cores × the best single-thread rate of a register-only FMA loop (12 independent
    /// accumulators) over 200 short bursts. They differ when the cores boost above the listed clock. The per-core
    /// measurement is taken one thread at a time because on a shared machine both cores are rarely free at once;
    /// a burst on all cores together is printed too.
    /// </summary>
    private static (double Formula, double Measured)? _peak;

    private static (double Formula, double Measured) Peak(bool print = true)
    {
        if (_peak is { } known && !print) return known;
        double ghz = ClockGhz();
        int lanes = Vector512.IsHardwareAccelerated ? 16 : 8;
        int datapathLanes = FmaDatapathLanes(lanes);
        int cores = Environment.ProcessorCount;
        double formula = cores * datapathLanes * 2 * 2 * ghz;
        const long iterations = 500_000;   // ~10 ms bursts: on a shared machine the best burst is the unshared one
        double flopsPerBurst = iterations * 12.0 * lanes * 2;
        double perCore = 0, together = 0;
        for (int rep = 0; rep < 200; rep++)
        {
            var sw = Stopwatch.StartNew();
            FmaLoop(iterations);
            perCore = Math.Max(perCore, flopsPerBurst / sw.Elapsed.TotalSeconds / 1e9);
        }
        for (int rep = 0; rep < 100; rep++)
        {
            var sw = Stopwatch.StartNew();
            Parallel.For(0, cores, new ParallelOptions { MaxDegreeOfParallelism = cores }, _ => FmaLoop(iterations));
            together = Math.Max(together, cores * flopsPerBurst / sw.Elapsed.TotalSeconds / 1e9);
        }
        double measured = cores * perCore;
        _peak = (formula, measured);
        if (print)
        {
            Console.WriteLine();
            Console.WriteLine($"FMA peak, formula: {formula:F0} GFLOP/s = {cores} cores × {datapathLanes} f32 lanes × 2 FMA pipes × 2 flops × {ghz:F3} GHz (cpu MHz in /proc/cpuinfo)" +
                              (datapathLanes < lanes ? "; 512-bit FMAs run as two 256-bit halves on this core" : ""));
            Console.WriteLine($"FMA peak, measured: {measured:F0} GFLOP/s = {cores} × {perCore:F1} per core (12 independent Vector{lanes * 32} FMA chains, best of 200 bursts);" +
                              $" all cores at once, best burst: {together:F0}; {perCore / (datapathLanes * 4):F2} GHz effective clock");
        }
        return (formula, measured);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaLoop(long iterations)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            var m = Vector512.Create(0.999999f);
            var a = Vector512.Create(1e-7f);
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
            Vector512<float> c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
            for (long i = 0; i < iterations; i++)
            {
                c0 = Vector512.FusedMultiplyAdd(c0, m, a); c1 = Vector512.FusedMultiplyAdd(c1, m, a);
                c2 = Vector512.FusedMultiplyAdd(c2, m, a); c3 = Vector512.FusedMultiplyAdd(c3, m, a);
                c4 = Vector512.FusedMultiplyAdd(c4, m, a); c5 = Vector512.FusedMultiplyAdd(c5, m, a);
                c6 = Vector512.FusedMultiplyAdd(c6, m, a); c7 = Vector512.FusedMultiplyAdd(c7, m, a);
                c8 = Vector512.FusedMultiplyAdd(c8, m, a); c9 = Vector512.FusedMultiplyAdd(c9, m, a);
                c10 = Vector512.FusedMultiplyAdd(c10, m, a); c11 = Vector512.FusedMultiplyAdd(c11, m, a);
            }
            return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
        }
        else
        {
            var m = Vector256.Create(0.999999f);
            var a = Vector256.Create(1e-7f);
            Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
            Vector256<float> c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
            for (long i = 0; i < iterations; i++)
            {
                c0 = Vector256.FusedMultiplyAdd(c0, m, a); c1 = Vector256.FusedMultiplyAdd(c1, m, a);
                c2 = Vector256.FusedMultiplyAdd(c2, m, a); c3 = Vector256.FusedMultiplyAdd(c3, m, a);
                c4 = Vector256.FusedMultiplyAdd(c4, m, a); c5 = Vector256.FusedMultiplyAdd(c5, m, a);
                c6 = Vector256.FusedMultiplyAdd(c6, m, a); c7 = Vector256.FusedMultiplyAdd(c7, m, a);
                c8 = Vector256.FusedMultiplyAdd(c8, m, a); c9 = Vector256.FusedMultiplyAdd(c9, m, a);
                c10 = Vector256.FusedMultiplyAdd(c10, m, a); c11 = Vector256.FusedMultiplyAdd(c11, m, a);
            }
            return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
        }
    }

    /// <summary>f32 lanes one FMA pipe retires per cycle: AMD Zen 2–4 (family 0x17, 0x19) have 256-bit FMA pipes
    /// even where AVX-512 is supported (Zen 4 splits a 512-bit op in two); otherwise the SIMD width is assumed.</summary>
    private static int FmaDatapathLanes(int simdLanes)
    {
        string info = ReadOrEmpty("/proc/cpuinfo");
        bool amd = info.Contains("AuthenticAMD", StringComparison.Ordinal);
        var family = info.Split('\n').FirstOrDefault(l => l.StartsWith("cpu family", StringComparison.Ordinal));
        int fam = family is null ? 0 : int.Parse(family.Split(':')[1].Trim(), Inv);
        return amd && fam is 0x17 or 0x19 ? Math.Min(simdLanes, 8) : simdLanes;
    }

    private static double ClockGhz()
    {
        var line = ReadOrEmpty("/proc/cpuinfo").Split('\n').FirstOrDefault(l => l.StartsWith("cpu MHz", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line.Split(':')[1].Trim(), Inv) / 1000;
    }

    private static string MachineName()
    {
        var line = ReadOrEmpty("/proc/cpuinfo").Split('\n').FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line is null ? RuntimeInformation.ProcessArchitecture.ToString() : line.Split(':')[1].Trim();
    }

    private static string ReadOrEmpty(string path) => File.Exists(path) ? File.ReadAllText(path) : "";

    // ---------------------------------------------------------------- matrix multiply

    private static unsafe void GemmShapes()
    {
        var (nominal, measured) = Peak(print: false);
        Console.WriteLine();
        Console.WriteLine($"Linear y[M,N] = x[M,K]·Wᵀ, W bf16 [N,K] random, float32 accumulate; peak {nominal:F0} formula / {measured:F0} measured GFLOP/s");
        Console.WriteLine("wall: best of the runs; CPU: mean CPU time per run over all threads, so GFLOP per CPU-second shows the kernel's");
        Console.WriteLine("efficiency per core however busy the machine is (compare it with the per-core peak).");
        Console.WriteLine("| shape M×K×N | what | workers | best wall ms | GFLOP/s (wall) | % formula peak | % measured peak | CPU ms | GFLOP per CPU-s | % measured per-core peak |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        (int M, int K, int N, string What)[] shapes =
        [
            (164, 384, 384, "planner q/o_proj"), (164, 384, 128, "planner k/v_proj"), (164, 384, 1024, "planner gate/up"),
            (164, 1024, 384, "planner down"), (256, 3584, 3584, "7B q/o_proj"), (256, 3584, 18944, "7B gate/up"),
            (256, 18944, 3584, "7B down"),
        ];
        int cores = Environment.ProcessorCount;
        foreach (var (m, k, n, what) in shapes)
        {
            var random = new Random(1);
            float[] x = new float[m * k];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
            ushort* w = (ushort*)NativeMemory.AlignedAlloc((nuint)((long)n * k * 2), 64);
            for (long i = 0; i < (long)n * k; i++) w[i] = BFloat16.FromFloat((float)(random.NextDouble() * 2 - 1));
            float[] y = new float[m * n];
            var weight = new WeightMatrix((nint)w, TensorDType.BF16, n, k, k);
            double flops = 2.0 * m * k * n;
            foreach (int workers in cores > 1 ? new[] { 1, cores } : [1])
            {
                using var ws = new CpuWorkspace(workers);
                Warm(() => Dream.Kernels.Cpu.Linear.Forward(x, weight, default, y, m, k, n, ws));
                CheckSamples(x, w, y, m, k, n);
                int reps = flops > 1e10 ? 5 : 40;
                var (best, cpu) = Measure(reps, () => Dream.Kernels.Cpu.Linear.Forward(x, weight, default, y, m, k, n, ws));
                double gflops = flops / best / 1e9, perCpuSecond = flops / cpu / 1e9;
                double peakShare = (double)workers / cores;
                Console.WriteLine(string.Create(Inv,
                    $"| {m}×{k}×{n} | {what} | {workers} | {best * 1e3:F2} | {gflops:F1} | {100 * gflops / (nominal * peakShare):F0}% | {100 * gflops / (measured * peakShare):F0}% " +
                    $"| {cpu * 1e3:F2} | {perCpuSecond:F1} | {100 * perCpuSecond / (measured / cores):F0}% |"));
            }
            NativeMemory.AlignedFree(w);
        }
    }

    /// <summary>64 sampled outputs against float64 dot products, within 2·γ(K)·Σ|x·w|.</summary>
    private static unsafe void CheckSamples(float[] x, ushort* w, float[] y, int m, int k, int n)
    {
        var random = new Random(2);
        double u = 1.0 / (1 << 24);
        for (int s = 0; s < 64; s++)
        {
            int i = random.Next(m), j = random.Next(n);
            double exact = 0, magnitude = 0;
            for (int p = 0; p < k; p++)
            {
                double term = (double)x[i * k + p] * BFloat16.ToFloat(w[(long)j * k + p]);
                exact += term;
                magnitude += Math.Abs(term);
            }
            double allowed = 2 * (k + 2) * u * magnitude;
            if (!(Math.Abs(y[i * n + j] - exact) <= allowed))
                throw new InvalidOperationException($"matrix multiply {m}×{k}×{n} wrong at ({i}, {j}): {y[i * n + j]} vs {exact}");
        }
    }

    /// <summary>Runs <paramref name="action"/> for about half a second, then pauses so that .NET's tiered JIT
    /// can install optimised code for the TensorPrimitives and runtime methods the kernels call.</summary>
    private static void Warm(Action action)
    {
        var sw = Stopwatch.StartNew();
        do action(); while (sw.Elapsed.TotalSeconds < 0.5);
        Thread.Sleep(300);
        action();
    }

    /// <summary>Best wall time and mean CPU time (all threads of the process) per run, in seconds. On a shared
    /// machine the CPU time is the steadier number: time spent preempted by other processes is not in it.</summary>
    private static (double BestWall, double MeanCpu) Measure(int reps, Action action)
    {
        double best = double.MaxValue;
        double cpu0 = CpuSeconds();
        for (int r = 0; r < reps; r++)
        {
            var sw = Stopwatch.StartNew();
            action();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return (best, (CpuSeconds() - cpu0) / reps);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec { public long Seconds; public long Nanoseconds; }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec time);

    /// <summary>CPU time of the whole process: CLOCK_PROCESS_CPUTIME_ID on Linux (ns resolution; .NET's
    /// Process.TotalProcessorTime reads 10 ms ticks there), the portable property elsewhere.</summary>
    private static double CpuSeconds()
    {
        if (OperatingSystem.IsLinux() && ClockGetTime(2, out var t) == 0) return t.Seconds + t.Nanoseconds * 1e-9;
        return Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
    }

    private static double Best(int reps, Action action)
    {
        double best = double.MaxValue;
        for (int r = 0; r < reps; r++)
        {
            var sw = Stopwatch.StartNew();
            action();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return best;
    }

    // ---------------------------------------------------------------- the sudoku planner

    private static void Planner(string dir)
    {
        using var checkpoint = DreamCheckpoint.Open(dir);
        var config = checkpoint.Config;
        var input = PuzzleCanvas(dir, config);
        int[] rows = Enumerable.Range(81, 82).ToArray();            // row p−1 for each masked position p = 82..163
        var logits = new float[rows.Length * config.VocabSize];
        var expected = new float[logits.Length];

        Console.WriteLine();
        Console.WriteLine($"sudoku planner ({dir}): {config.ParameterCount / 1e6:F2}M params, one forward = 164 tokens, 82 logits rows");
        Console.WriteLine("| backend | workers | best forward ms | CPU ms per forward | 82 forwards (≈ one puzzle), best s | CPU s per puzzle | speed-up vs reference (best wall) |");
        Console.WriteLine("|---|---|---|---|---|---|---|");

        double referenceMs;
        using (var reference = new ReferenceModel(checkpoint.Weights))
        {
            reference.Forward(input, rows, expected);
            var (wall, cpu) = Measure(3, () => reference.Forward(input, rows, expected));
            referenceMs = wall * 1e3;
            Console.WriteLine(string.Create(Inv, $"| reference | {Environment.ProcessorCount} | {referenceMs:F1} | {cpu * 1e3:F1} | {referenceMs * 82 / 1e3:F1} (82 × best) | {cpu * 82:F1} | 1× |"));
        }

        int cores = Environment.ProcessorCount;
        foreach (int workers in cores > 1 ? new[] { 1, cores } : [1])
        {
            using var model = new CpuModel(checkpoint.Weights, workers);
            Warm(() => model.Forward(input, rows, logits));
            double worst = 0;
            for (int i = 0; i < logits.Length; i++) worst = Math.Max(worst, Math.Abs(logits[i] - expected[i]));
            if (!(worst <= 1e-3)) throw new InvalidOperationException($"cpu logits differ from the reference by {worst}");
            var (forwardWall, forwardCpu) = Measure(50, () => model.Forward(input, rows, logits));
            double forwardMs = forwardWall * 1e3;
            // 82 forwards as the loop runs them: one more position revealed before each.
            var (puzzle, puzzleCpu) = Measure(5, () =>
            {
                var canvas = PuzzleCanvas(dir, config);
                for (int step = 0; step < 82; step++)
                {
                    model.Forward(canvas, rows, logits);
                    canvas.Ids[82 + step] = step % 9 + 1;
                }
            });
            Console.WriteLine(string.Create(Inv, $"| cpu | {workers} | {forwardMs:F2} | {forwardCpu * 1e3:F2} | {puzzle:F2} | {puzzleCpu:F2} | {referenceMs / forwardMs:F0}× |"));
        }
    }

    /// <summary>The first test puzzle as the loop builds it: 81 clue digits, `=`, then 82 masks.</summary>
    private static ForwardInput PuzzleCanvas(string dir, DreamConfig config)
    {
        string csv = Path.Combine(dir, "sudoku-test.csv");
        string puzzle = File.Exists(csv) ? File.ReadLines(csv).Skip(1).First().Split(',')[0] : new string('0', 81);
        var input = new ForwardInput(1, 164);
        for (int i = 0; i < 81; i++) input.Ids[i] = puzzle[i] - '0';
        input.Ids[81] = 10;
        for (int i = 82; i < 164; i++) input.Ids[i] = config.MaskTokenId;
        return input;
    }

    // ---------------------------------------------------------------- one Dream-7B-shaped layer

    /// <summary>Dream 7B's geometry with one layer and a reduced vocabulary (the layer is what shows the memory).</summary>
    private static DreamConfig Layer7bConfig => new()
    {
        VocabSize = 8192, HiddenSize = 3584, IntermediateSize = 18944, NumHiddenLayers = 1,
        NumAttentionHeads = 28, NumKeyValueHeads = 4, RopeTheta = 1e6, RmsNormEps = 1e-6, MaxPositionEmbeddings = 2048,
        MaskTokenId = 8191,
    };

    private static void Layer7bPrepare(string dir)
    {
        Directory.CreateDirectory(dir);
        var c = Layer7bConfig;
        long d = c.HiddenSize, f = c.IntermediateSize, kv = c.KvDim, v = c.VocabSize;
        var random = new Random(5);
        byte[] Bf16(long count, double scale)
        {
            var bytes = new byte[count * 2];
            var bits = MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan());
            for (int i = 0; i < bits.Length; i++) bits[i] = BFloat16.FromFloat((float)((random.NextDouble() * 2 - 1) * scale));
            return bytes;
        }
        byte[] Ones(long count)
        {
            var bytes = new byte[count * 2];
            MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan()).Fill(BFloat16.FromFloat(1f));
            return bytes;
        }
        const string p = "model.layers.0.";
        double ws = 1 / Math.Sqrt(d), wf = 1 / Math.Sqrt(f);
        var tensors = new List<(string, TensorDType, long[], byte[])>
        {
            ("model.embed_tokens.weight", TensorDType.BF16, [v, d], Bf16(v * d, 1)),
            (p + "input_layernorm.weight", TensorDType.BF16, [d], Ones(d)),
            (p + "self_attn.q_proj.weight", TensorDType.BF16, [d, d], Bf16(d * d, ws)),
            (p + "self_attn.q_proj.bias", TensorDType.BF16, [d], Bf16(d, 0.1)),
            (p + "self_attn.k_proj.weight", TensorDType.BF16, [kv, d], Bf16(kv * d, ws)),
            (p + "self_attn.k_proj.bias", TensorDType.BF16, [kv], Bf16(kv, 0.1)),
            (p + "self_attn.v_proj.weight", TensorDType.BF16, [kv, d], Bf16(kv * d, ws)),
            (p + "self_attn.v_proj.bias", TensorDType.BF16, [kv], Bf16(kv, 0.1)),
            (p + "self_attn.o_proj.weight", TensorDType.BF16, [d, d], Bf16(d * d, ws)),
            (p + "post_attention_layernorm.weight", TensorDType.BF16, [d], Ones(d)),
            (p + "mlp.gate_proj.weight", TensorDType.BF16, [f, d], Bf16(f * d, ws)),
            (p + "mlp.up_proj.weight", TensorDType.BF16, [f, d], Bf16(f * d, ws)),
            (p + "mlp.down_proj.weight", TensorDType.BF16, [d, f], Bf16(d * f, wf)),
            ("model.norm.weight", TensorDType.BF16, [d], Ones(d)),
            ("lm_head.weight", TensorDType.BF16, [v, d], Bf16(v * d, ws)),
        };
        SafetensorsFile.Write(Path.Combine(dir, "model.safetensors"), tensors);
        File.WriteAllText(Path.Combine(dir, "config.json"), string.Create(Inv,
            $$"""{"vocab_size": {{c.VocabSize}}, "hidden_size": {{d}}, "intermediate_size": {{f}}, "num_hidden_layers": 1, "num_attention_heads": 28, "num_key_value_heads": 4, "rope_theta": 1000000.0, "rms_norm_eps": 1e-06, "tie_word_embeddings": false, "max_position_embeddings": 2048, "mask_token_id": {{c.MaskTokenId}}, "model_type": "Dream", "torch_dtype": "bfloat16"}"""));
        Console.WriteLine($"wrote {dir}: {tensors.Sum(t => (long)t.Item4.Length) / 1e6:F0} MB of bf16 weights");
    }

    private static void Layer7b(string dir)
    {
        long baseline = Rss("VmRSS");
        using var checkpoint = DreamCheckpoint.Open(dir);
        var c = checkpoint.Config;
        long weightBytes = new FileInfo(Path.Combine(dir, "model.safetensors")).Length;
        const int tokens = 256, rowCount = 128;
        var input = new ForwardInput(1, tokens);
        var random = new Random(3);
        for (int i = 0; i < tokens; i++) input.Ids[i] = i < tokens / 2 ? random.Next(c.VocabSize) : c.MaskTokenId;
        int[] rows = Enumerable.Range(tokens / 2 - 1, rowCount).ToArray();
        var logits = new float[rowCount * c.VocabSize];
        using var model = new CpuModel(checkpoint.Weights);
        model.Forward(input, rows, logits);
        Thread.Sleep(300);
        var (seconds, cpu) = Measure(3, () => model.Forward(input, rows, logits));
        long peak = Rss("VmHWM");
        long activations = (long)tokens * (5L * c.HiddenSize + 2L * c.KvDim + 2L * c.IntermediateSize + c.HeadDim) * 4
                           + (long)rowCount * c.HiddenSize * 4 + (long)logits.Length * 4;
        // Linear layers, attention's two products (4·T²·D) and lm_head over the requested rows.
        double layerFlops = 2.0 * tokens * (2L * c.HiddenSize * c.HiddenSize + 2L * c.HiddenSize * c.KvDim + 3L * c.HiddenSize * c.IntermediateSize)
                            + 4.0 * tokens * tokens * c.HiddenSize + 2.0 * rowCount * c.HiddenSize * c.VocabSize;
        Console.WriteLine();
        Console.WriteLine($"one Dream-7B-shaped layer (D 3584, F 18944, 28/4 heads, vocab reduced to {c.VocabSize}), {tokens} tokens, {rowCount} logits rows:");
        Console.WriteLine($"  forward best of 3: {seconds * 1e3:F0} ms wall ({layerFlops / seconds / 1e9:F0} GFLOP/s over all matrix products, lm_head and attention included), " +
                          $"{cpu * 1e3:F0} ms CPU ({layerFlops / cpu / 1e9:F0} GFLOP per CPU-second)");
        Console.WriteLine($"  weights {weightBytes / 1e6:F0} MB (bf16, memory-mapped); activations + logits {activations / 1e6:F0} MB; runtime before loading {baseline / 1e6:F0} MB");
        Console.WriteLine($"  peak RSS {peak / 1e6:F0} MB = {(double)(peak - baseline) / (weightBytes + activations):F2} × (weights + activations) above the runtime baseline" +
                          $"; a float32 copy of the weights would add {2 * weightBytes / 1e6:F0} MB");
    }

    /// <summary>A field of /proc/self/status in bytes (VmRSS now, VmHWM peak).</summary>
    private static long Rss(string field)
    {
        var line = ReadOrEmpty("/proc/self/status").Split('\n').FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return line is null ? -1 : long.Parse(line.Split(':')[1].Trim().Split(' ')[0], Inv) * 1024;
    }
}
