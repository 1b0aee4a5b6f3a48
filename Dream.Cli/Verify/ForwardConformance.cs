using Dream.Core.Checkpoint;
using Dream.Core.Model;

namespace Dream.Cli.Verify;

/// <summary>
/// `dream verify --only forward`: every `forward-NAME.safetensors` in the golden directory is run through a
/// backend on `DIR/models/NAME`, once without a mask and once with the pad mask and position ids, and compared
/// with the official float64 logits (pad rows excluded). A model that computes in float32 must land within
/// <see cref="Tolerance"/>; one that rounds every product's input to bf16 (<see cref="ForwardPrecision.Bf16Inputs"/>:
/// the tensor-core model, the fast path for bf16 checkpoints) must land no further from float64 than the official
/// code's own bf16 run did on the same case (`logits_full_native_cuda`; the same bound is used for the padded forward).
/// </summary>
public static class ForwardConformance
{
    /// <summary>float32 arithmetic lands within this of the float64 logits (the official float32 run: ~6e-5).</summary>
    public const double Tolerance = 2e-4;

    public static (int Passed, int Failed) Run(string goldenDir, Func<DreamCheckpoint, IForwardModel> makeBackend, TextWriter output)
    {
        int passed = 0, failed = 0;
        foreach (string file in Directory.GetFiles(goldenDir, "forward-*.safetensors").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileNameWithoutExtension(file)["forward-".Length..];
            try
            {
                using var checkpoint = DreamCheckpoint.Open(Path.Combine(goldenDir, "models", name));
                using var golden = GoldenForward.Load(file);
                using var model = makeBackend(checkpoint);
                double tolerance = Bound(model, golden, file);
                foreach (bool padded in new[] { false, true })
                {
                    var (rows, logits) = GoldenForward.Run(model, golden, padded);
                    var diff = GoldenForward.MaxAbsDiff(rows, logits, padded ? golden.LogitsPadded : golden.LogitsFull, golden.Vocab);
                    string label = $"forward {name} {(padded ? "padded" : "full")}";
                    if (diff.Max <= tolerance) passed++;
                    else
                    {
                        failed++;
                        output.WriteLine($"FAIL {label}: max |Δ| {diff.Max:E3} > {tolerance:E3} at row {diff.Row}, vocab {diff.Column}");
                    }
                }
            }
            catch (Exception e) when (e is Dream.Core.DreamFormatException or IOException or ArgumentException or InvalidOperationException)
            {
                failed++;
                output.WriteLine($"FAIL forward {name}: {e.Message}");
            }
        }
        return (passed, failed);
    }

    /// <summary>The allowed max |Δ| for <paramref name="model"/> on this case (see the class summary).</summary>
    public static double Bound(IForwardModel model, GoldenForward golden, string file)
    {
        if (model.Precision == ForwardPrecision.Float32) return Tolerance;
        return golden.NativeDeviation ?? throw new InvalidOperationException(
            $"{file}: a model with bf16 products is held to the official bf16 run's deviation, but the file has no logits_full_native_cuda");
    }
}
