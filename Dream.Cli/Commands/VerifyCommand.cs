using Dream.Cli.Verify;

namespace Dream.Cli.Commands;

/// <summary>
/// `dream verify --golden DIR [--only forward|generate|tokenizer] [--backend NAME] [--kernels auto|f32|tensor-core]`: the conformance run
/// against the official code's outputs. One line per failing case, then `N passed, M failed`; exit 1 on any failure.
/// </summary>
public static class VerifyCommand
{
    public static int Run(CommandLine cl, TextWriter stdout)
    {
        cl.ExpectPositionals(0, "only options");
        string golden = cl.String("golden") ?? throw new UsageException("dream verify: --golden DIR is required");
        if (!Directory.Exists(golden)) throw new UsageException($"dream verify: golden directory '{golden}' not found");
        string backend = GenerationFlags.Backend(cl, "reference");
        // Conformance is checked at float32 unless the bf16 tensor-core path is asked for by name: its rounding
        // legitimately flips near-tied greedy choices of the golden generations (docs/kernels.md), so it is held to
        // the official bf16 run's forward deviation and reported case by case, not made the default here.
        var kernels = BackendFactory.ParseKernels(cl.String("kernels"));
        if (kernels == GpuKernels.Auto) kernels = GpuKernels.Float32;
        string? only = cl.String("only");
        if (only is not null and not ("forward" or "generate" or "tokenizer"))
            throw new UsageException($"dream verify: --only takes forward, generate or tokenizer, got '{only}'");

        int passed = 0, failed = 0;
        void Add((int Passed, int Failed) r) { passed += r.Passed; failed += r.Failed; }
        if (only is null or "forward") Add(ForwardConformance.Run(golden, c => BackendFactory.Create(backend, c.Weights, kernels), stdout));
        if (only is null or "generate") Add(GenerateConformance.Run(golden, c => BackendFactory.Create(backend, c.Weights, kernels), stdout));
        // Without --only, each part runs when its files are there; asked for by name, missing files are a failure.
        bool hasTokenizerCases = File.Exists(Path.Combine(golden, GoldenTokenizerCases.FileName));
        if (only is "tokenizer" || (only is null && hasTokenizerCases)) Add(TokenizerConformance.Run(golden, stdout));
        if (passed + failed == 0)
        {
            // A conformance run that compared nothing must not look like a pass.
            stdout.WriteLine($"FAIL no golden cases found in {golden} (forward-*.safetensors, generate-*.json, tokenizer-cases.json)");
            failed = 1;
        }
        stdout.WriteLine($"{passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }
}
