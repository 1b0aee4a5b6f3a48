using Dream.Core;
using Dream.Core.Checkpoint;
using Dream.Core.Generation;
using Dream.Core.Model;

namespace Dream.Cli.Verify;

/// <summary>
/// `dream verify --only generate`: every case of every `generate-*.json` in the golden directory runs through
/// the generation loop on a backend over `DIR/models/NAME` (each model loaded once), and its final canvas and
/// every history step must equal the official code's tokens exactly.
/// </summary>
public static class GenerateConformance
{
    public static (int Passed, int Failed) Run(string goldenDir, Func<DreamCheckpoint, IForwardModel> makeBackend, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(goldenDir);
        ArgumentNullException.ThrowIfNull(makeBackend);
        ArgumentNullException.ThrowIfNull(output);
        int passed = 0, failed = 0;
        var models = new Dictionary<string, (DreamCheckpoint Checkpoint, IForwardModel Backend)>(StringComparer.Ordinal);
        try
        {
            foreach (string file in Directory.GetFiles(goldenDir, "generate-*.json").Order(StringComparer.Ordinal))
            {
                IReadOnlyList<GoldenGenerateCase> cases;
                try { cases = GoldenGenerateCase.Load(file); }
                catch (Exception e) when (IsCaseError(e))
                {
                    failed++;
                    output.WriteLine($"FAIL {Path.GetFileName(file)}: {e.Message}");
                    continue;
                }
                foreach (var c in cases)
                {
                    try
                    {
                        if (!models.TryGetValue(c.Model, out var model))
                        {
                            // The golden runs loaded checkpoints through Hugging Face, which rounds a bf16 checkpoint's RoPE
                            // inv_freq to bf16; reproduce that load (RopeFrequencies.AsTransformersLoads).
                            var checkpoint = DreamCheckpoint.Open(Path.Combine(goldenDir, "models", c.Model), RopeFrequencies.AsTransformersLoads);
                            try { model = (checkpoint, makeBackend(checkpoint)); }
                            catch { checkpoint.Dispose(); throw; }
                            models[c.Model] = model;
                        }
                        string? difference = c.Check(new DiffusionGenerator(model.Backend));
                        if (difference is null) passed++;
                        else
                        {
                            failed++;
                            output.WriteLine($"FAIL generate {c.Label}: {difference}");
                        }
                    }
                    catch (Exception e) when (IsCaseError(e))
                    {
                        failed++;
                        output.WriteLine($"FAIL generate {c.Label}: {e.Message}");
                    }
                }
            }
        }
        finally
        {
            foreach (var (checkpoint, backend) in models.Values)
            {
                backend.Dispose();
                checkpoint.Dispose();
            }
        }
        return (passed, failed);
    }

    private static bool IsCaseError(Exception e) =>
        e is DreamFormatException or IOException or ArgumentException or InvalidOperationException or UnauthorizedAccessException;
}
