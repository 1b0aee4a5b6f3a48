using System.Diagnostics;
using System.Globalization;
using Dream.Core.Model;
using Dream.Core.Training;
using Dream.Core.Training.Sudoku;
using Dream.Kernels.Ilgpu;
using Dream.Kernels.Ilgpu.Training;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Bench;

/// <summary>
/// `Dream.Bench train-step [--device cuda|opencl|ilgpu-cpu] [--quick] [--batch N] [--reps N]`: the GPU trainer's
/// self-check and speed at the 9×9 Sudoku planner (D 384, F 1024, 3 layers, 6/2 heads, 164 tokens, batch 512).
///  1. Each tensor-core Linear product (<see cref="LinearBf16"/>: forward x·Wᵀ + b, input gradient dy·W, weight
///     gradient dyᵀ·x with its split-K) at every Linear shape of the planner, on random bf16 data over all
///     B·T rows, against float64 dot products of the same bf16 values on 48 sampled outputs. The error is divided by
///     √Σ(a·b)² (what a wrong fragment, row or slice is off by, about 1×; float32 accumulation is ~√K·u of it, below
///     1e-4 even for K = 84k): PASS below 1e-3.
///  2. One training step, f32 and bf16, from the same parameters and batch: the losses must agree within 2%
///     and the gradient norms within 10% (bf16 operands move a product by ~2^-8 of its magnitude, not by percents).
///  3. Steady-state ms/step and tokens/s of both paths, then a per-phase profile of each (a device synchronisation
///     after every phase, so the phases add up to a little more than an unprofiled step).
/// A failed check exits with 1. `--quick` shrinks everything to a tiny 4×4 model for the CPU simulator.
/// </summary>
public static class TrainStepBench
{
    public static int Run(string[] args)
    {
        string kind = IlgpuDevice.Cuda;
        bool quick = false;
        int? batchOption = null, repsOption = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--device" when i + 1 < args.Length: kind = args[++i]; break;
                case "--quick": quick = true; break;
                case "--batch" when i + 1 < args.Length: batchOption = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--reps" when i + 1 < args.Length: repsOption = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"train-step: unknown option '{args[i]}'");
            }
        }

        Trace.Listeners.Add(new ConsoleTraceListener(useErrorStream: true));    // ptxas reports PTX errors through Trace only
        using var device = IlgpuDevice.Create(kind);
        using var kernels = new TrainingKernels(device.Accelerator);
        var task = new SudokuTask(new SudokuGrid(quick ? 2 : 3));
        var config = new DreamConfig
        {
            VocabSize = task.VocabSize, HiddenSize = quick ? 32 : 384, IntermediateSize = quick ? 64 : 1024, NumHiddenLayers = quick ? 1 : 3,
            NumAttentionHeads = quick ? 2 : 6, NumKeyValueHeads = quick ? 1 : 2, RopeTheta = 10000, RmsNormEps = 1e-6,
            TieWordEmbeddings = true, MaxPositionEmbeddings = 512,
            MaskTokenId = task.MaskId, PadTokenId = task.EosId, EosTokenId = task.EosId, BosTokenId = task.BosId, TorchDType = "bfloat16",
        };
        int batch = batchOption ?? (quick ? 2 : 512), reps = repsOption ?? (quick ? 1 : 10);
        int rows = batch * task.Length;
        Console.WriteLine($"device: {device.Kind}, {device.Name}; tensor cores: {(kernels.IsCuda ? "mma.sync (bf16)" : "no (portable fallback)")}");
        Console.WriteLine($"model: D {config.HiddenSize}, F {config.IntermediateSize}, L {config.NumHiddenLayers}, H {config.NumAttentionHeads}/{config.NumKeyValueHeads}, " +
            $"V {config.VocabSize}, {config.ParameterCount:N0} parameters; batch {batch} × {task.Length} = {rows:N0} tokens a step");

        bool ok = CheckProducts(device.Accelerator, kernels, config, rows);
        ok &= TimeSteps(kernels, config, task, batch, reps, quick);
        Console.WriteLine(ok ? "RESULT: PASS" : "RESULT: FAIL");
        return ok ? 0 : 1;
    }

    private static bool CheckProducts(Accelerator acc, TrainingKernels kernels, DreamConfig c, int rows)
    {
        Console.WriteLine();
        Console.WriteLine("| product | rows | In | Out | K | worst error / √Σ(a·b)² | result |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        var random = new Random(20250109);
        bool ok = true;
        var shapes = new[] { (c.HiddenSize, c.HiddenSize, "q, o"), (c.HiddenSize, c.KvDim, "k, v"), (c.HiddenSize, c.IntermediateSize, "gate, up"), (c.IntermediateSize, c.HiddenSize, "down") };
        foreach (var (inF, outF, name) in shapes)
        {
            ushort[] x = Bf16(random, (long)rows * inF), w = Bf16(random, (long)outF * inF), dy = Bf16(random, (long)rows * outF);
            float[] bias = Enumerable.Range(0, outF).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            using var xb = acc.Allocate1D(x); using var wb = acc.Allocate1D(w); using var dyb = acc.Allocate1D(dy); using var bb = acc.Allocate1D(bias);
            using var y = acc.Allocate1D<float>((long)rows * outF); using var dx = acc.Allocate1D<float>((long)rows * inF);
            using var dW = acc.Allocate1D<float>((long)outF * inF);
            dW.MemSetToZero();
            LinearBf16.Forward(kernels, xb.View, wb.View, bb.View, y.View, rows, inF, outF);
            LinearBf16.BackwardInput(kernels, dyb.View, wb.View, dx.View, rows, inF, outF, accumulate: false);
            LinearBf16.BackwardWeight(kernels, xb.View, dyb.View, default, dW.View, default, rows, inF, outF);
            acc.Synchronize();
            float[] yh = y.GetAsArray1D(), dxh = dx.GetAsArray1D(), dWh = dW.GetAsArray1D();
            int slices = LinearBf16.Slices(kernels, rows, inF, outF);

            double Worst(Func<int, (long Index, Func<int, double> Term, int K, double Extra)> sample, float[] actual)
            {
                double worst = 0;
                for (int s = 0; s < 48; s++)
                {
                    var (index, term, k, extra) = sample(s);
                    double sum = extra, squares = 0;
                    for (int j = 0; j < k; j++) { double p = term(j); sum += p; squares += p * p; }
                    worst = Math.Max(worst, Math.Abs(actual[index] - sum) / Math.Sqrt(squares + 1e-30));
                }
                return worst;
            }
            double F(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);
            double yWorst = Worst(s =>
            {
                int t = random.Next(rows), o = random.Next(outF);
                return ((long)t * outF + o, j => F(x[(long)t * inF + j]) * F(w[(long)o * inF + j]), inF, bias[o]);
            }, yh);
            double dxWorst = Worst(s =>
            {
                int t = random.Next(rows), i = random.Next(inF);
                return ((long)t * inF + i, j => F(dy[(long)t * outF + j]) * F(w[(long)j * inF + i]), outF, 0);
            }, dxh);
            double dWWorst = Worst(s =>
            {
                int o = random.Next(outF), i = random.Next(inF);
                return ((long)o * inF + i, j => F(dy[(long)j * outF + o]) * F(x[(long)j * inF + i]), rows, 0);
            }, dWh);
            foreach (var (product, k, worst) in new[] { ($"{name}: y = x·Wᵀ + b", inF, yWorst), ($"{name}: dx = dy·W", outF, dxWorst), ($"{name}: dW = dyᵀ·x ({slices} slices)", rows, dWWorst) })
            {
                bool pass = worst < 1e-3;
                ok &= pass;
                Console.WriteLine($"| {product} | {rows} | {inF} | {outF} | {k} | {worst:E2} | {(pass ? "PASS" : "FAIL")} |");
            }
        }
        return ok;
    }

    private static ushort[] Bf16(Random random, long count)
    {
        var result = new ushort[count];
        for (long i = 0; i < count; i++) result[i] = (ushort)(BitConverter.SingleToInt32Bits((float)(random.NextDouble() * 2 - 1)) >> 16);
        return result;
    }

    private static bool TimeSteps(TrainingKernels kernels, DreamConfig config, SudokuTask task, int batch, int reps, bool quick)
    {
        // A fixed batch: random digits in the answer and prompt, the answer noised as in training.
        var random = new Random(5);
        var clean = new int[batch * task.Length];
        for (int i = 0; i < clean.Length; i++) clean[i] = random.Next(task.MaskId);
        var data = new NoiseScheduler { MaskTokenId = task.MaskId, Weighting = LossWeighting.Constant }
            .Corrupt(clean, batch, task.Length, task.AnswerPositions(), 1, 0);
        int tokens = batch * task.Length;

        var first = new Dictionary<TrainingPrecision, (double Loss, double Norm)>();
        Console.WriteLine();
        Console.WriteLine("| precision | ms/step | tokens/s | first loss | first ‖g‖ |");
        Console.WriteLine("|---|---|---|---|---|");
        var profiles = new Dictionary<TrainingPrecision, Dictionary<string, double>>();
        foreach (var precision in new[] { TrainingPrecision.Float32, TrainingPrecision.BFloat16 })
        {
            var parameters = DreamParameters<float>.Initialize(config, 1);
            using var model = new IlgpuTrainableModel(kernels, parameters, precision: precision);
            var trainer = new Trainer(model, _ => data, new LearningRateSchedule(1e-3, 1, 1000));
            var (loss, norm, _, _) = trainer.RunStep();                      // compiles every kernel, then the warm step
            first[precision] = (loss, norm);
            if (!quick) trainer.RunStep();
            var clock = Stopwatch.StartNew();
            for (int r = 0; r < reps; r++) trainer.RunStep();
            kernels.Accelerator.Synchronize();
            double ms = clock.Elapsed.TotalMilliseconds / reps;
            Console.WriteLine($"| {precision.Name()} | {ms:F2} | {tokens / ms * 1000:N0} | {loss:F5} | {norm:F5} |");

            model.Profile = new Dictionary<string, double>();
            int profiled = Math.Max(1, Math.Min(reps, 3));
            for (int r = 0; r < profiled; r++) trainer.RunStep();
            profiles[precision] = model.Profile.ToDictionary(p => p.Key, p => p.Value / profiled);
            model.Profile = null;
        }

        Console.WriteLine();
        Console.WriteLine("| phase (synchronised after each) | f32 ms | bf16 ms |");
        Console.WriteLine("|---|---|---|");
        foreach (var phase in profiles.Values.SelectMany(p => p.Keys).Distinct())
            Console.WriteLine($"| {phase} | {profiles[TrainingPrecision.Float32].GetValueOrDefault(phase):F2} | {profiles[TrainingPrecision.BFloat16].GetValueOrDefault(phase):F2} |");
        Console.WriteLine($"| total | {profiles[TrainingPrecision.Float32].Values.Sum():F2} | {profiles[TrainingPrecision.BFloat16].Values.Sum():F2} |");

        var (l32, n32) = first[TrainingPrecision.Float32];
        var (l16, n16) = first[TrainingPrecision.BFloat16];
        bool lossOk = Math.Abs(l16 - l32) <= 0.02 * Math.Max(1, Math.Abs(l32)) && double.IsFinite(l16);
        bool normOk = Math.Abs(n16 - n32) <= 0.1 * Math.Max(1e-6, n32) && double.IsFinite(n16);
        Console.WriteLine();
        Console.WriteLine($"step check: loss f32 {l32:F5} vs bf16 {l16:F5}: {(lossOk ? "PASS" : "FAIL")}; ‖g‖ f32 {n32:F5} vs bf16 {n16:F5}: {(normOk ? "PASS" : "FAIL")}");
        return lossOk && normOk;
    }
}
