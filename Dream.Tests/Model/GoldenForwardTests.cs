using Dream.Core.Checkpoint;
using Dream.Core.Model;
using Dream.Reference;
using Dream.Cli.Verify;
using Dream.Tests.Support;

namespace Dream.Tests.Model;

/// <summary>
/// The reference forward pass against the official PyTorch code's float64 logits (golden forward-NAME files):
/// float32 and float64 arithmetic both within 2e-4 absolute. A float64 run does not get closer than ~1e-5
/// relative: the official code computes RoPE's cos/sin in float32 even in a float64 model, and the last-ulp
/// rounding of its float32 cos/sin is not something we can reproduce bit for bit (measured: 2e-6 to 8e-6).
/// </summary>
public class GoldenForwardTests
{
    public static TheoryData<string> Models => new() { "tiny-a", "tiny-a-bf16", "tiny-b", "small-c" };

    [Theory]
    [MemberData(nameof(Models))]
    public void Float32ReferenceMatchesOfficialLogits(string name)
    {
        using var checkpoint = DreamCheckpoint.Open(TestData.GoldenModel(name));
        using var golden = GoldenForward.Load(Path.Combine(TestData.Golden, $"forward-{name}.safetensors"));
        using var model = new ReferenceModel(checkpoint.Weights);

        foreach (bool padded in new[] { false, true })
        {
            var (rows, actual) = GoldenForward.Run(model, golden, padded);
            var expected = padded ? golden.LogitsPadded : golden.LogitsFull;
            var diff = GoldenForward.MaxAbsDiff(rows, actual, expected, golden.Vocab);
            Assert.True(diff.Max <= 2e-4, $"{name} padded={padded}: max |Δ| {diff.Max:E3} at row {diff.Row}, vocab {diff.Column}");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Float64ReferenceMatchesOfficialLogits(string name)
    {
        using var checkpoint = DreamCheckpoint.Open(TestData.GoldenModel(name));
        using var golden = GoldenForward.Load(Path.Combine(TestData.Golden, $"forward-{name}.safetensors"));
        var model = new ReferenceModel<double>(checkpoint.Weights);

        foreach (bool padded in new[] { false, true })
        {
            var input = golden.Input(padded);
            int[] rows = golden.ComparableRows(padded);
            var actual = new double[rows.Length * golden.Vocab];
            model.Forward(input, rows, actual.AsSpan());
            var expected = padded ? golden.LogitsPadded : golden.LogitsFull;
            double worst = 0;
            for (int r = 0; r < rows.Length; r++)
            for (int c = 0; c < golden.Vocab; c++)
                worst = Math.Max(worst, Math.Abs(actual[(long)r * golden.Vocab + c] - expected[(long)rows[r] * golden.Vocab + c]));
            Assert.True(worst <= 2e-4, $"{name} padded={padded}: max |Δ| {worst:E3}");
        }
    }
}
