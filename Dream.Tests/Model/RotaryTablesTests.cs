using Dream.Core.Checkpoint;
using Dream.Core.Model;
using Dream.Core.Numerics;
using Dream.Tests.Support;

namespace Dream.Tests.Model;

/// <summary>RoPE frequencies: float32 by default; rounded to the checkpoint's half type only when asked to load as Hugging Face does.</summary>
public class RotaryTablesTests
{
    [Theory]
    [InlineData("small-c", RopeFrequencies.Float32, TensorDType.F32)]
    [InlineData("small-c", RopeFrequencies.AsTransformersLoads, TensorDType.BF16)]
    [InlineData("tiny-a", RopeFrequencies.AsTransformersLoads, TensorDType.F32)]  // float32 checkpoint: nothing to round
    public void LoadModeDecidesTheFrequencyPrecision(string model, RopeFrequencies mode, TensorDType expected)
    {
        using var checkpoint = DreamCheckpoint.Open(TestData.GoldenModel(model), mode);
        Assert.Equal(expected, checkpoint.Config.RopeInvFreqDType);
        Assert.Equal(expected, checkpoint.Weights.Config.RopeInvFreqDType);
    }

    [Fact]
    public void Bf16FrequenciesAreTheFloat32OnesRounded()
    {
        float[] exact = RotaryTables.InverseFrequencies(128, 1e6);
        float[] rounded = RotaryTables.InverseFrequencies(128, 1e6, TensorDType.BF16);
        Assert.Equal(1f, exact[0]);
        for (int j = 0; j < exact.Length; j++)
            Assert.Equal(BFloat16.ToFloat(BFloat16.FromFloat(exact[j])), rounded[j]);
        Assert.Contains(Enumerable.Range(0, exact.Length), j => exact[j] != rounded[j]); // the rounding is real
    }

    [Fact]
    public void TablesAreCosAndSinOfPositionTimesFrequency()
    {
        float[] inv = RotaryTables.InverseFrequencies(8, 1e4);
        int[] positions = { 0, 1, 7, 2047 };
        var cos = new float[positions.Length * 4];
        var sin = new float[positions.Length * 4];
        RotaryTables.Fill(positions, inv, cos, sin);
        for (int t = 0; t < positions.Length; t++)
        for (int j = 0; j < 4; j++)
        {
            float angle = positions[t] * inv[j];
            Assert.Equal(MathF.Cos(angle), cos[t * 4 + j]);
            Assert.Equal(MathF.Sin(angle), sin[t * 4 + j]);
        }
        Assert.Equal(1f / MathF.Pow(1e4f, 0.25f), inv[1]); // 1 / theta^(2j/Dh) with j = 1, Dh = 8
    }
}
