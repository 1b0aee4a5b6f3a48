using System.Diagnostics;
using System.Globalization;
using Dream.Cli.Bench;
using Dream.Core.Checkpoint;
using Dream.Core.Generation;
using Dream.Core.Model;

namespace Dream.Cli.Commands;

/// <summary>
/// `dream bench --backend NAME [--kernels auto|f32|tensor-core] (--model DIR | --random-weights --shape dream-7b|planner) [--lens 256,512]
/// [--reps N] [--workdir DIR]`: milliseconds per forward over the whole sequence (logits for every position, as
/// the PyTorch baseline times it), TFLOP/s, and the ratio to the compute floor at a given TFLOP/s (`--peak`,
/// default 782: cuBLAS bf16 measured on an H200). `--gen NEWxSTEPS` adds the whole loop as the PyTorch baseline
/// runs it: a 64-token random prompt, NEW masks, STEPS steps of entropy decoding at temperature 0 through
/// <see cref="DiffusionGenerator"/> (sampling and reveal on the device where the backend offers it), timed after
/// one warm-up generation; new tokens per second and ms per step. `--anatomy` (tensor-core model) then times one
/// step of that loop taken apart (see <see cref="Anatomy"/>). `--graphs on|off|both` (tensor-core model on CUDA,
/// default on): whether the embedding and layers replay as a recorded CUDA graph (<see cref="Dream.Kernels.Ilgpu.TensorCoreModel.UsesGraphs"/>);
/// `both` times each length and the loop both ways in the same process, alternating. `--distribution normal|uniform`
/// (with --random-weights, default normal, as the PyTorch baseline draws): how the random weights are drawn
/// (<see cref="WeightDistribution"/>). The last column, GPU memory in use (the tensor-core model on CUDA; "—" elsewhere),
/// is the driver's count for the whole card read after each length has run — that length's peak, since buffers are
/// allocated once per length and none per step — and again after the loop; the highest reading closes the output.
/// </summary>
public static class BenchCommand
{
    public static readonly string[] ValueOptions = { "backend", "kernels", "model", "shape", "lens", "reps", "workdir", "peak", "seed", "gen", "graphs", "distribution" };
    public static readonly string[] FlagOptions = { "random-weights", "anatomy" };

