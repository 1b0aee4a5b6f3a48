using Dream.Core.Training;
using Dream.Reference;
using FsCheck;
using FsCheck.Xunit;
using static Dream.Tests.Training.GradientCheck;

namespace Dream.Tests.Training;

/// <summary>
/// The whole model's backward (every op chained, tied and untied lm_head, bidirectional and causal) against
/// finite differences of its loss, for every parameter of a tiny float64 model.
/// </summary>
public class TrainableModelGradientTests
{
    [Property(MaxTest = 6)]
    public void EveryParameterGradientMatchesFiniteDifferences(bool tied, bool causal, ulong seed)
    {
        var config = TrainingFixtures.TinyConfig(tied);
        // std 0.3 rather than training's 0.02, so attention and every nonlinearity are far from linear.
        var parameters = DreamParameters<double>.Initialize(config, seed, std: 0.3);
        for (int n = 0; n < parameters.Tensors.Count; n++)
        {
            var t = parameters.Tensors[n];
            if (t.IsMatrix) continue;
            var noise = Random(t.Data.Length, seed, 1000 + n, 0.2);
            for (int i = 0; i < t.Data.Length; i++) t.Data[i] += noise[i]; // biases and gains off their init values
        }
        var model = new TrainableModel<double>(parameters, causal);
        var batch = TrainingFixtures.NoisedBatch(config, batch: 2, length: 5, seed);

        var gradients = DreamParameters<double>.Zeros(config);
        model.Loss(batch, gradients);
        foreach (var (tensor, grad) in parameters.Tensors.Zip(gradients.Tensors))
            AssertClose(tensor.Name, grad.Data, Numeric(tensor.Data, () => model.Loss(batch, null)), atol: 1e-8, rtol: 1e-5);
    }

    [Fact]
    public void TiedHeadGradientIsTheSumOfBothUses()
    {
        // With tie_word_embeddings the embedding table also serves as lm_head: one array, both gradients in it.
        var config = TrainingFixtures.TinyConfig(tied: true, layers: 1);
        var parameters = DreamParameters<double>.Initialize(config, 5, std: 0.3);
        Assert.Same(parameters.Embedding, parameters.LmHead);
        Assert.DoesNotContain(parameters.Tensors, t => t.Name == "lm_head.weight");
        var gradients = DreamParameters<double>.Zeros(config);
        Assert.Same(gradients.Embedding, gradients.LmHead);
    }
}
