using Dream.Core.Training;

namespace Dream.Tests.Training;

/// <summary>AdamW against the formula by hand, the warm-up + cosine schedule, global-norm clipping.</summary>
public class OptimizerTests
{
    [Fact]
    public void AdamWFirstTwoStepsByHand()
    {
        var config = TrainingFixtures.TinyConfig(tied: true, layers: 1);
        var p = DreamParameters<float>.Zeros(config);
        var g = DreamParameters<float>.Zeros(config);
        p.Embedding[0] = 1f; g.Embedding[0] = 0.5f;      // a matrix: decays
        p.FinalNorm[0] = 1f; g.FinalNorm[0] = -2f;       // a norm gain: does not
        var adam = new AdamW(config) { Beta1 = 0.9, Beta2 = 0.98, Epsilon = 1e-8, WeightDecay = 0.1 };
        const double lr = 0.01;
        adam.Step(p, g, lr);
        // Step 1: m̂ = g, v̂ = g², so the update is lr·sign(g) (up to ε), after decay θ·(1 − lr·λ).
        Assert.Equal(1 * (1 - lr * 0.1) - lr, p.Embedding[0], 6);
        Assert.Equal(1 + lr, p.FinalNorm[0], 6);
        adam.Step(p, g, lr);
        double m = 0.9 * 0.1 * 0.5 + 0.1 * 0.5, v = 0.98 * 0.02 * 0.25 + 0.02 * 0.25;
        double update = lr * (m / (1 - 0.81)) / (Math.Sqrt(v / (1 - 0.98 * 0.98)) + 1e-8);
        double expected = (1 * (1 - lr * 0.1) - lr) * (1 - lr * 0.1) - update;
        Assert.Equal(expected, p.Embedding[0], 6);
        Assert.Equal(2, adam.Updates);
        Assert.Equal(0f, p.Embedding[1]); // zero gradient and zero weight stay zero
    }

    [Fact]
    public void WarmupThenCosineToTheFloor()
    {
        var s = new LearningRateSchedule(Peak: 1e-3, WarmupSteps: 10, TotalSteps: 110, FinalFraction: 0.1);
        Assert.Equal(1e-4, s.At(0), 12);                       // (0 + 1)/10 of the way up
        Assert.Equal(1e-3 * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * 9 / 110))), s.At(9), 12);
        Assert.Equal(1e-3 * (0.1 + 0.9 * 0.5), s.At(55), 12);  // half way down the cosine
        Assert.Equal(1e-4, s.At(110), 12);
        Assert.Equal(1e-4, s.At(500), 12);                     // stays at the floor after the end
        for (int i = 10; i < 110; i++) Assert.True(s.At(i + 1) <= s.At(i));
    }

    [Fact]
    public void ClippingScalesToTheMaximumNormAndReportsTheOriginal()
    {
        var config = TrainingFixtures.TinyConfig(tied: false, layers: 1);
        var g = DreamParameters<float>.Zeros(config);
        g.Embedding[3] = 3f;
        g.LmHead[0] = 4f;                                      // two tensors: the norm is global, 5
        Assert.Equal(5.0, GradientClipping.ClipGlobalNorm(g, 1.0), 6);
        Assert.Equal(0.6f, g.Embedding[3], 5);
        Assert.Equal(0.8f, g.LmHead[0], 5);
        Assert.Equal(1.0, GradientClipping.ClipGlobalNorm(g, 2.0), 5); // under the limit: untouched
        Assert.Equal(0.6f, g.Embedding[3], 5);
    }

    [Fact]
    public void InitializationIsSeededAndShapedLikeTheRecipe()
    {
        var config = TrainingFixtures.TinyConfig(tied: false);
        var a = DreamParameters<float>.Initialize(config, 3);
        var b = DreamParameters<float>.Initialize(config, 3);
        var c = DreamParameters<float>.Initialize(config, 4);
        Assert.Equal(a.Embedding, b.Embedding);
        Assert.NotEqual(a.Embedding, c.Embedding);
        Assert.All(a.Layers[0].InputNorm, x => Assert.Equal(1f, x));
        Assert.All(a.Layers[0].QBias, x => Assert.Equal(0f, x));
        double std = Math.Sqrt(a.Layers[1].GateProj.Average(x => (double)x * x));
        Assert.InRange(std, 0.015, 0.025);
        Assert.Equal(config.ParameterCount, a.Count);
    }
}