    public static int Run(CommandLine cl, CliContext io)
    {
        cl.ExpectPositionals(0, "only options");
        string backend = GenerationFlags.Backend(cl, "cpu");
        int[] lens = cl.IntList("lens") ?? [256, 512];
        if (lens.Length == 0 || lens.Any(l => l < 1)) throw new UsageException("dream bench: --lens needs positive lengths");
        int reps = cl.Int("reps", 1, 1000) ?? 5;
        double peak = cl.Double("peak") ?? 782;
        string? graphs = cl.String("graphs");
        if (graphs is not (null or "on" or "off" or "both")) throw new UsageException($"dream bench: --graphs takes on, off or both, got '{graphs}'");

        string? distributionName = cl.String("distribution");
        var distribution = distributionName switch
        {
            null or "normal" => WeightDistribution.Normal,
            "uniform" => WeightDistribution.Uniform,
            var other => throw new UsageException($"dream bench: --distribution takes normal or uniform, got '{other}'"),
        };
        if (distributionName is not null && !cl.Flag("random-weights"))
            throw new UsageException("dream bench: --distribution draws random weights; give it with --random-weights");

        string? tempDir = null;
        string dir;
        if (cl.Flag("random-weights"))
        {
            if (cl.String("model") is not null) throw new UsageException("dream bench: give --model or --random-weights, not both");
            var shape = RandomCheckpoint.Shape(cl.String("shape") ?? "dream-7b");
            tempDir = dir = Path.Combine(cl.String("workdir") ?? Path.GetTempPath(), $"dream-random-{Environment.ProcessId}");
            var clock = Stopwatch.StartNew();
            io.Err.WriteLine($"writing random bf16 weights ({shape.ParameterCount:N0} parameters, {distribution.ToString().ToLowerInvariant()}) to {dir}");
            RandomCheckpoint.Write(dir, shape, (ulong)(cl.Int("seed", 0) ?? 0), io.Err, distribution);
            io.Err.WriteLine($"  {clock.Elapsed.TotalSeconds:0.0}s");
        }
        else dir = ModelResolver.Resolve(cl.String("model"));

        try
        {
            using var checkpoint = DreamCheckpoint.Open(dir);
            var c = checkpoint.Config;
            var load = Stopwatch.StartNew();
            using var model = BackendFactory.Create(backend, checkpoint.Weights, BackendFactory.ParseKernels(cl.String("kernels")));
            io.Err.WriteLine($"loaded onto {model.BackendName} in {load.Elapsed.TotalSeconds:0.0}s");

            // The fast GPU model can leave the logits on the device, as PyTorch's forward does; the others return them.
            var onDevice = model as Dream.Kernels.Ilgpu.TensorCoreModel;
            // The ways the layers run: one by one and/or replayed from a recording (the tensor-core model on CUDA).
            bool canRecord = Record(onDevice, true);
            if (graphs is "on" or "both" && !canRecord)
                throw new UsageException($"dream bench: --graphs {graphs}: only the tensor-core model on CUDA records graphs, not {model.BackendName}");
            bool[] modes = graphs switch { "off" => [false], "both" => [false, true], _ => [canRecord] };
            string kind = onDevice is not null ? "bf16 tensor-core model, logits for every position left on the device" : "logits for every position copied to the host";
            io.Out.WriteLine($"backend {model.BackendName} ({kind}), {c.ParameterCount:N0} parameters, batch 1, median of {reps}");
            io.Out.WriteLine("| tokens | layers | ms / forward | TFLOP/s | floor ms at " + peak.ToString(CultureInfo.InvariantCulture) + " TFLOP/s | ratio to floor | GPU memory in use, MiB |");
            io.Out.WriteLine("|---:|---|---:|---:|---:|---:|---:|");
            long highest = 0;   // the highest memory reading, bytes
            long? ReadMemory()
            {
                long? bytes = onDevice?.DeviceMemoryInUse();
                highest = Math.Max(highest, bytes ?? 0);
                return bytes;
            }
            var random = new Random(1);
            foreach (int length in lens)
            {
                if (length > c.MaxPositionEmbeddings) throw new UsageException($"dream bench: length {length} exceeds the model's context {c.MaxPositionEmbeddings}");
                var input = new ForwardInput(1, length);
                for (int i = 0; i < length; i++) input.Ids[i] = random.Next(c.VocabSize);
                int[] rows = Enumerable.Range(0, length).ToArray();
                var logits = onDevice is null ? new float[(long)length * c.VocabSize] : [];
                void Once()
                {
                    if (onDevice is not null) onDevice.ForwardOnDevice(input, rows);
                    else model.Forward(input, rows, logits);
                }
                // Warm-up: compilation, buffers, and (second run with graphs) the recording.
                foreach (bool mode in modes)
                {
                    Record(onDevice, mode);
                    Once();
                    Once();
                }
                // With both ways, the reps alternate between them, so that both see the same clocks.
                var times = modes.Select(_ => new double[reps]).ToArray();
                for (int r = 0; r < reps; r++)
                    for (int m = 0; m < modes.Length; m++)
                    {
                        io.Cancel.ThrowIfCancellationRequested();
                        Record(onDevice, modes[m]);
                        var t = Stopwatch.StartNew();
                        Once(); // returns when the device has finished
                        times[m][r] = t.Elapsed.TotalMilliseconds;
                    }
                string memory = MiB(ReadMemory());
                for (int m = 0; m < modes.Length; m++)
                {
                    Array.Sort(times[m]);
                    double ms = times[m][reps / 2];
                    double flops = Flops(c, length);
                    double floorMs = flops / (peak * 1e12) * 1e3;
                    string layers = modes[m] ? "graph" : "launched";
                    io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {length} | {layers} | {ms:0.0} | {flops / (ms * 1e-3) / 1e12:0.0##} | {floorMs:0.0##} | {ms / floorMs:0.00} | {memory} |"));
                }
                io.Out.Flush();
            }
            if (cl.String("gen") is { } gen)
            {
                // Both ways twice, alternating, when asked for both.
                foreach (bool mode in modes.Length == 1 ? modes : [.. modes, .. modes])
                {
                    Record(onDevice, mode);
                    if (modes.Length > 1) io.Out.Write(mode ? "[graph] " : "[launched] ");
                    Generate(model, gen, io);
                }
                if (ReadMemory() is { } afterLoop) io.Out.WriteLine($"GPU memory in use after the loop: {MiB(afterLoop)} MiB");
            }
            if (highest > 0) io.Out.WriteLine($"peak GPU memory in use (highest reading, whole card): {MiB(highest)} MiB");
            if (cl.Flag("anatomy")) Anatomy(model, reps, io);
            return 0;
        }
        finally
        {
            if (tempDir is not null) Directory.Delete(tempDir, recursive: true);
        }
    }

    /// <summary>Bytes as whole MiB with thousands separators, or "—" where there is no reading.</summary>
    private static string MiB(long? bytes) => bytes is { } b ? (b >> 20).ToString("N0", CultureInfo.InvariantCulture) : "—";

    /// <summary>Sets whether <paramref name="model"/> (when it is the tensor-core model) replays its layers from a recording; false when it cannot.</summary>
    private static bool Record(Dream.Kernels.Ilgpu.TensorCoreModel? model, bool on)
    {
        if (model is null) return false;
        model.UsesGraphs = on;
        return model.UsesGraphs == on;
    }

    private static void Generate(IForwardModel model, string spec, CliContext io)
    {
        string[] parts = spec.Split('x');
        if (parts.Length != 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out int newTokens) || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out int steps)
            || newTokens < 1 || steps < 1)
            throw new UsageException($"dream bench: --gen takes NEWxSTEPS (e.g. 256x256), got '{spec}'");
        var c = model.Config;
        var random = new Random(2);
        var prompt = new PromptBatch([Enumerable.Range(0, 64).Select(_ => random.Next(Math.Min(1000, c.VocabSize))).ToArray()]);
        var options = new GenerationOptions { MaxNewTokens = newTokens, Steps = steps, Algorithm = DecodingAlgorithm.Entropy };
        var generator = new DiffusionGenerator(model);
        generator.Generate(prompt, options, cancellationToken: io.Cancel);   // warm-up
        var clock = Stopwatch.StartNew();
        generator.Generate(prompt, options, cancellationToken: io.Cancel);
        double seconds = clock.Elapsed.TotalSeconds;
        io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"generate: 64-token prompt, {newTokens} new tokens, {steps} steps, entropy: {seconds:0.000} s, {newTokens / seconds:0.0} tok/s, {1000 * seconds / steps:0.00} ms/step"));
    }

    /// <summary>
    /// One denoising step of the --gen loop taken apart (canvas 320 = 64 + 256, M masked rows): the forward with
    /// lm_head over M rows and the logits left on the device, the same plus sampling and a download of M tokens,
    /// and the loop's own call (sampling and reveal on the device) — medians of <paramref name="reps"/>.
    /// </summary>
    private static void Anatomy(IForwardModel model, int reps, CliContext io)
    {
        if (model is not ISamplingForwardModel device || model is not Dream.Kernels.Ilgpu.TensorCoreModel tensorCore)
        {
            io.Out.WriteLine("anatomy: needs the tensor-core model");
            return;
        }
        var c = model.Config;
        const int prompt = 64, length = 320;
        var random = new Random(3);
        var input = new ForwardInput(1, length);
        for (int i = 0; i < length; i++) input.Ids[i] = i < prompt ? random.Next(1000) : c.MaskTokenId;
        var request = SamplingRequest.From(new GenerationOptions { Algorithm = DecodingAlgorithm.Entropy });
        io.Out.WriteLine("| masked rows | forward (logits on device) | + sample + download | + sample + reveal (the loop's call) |");
        io.Out.WriteLine("|---:|---:|---:|---:|");
        foreach (int m in new[] { 256, 128, 16 })
        {
            int[] positions = Enumerable.Range(length - m, m).ToArray();
            int[] rows = positions.Select(p => p - 1).ToArray();
            int[] tokens = new int[m], canvas = input.Ids.ToArray();
            double[] confidence = new double[m];
            double Median(Action once)
            {
                once();
                var times = new double[reps];
                for (int r = 0; r < reps; r++)
                {
                    var t = Stopwatch.StartNew();
                    once();
                    times[r] = t.Elapsed.TotalMilliseconds;
                }
                Array.Sort(times);
                return times[reps / 2];
            }
            double forward = Median(() => tensorCore.ForwardOnDevice(input, rows));
            double sample = Median(() => device.ForwardSample(input, rows, request, [], tokens, confidence));
            double reveal = Median(() => device.ForwardSampleReveal(input, positions, rows, [0, m], [1], request, [], canvas));
            io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {m} | {forward:0.00} ms | {sample:0.00} ms | {reveal:0.00} ms |"));
        }
    }

    /// <summary>Multiply-adds ×2 of one forward: every linear layer, attention's two products, lm_head for all rows.</summary>
    public static double Flops(DreamConfig c, int tokens)
    {
        double d = c.HiddenSize, f = c.IntermediateSize, kv = c.KvDim, t = tokens;
        double perLayer = 2 * t * (d * d + 2 * d * kv + d * d + 3 * d * f) + 2 * 2 * t * t * d;
        return c.NumHiddenLayers * perLayer + 2 * t * d * c.VocabSize;
    }
}
