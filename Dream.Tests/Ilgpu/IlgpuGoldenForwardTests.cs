using Dream.Cli.Verify;
using Dream.Core.Checkpoint;
using Dream.Kernels.Ilgpu;
using Dream.Tests.Support;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// The whole model through <see cref="IlgpuModel"/> against the official code's float64 logits (golden
/// forward-NAME files), with and without the pad mask, within 2e-4 absolute like the float32 reference.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class IlgpuGoldenForwardTests
{
    public static TheoryData<string> Models => new() { "tiny-a", "tiny-a-bf16", "tiny-b", "small-c" };

    [IlgpuTheory]
    [MemberData(nameof(Models))]
    public void IlgpuModelMatchesOfficialLogits(string name)
    {
        using var checkpoint = DreamCheckpoint.Open(TestData.GoldenModel(name));
        using var golden = GoldenForward.Load(Path.Combine(TestData.Golden, $"forward-{name}.safetensors"));
        using var model = new IlgpuModel(checkpoint.Weights, IlgpuTestDevice.Kind, IlgpuTestDevice.Kernels);

        foreach (bool padded in new[] { false, true })
        {
            var (rows, actual) = GoldenForward.Run(model, golden, padded);
            var expected = padded ? golden.LogitsPadded : golden.LogitsFull;
            var diff = GoldenForward.MaxAbsDiff(rows, actual, expected, golden.Vocab);
            Assert.True(diff.Max <= 2e-4, $"{name} on {model.DeviceName} padded={padded}: max |Δ| {diff.Max:E3} at row {diff.Row}, vocab {diff.Column}");
        }
    }
}
