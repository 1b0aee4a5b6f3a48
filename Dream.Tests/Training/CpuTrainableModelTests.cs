using Dream.Core.Model;
using Dream.Core.Training;
using Dream.Kernels.Training;
using Dream.Reference;
using FsCheck;
using FsCheck.Xunit;

namespace Dream.Tests.Training;

/// <summary>
/// The fast trainer against its oracle: loss and every parameter gradient of CpuTrainableModel (float32,
/// TensorPrimitives, Parallel.For) equal those of the plain TrainableModel in float64 on the same parameters,
/// within float32 accumulation error: |fast − oracle| ≤ 2e-6 + 2e-3·|oracle|, relative to the tensor's scale.
/// </summary>
public class CpuTrainableModelTests
{
    private static DreamConfig Config(NonNegativeInt shape, bool tied)
    {
        int kvHeads = 1 + shape.Get % 2, group = 1 + shape.Get / 2 % 3, headDim = 2 * (1 + shape.Get / 6 % 3);
        int heads = kvHeads * group;
        return new DreamConfig
        {
            VocabSize = 5 + shape.Get / 18 % 7, HiddenSize = heads * headDim, IntermediateSize = 3 + shape.Get / 126 % 11,
            NumHiddenLayers = 1 + shape.Get / 1386 % 2, NumAttentionHeads = heads, NumKeyValueHeads = kvHeads,
            TieWordEmbeddings = tied, MaskTokenId = 4, MaxPositionEmbeddings = 64,
        };
    }

    [Property(MaxTest = 20)]
    public void LossAndGradientsMatchTheOracle(NonNegativeInt shape, bool tied, bool causal, ulong seed)
    {
        var config = Config(shape, tied);
        int batch = 1 + (int)(seed % 3), length = 2 + (int)(seed / 3 % 8);
        var fastParameters = DreamParameters<float>.Initialize(config, seed, std: 0.3);
        var oracleParameters = TrainingFixtures.Widened(fastParameters);
        var b = TrainingFixtures.NoisedBatch(config, batch, length, seed);

        var fastGradients = DreamParameters<float>.Zeros(config);
        var oracleGradients = DreamParameters<double>.Zeros(config);
        double fastLoss = new CpuTrainableModel(fastParameters, causal).LossAndGradients(b, fastGradients);
        double oracleLoss = new TrainableModel<double>(oracleParameters, causal).LossAndGradients(b, oracleGradients);

        Assert.Equal(oracleLoss, fastLoss, 1e-5);
        for (int i = 0; i < fastGradients.Tensors.Count; i++)
        {
            var fast = fastGradients.Tensors[i].Data;
            var oracle = oracleGradients.Tensors[i].Data;
            double scale = oracle.Max(Math.Abs);
            for (int j = 0; j < fast.Length; j++)
                Assert.True(Math.Abs(fast[j] - oracle[j]) <= 2e-6 + 2e-3 * scale,
                    $"{fastGradients.Tensors[i].Name}[{j}]: fast {fast[j]:R}, oracle {oracle[j]:R} (tensor max {scale:G3})");
        }
    }

    [Fact]
    public void RepeatedStepsAreBitIdentical()
    {
        // Parallel.For must not make the sums depend on scheduling: same inputs, same bits.
        var config = TrainingFixtures.TinyConfig(tied: true);
        var model = new CpuTrainableModel(DreamParameters<float>.Initialize(config, 1, std: 0.3));
        var batch = TrainingFixtures.NoisedBatch(config, batch: 8, length: 11, seed: 4);
        var g1 = DreamParameters<float>.Zeros(config);
        var g2 = DreamParameters<float>.Zeros(config);
        double l1 = model.LossAndGradients(batch, g1);
        double l2 = model.LossAndGradients(batch, g2);
        Assert.Equal(l1, l2);
        for (int i = 0; i < g1.Tensors.Count; i++) Assert.Equal(g1.Tensors[i].Data, g2.Tensors[i].Data);
    }
}
