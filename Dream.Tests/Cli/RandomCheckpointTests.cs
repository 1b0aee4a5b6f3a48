using Dream.Cli.Bench;
using Dream.Core.Checkpoint;
using Dream.Core.Numerics;

namespace Dream.Tests.Cli;

/// <summary>
/// The random checkpoint `dream bench --random-weights` times: its weights must be drawn as the PyTorch baseline
/// draws them (N(0, 0.02²)), because on a power-limited card the values move the clock.
/// </summary>
public class RandomCheckpointTests
{
    [Theory]
    // Excess kurtosis tells the two apart at the same deviation: 0 for a normal, −1.2 for a uniform.
    [InlineData(WeightDistribution.Normal, 0.0)]
    [InlineData(WeightDistribution.Uniform, -1.2)]
    public void DrawsWeightsWithDeviation002AndTheAskedShape(WeightDistribution distribution, double excessKurtosis)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"dream-random-test-{Environment.ProcessId}-{distribution}");
        try
        {
            RandomCheckpoint.Write(dir, RandomCheckpoint.Shape("planner"), seed: 7, TextWriter.Null, distribution);
            using var file = SafetensorsFile.Open(Path.Combine(dir, "model.safetensors"));
            // [1024, 384] bf16: 393,216 draws, so the moments below are known to about 0.2% (deviation) and 0.01
            // (excess kurtosis of a normal; 24/n is its variance).
            var bits = file["model.layers.0.mlp.gate_proj.weight"].As<ushort>();
            double sum = 0, sum2 = 0, sum4 = 0;
            foreach (ushort b in bits) sum += BFloat16.ToFloat(b);
            double mean = sum / bits.Length;
            foreach (ushort b in bits)
            {
                double d = BFloat16.ToFloat(b) - mean;
                sum2 += d * d;
                sum4 += d * d * d * d;
            }
            double variance = sum2 / bits.Length;
            Assert.InRange(mean, -2e-4, 2e-4);
            Assert.InRange(Math.Sqrt(variance), 0.02 * 0.99, 0.02 * 1.01);
            Assert.InRange(sum4 / bits.Length / (variance * variance) - 3, excessKurtosis - 0.05, excessKurtosis + 0.05);
            // Norms are ones, as the baseline's.
            Assert.All(file["model.norm.weight"].As<ushort>().ToArray(), b => Assert.Equal(1f, BFloat16.ToFloat(b)));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void BenchRefusesAnUnknownDistribution()
    {
        var (code, _, stderr) = CliRunner.Run("bench", "--backend", "cpu", "--random-weights", "--shape", "planner", "--lens", "5", "--distribution", "gaussian");
        Assert.Equal(2, code);
        Assert.Contains("--distribution takes normal or uniform, got 'gaussian'", stderr);
    }
}
