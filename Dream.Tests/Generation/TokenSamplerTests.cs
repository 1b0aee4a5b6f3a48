using Dream.Core.Generation;
using Xunit;

namespace Dream.Tests.Generation;

public class TokenSamplerTests
{
    private static TokenSampler Sampler(DecodingAlgorithm algorithm, int vocab, float temperature = 0f) =>
        TokenSampler.Create(new GenerationOptions { Algorithm = algorithm, Temperature = temperature }, vocab);

    [Fact]
    public void Softmax_subtracts_the_max_so_large_logits_do_not_overflow()
    {
        float[] probs = new float[3];
        Softmax.Compute([1000f, 999f, -1000f], probs);
        Assert.Equal(1f / (1f + MathF.Exp(-1f)), probs[0], 6);
        Assert.Equal(0f, probs[2]);
        Assert.All(probs, p => Assert.True(float.IsFinite(p)));
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
        float[] probs = new float[3];
        Softmax.Compute(logits, probs);
        var sampled = Sampler(DecodingAlgorithm.MaskGitPlus, 3).Sample(logits, 0);
        Assert.Equal(1, sampled.Token);
        Assert.Equal(probs[1], sampled.Confidence);
    }

    [Fact]
    public void TopKMargin_confidence_is_the_gap_between_the_two_largest()
    {
        float[] logits = [0f, 2f, 1f];
        float[] probs = new float[3];
        Softmax.Compute(logits, probs);
        Assert.Equal(probs[1] - probs[2], Sampler(DecodingAlgorithm.TopKMargin, 3).Sample(logits, 0).Confidence);
        Assert.Equal(0f, Sampler(DecodingAlgorithm.TopKMargin, 3).Sample(new float[] { 4f, 4f, 1f }, 0).Confidence);
    }

    [Fact]
    public void Entropy_confidence_is_sum_p_log_p_plus_1e10()
    {
        float[] logits = [0f, 1f, 2f, -3f];
        float[] probs = new float[4];
        Softmax.Compute(logits, probs);
        double expected = probs.Sum(p => (double)(p * MathF.Log(p + 1e-10f)));
        var sampled = Sampler(DecodingAlgorithm.Entropy, 4).Sample(logits, 0);
        Assert.Equal(2, sampled.Token);
        Assert.Equal((float)expected, sampled.Confidence);
        Assert.True(sampled.Confidence < 0f);
    }

    [Fact]
    public void Entropy_of_a_certain_prediction_is_zero_and_surest()
    {
        var sure = Sampler(DecodingAlgorithm.Entropy, 3).Sample(new float[] { 0f, 200f, 0f }, 0);
        var unsure = Sampler(DecodingAlgorithm.Entropy, 3).Sample(new float[] { 0f, 0.1f, 0f }, 0);
        Assert.Equal(0f, sure.Confidence);
        Assert.True(sure.Confidence > unsure.Confidence);
    }

    [Fact]
    public void Filtered_tokens_get_zero_probability_and_are_never_drawn()
    {
        var sampler = TokenSampler.Create(new GenerationOptions { Temperature = 1f, TopK = 1 }, 3);
        for (int i = 0; i < 50; i++)
            Assert.Equal(2, sampler.Sample(new float[] { 1f, 1.5f, 2f }, i / 50.0).Token);
    }

    [Fact]
    public void Categorical_walks_the_cumulative_distribution()
    {
        float[] probs = [0.25f, 0f, 0.5f, 0.25f];
        Assert.Equal(0, TokenSampler.Categorical(probs, 0.0));
        Assert.Equal(0, TokenSampler.Categorical(probs, 0.2499));
        Assert.Equal(2, TokenSampler.Categorical(probs, 0.25));
        Assert.Equal(3, TokenSampler.Categorical(probs, 0.9999999));
    }
}
