using Dream.Core.Generation;
using Xunit;

namespace Dream.Tests.Generation;

public class TokenSamplerTests
{
    private static TokenSampler Sampler(DecodingAlgorithm algorithm, int vocab, double temperature = 0) =>
        TokenSampler.Create(new GenerationOptions { Algorithm = algorithm, Temperature = temperature }, vocab);

    [Fact]
    public void Softmax_subtracts_the_max_so_large_logits_do_not_overflow()
    {
        double[] probs = new double[3];
        Softmax.Compute([1000, 999, -1000], probs);
        Assert.Equal(1 / (1 + Math.Exp(-1)), probs[0], 12);
        Assert.Equal(0, probs[2]);
        Assert.All(probs, p => Assert.True(double.IsFinite(p)));
    }

    [Fact]
    public void Argmax_takes_the_first_index_on_ties()
    {
        var sampled = Sampler(DecodingAlgorithm.MaskGitPlus, 4).Sample(new float[] { 1f, 3f, 3f, 0f }, 0);
        Assert.Equal(1, sampled.Token);
    }

    [Fact]
    public void MaskGitPlus_confidence_is_the_max_probability()
    {
        float[] logits = [0f, 2f, 1f];
        double[] probs = new double[3];
        Softmax.Compute(logits.Select(l => (double)l).ToArray(), probs);
        var sampled = Sampler(DecodingAlgorithm.MaskGitPlus, 3).Sample(logits, 0);
        Assert.Equal(1, sampled.Token);
        Assert.Equal(probs[1], sampled.Confidence);
    }

    [Fact]
    public void TopKMargin_confidence_is_the_gap_between_the_two_largest()
    {
        float[] logits = [0f, 2f, 1f];
        double[] probs = new double[3];
        Softmax.Compute(logits.Select(l => (double)l).ToArray(), probs);
        Assert.Equal(probs[1] - probs[2], Sampler(DecodingAlgorithm.TopKMargin, 3).Sample(logits, 0).Confidence);
        Assert.Equal(0, Sampler(DecodingAlgorithm.TopKMargin, 3).Sample(new float[] { 4f, 4f, 1f }, 0).Confidence);
    }

    [Fact]
    public void Entropy_confidence_is_sum_p_log_p_plus_1e10()
    {
        float[] logits = [0f, 1f, 2f, -3f];
        double[] probs = new double[4];
        Softmax.Compute(logits.Select(l => (double)l).ToArray(), probs);
        double expected = probs.Sum(p => p * Math.Log(p + 1e-10));
        var sampled = Sampler(DecodingAlgorithm.Entropy, 4).Sample(logits, 0);
        Assert.Equal(2, sampled.Token);
        Assert.Equal(expected, sampled.Confidence, 15);
        Assert.True(sampled.Confidence < 0);
    }

    [Fact]
    public void Entropy_of_a_certain_prediction_is_zero_and_surest()
    {
        var sure = Sampler(DecodingAlgorithm.Entropy, 3).Sample(new float[] { 0f, 200f, 0f }, 0);
        var unsure = Sampler(DecodingAlgorithm.Entropy, 3).Sample(new float[] { 0f, 0.1f, 0f }, 0);
        Assert.InRange(sure.Confidence, -1e-9, 1e-9);   // 1·log(1 + 1e-10) ≈ 1e-10 is all that is left
        Assert.True(sure.Confidence > unsure.Confidence);
    }

    [Fact]
    public void Saturated_probabilities_still_rank_in_double()
    {
        // In float32 both rows read p = 1 exactly; the sampler keeps them apart.
        var sampler = Sampler(DecodingAlgorithm.MaskGitPlus, 3);
        double surer = sampler.Sample(new float[] { 0f, 30f, 0f }, 0).Confidence;
        double lessSure = sampler.Sample(new float[] { 0f, 25f, 0f }, 0).Confidence;
        Assert.Equal(1f, (float)surer);
        Assert.Equal(1f, (float)lessSure);
        Assert.True(surer > lessSure);
    }

    [Fact]
    public void Filtered_tokens_get_zero_probability_and_are_never_drawn()
    {
        var sampler = TokenSampler.Create(new GenerationOptions { Temperature = 1, TopK = 1 }, 3);
        for (int i = 0; i < 50; i++)
            Assert.Equal(2, sampler.Sample(new float[] { 1f, 1.5f, 2f }, i / 50.0).Token);
    }

    [Fact]
    public void Categorical_walks_the_cumulative_distribution()
    {
        double[] probs = [0.25, 0, 0.5, 0.25];
        Assert.Equal(0, TokenSampler.Categorical(probs, 0.0));
        Assert.Equal(0, TokenSampler.Categorical(probs, 0.2499));
        Assert.Equal(2, TokenSampler.Categorical(probs, 0.25));
        Assert.Equal(3, TokenSampler.Categorical(probs, 0.9999999));
    }
}
