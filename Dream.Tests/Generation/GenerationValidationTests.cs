using Dream.Core.Generation;
using Dream.Core.Model;
using Xunit;

namespace Dream.Tests.Generation;

/// <summary>Bad arguments fail before any forward pass, with a message that names what was wrong.</summary>
public class GenerationValidationTests
{
    private readonly FakeForwardModel _model = new(vocabSize: 12, maxPositions: 16);

    private TException Fails<TException>(GenerationOptions options, PromptBatch? prompt = null) where TException : Exception
    {
        var e = Assert.ThrowsAny<TException>(() =>
            new DiffusionGenerator(_model).Generate(prompt ?? PromptBatch.Single([1, 2]), options));
        Assert.Equal(0, _model.Forwards);
        return e;
    }

    [Fact]
    public void Steps_must_be_at_least_one() =>
        Assert.Contains("Steps", Fails<ArgumentOutOfRangeException>(new GenerationOptions { Steps = 0, MaxNewTokens = 2 }).Message);

    [Fact]
    public void Top_p_must_lie_in_zero_one()
    {
        Assert.Contains("TopP", Fails<ArgumentOutOfRangeException>(new GenerationOptions { TopP = 0f, MaxNewTokens = 2 }).Message);
        Assert.Contains("TopP", Fails<ArgumentOutOfRangeException>(new GenerationOptions { TopP = 1.01f, MaxNewTokens = 2 }).Message);
        Assert.Contains("TopP", Fails<ArgumentOutOfRangeException>(new GenerationOptions { TopP = float.NaN, MaxNewTokens = 2 }).Message);
    }

    [Fact]
    public void Top_k_must_be_positive() =>
        Assert.Contains("TopK", Fails<ArgumentOutOfRangeException>(new GenerationOptions { TopK = 0, MaxNewTokens = 2 }).Message);

    [Fact]
    public void Temperatures_must_be_finite_and_not_negative()
    {
        Assert.Contains("Temperature", Fails<ArgumentOutOfRangeException>(new GenerationOptions { Temperature = -0.1f, MaxNewTokens = 2 }).Message);
        Assert.Contains("Temperature", Fails<ArgumentOutOfRangeException>(new GenerationOptions { Temperature = float.PositiveInfinity, MaxNewTokens = 2 }).Message);
        Assert.Contains("AlgTemp", Fails<ArgumentOutOfRangeException>(new GenerationOptions { AlgTemp = -1f, MaxNewTokens = 2 }).Message);
    }

    [Fact]
    public void Eps_must_lie_in_zero_one() =>
        Assert.Contains("Eps", Fails<ArgumentOutOfRangeException>(new GenerationOptions { Eps = 1f, MaxNewTokens = 2 }).Message);

    [Fact]
    public void New_tokens_must_not_be_negative() =>
        Assert.Contains("MaxNewTokens", Fails<ArgumentOutOfRangeException>(new GenerationOptions { MaxNewTokens = -1 }).Message);

    [Fact]
    public void Length_must_fit_max_position_embeddings() =>
        Assert.Contains("max_position_embeddings", Fails<ArgumentOutOfRangeException>(new GenerationOptions { MaxNewTokens = 15 }).Message);

    [Fact]
    public void Max_length_must_cover_the_prompt() =>
        Assert.Contains("MaxLength", Fails<ArgumentOutOfRangeException>(new GenerationOptions { MaxLength = 1 }).Message);

    [Fact]
    public void Max_length_sets_the_total_when_max_new_tokens_is_unset()
    {
        var result = new DiffusionGenerator(_model).Generate(PromptBatch.Single([1, 2]), new GenerationOptions { MaxLength = 7, Steps = 2 });
        Assert.Equal(7, result.Length);
    }

    [Fact]
    public void Mask_id_must_lie_in_the_vocabulary() =>
        Assert.Contains("mask token id 12", Fails<ArgumentOutOfRangeException>(new GenerationOptions { MaskTokenId = 12, MaxNewTokens = 2 }).Message);

    [Fact]
    public void Prompt_ids_must_lie_in_the_vocabulary() =>
        Assert.Contains("prompt token 40", Fails<ArgumentException>(new GenerationOptions { MaxNewTokens = 2 }, PromptBatch.Single([1, 40])).Message);

    [Fact]
    public void An_empty_canvas_is_refused() =>
        Assert.Contains("empty", Fails<ArgumentException>(new GenerationOptions { MaxNewTokens = 0 }, PromptBatch.Single([])).Message);

    [Fact]
    public void Batched_prompts_must_have_one_length_or_be_left_padded()
    {
        var e = Assert.Throws<ArgumentException>(() => new PromptBatch([[1, 2, 3], [4]]));
        Assert.Contains("left-pad", e.Message);
        Assert.Equal("rows", e.ParamName);
    }

    [Fact]
    public void Attention_mask_must_match_the_prompts()
    {
        Assert.Equal("attentionMask", Assert.Throws<ArgumentException>(() => new PromptBatch([[1, 2]], [[1]])).ParamName);
        Assert.Equal("attentionMask", Assert.Throws<ArgumentException>(() => new PromptBatch([[1, 2]], [[1, 2]])).ParamName);
        Assert.Equal("attentionMask", Assert.Throws<ArgumentException>(() => new PromptBatch([[1, 2]], [[1, 1], [1, 1]])).ParamName);
    }

    [Fact]
    public void Unknown_algorithm_names_are_refused_by_name()
    {
        var e = Assert.Throws<ArgumentException>(() => DecodingAlgorithmNames.Parse("greedy"));
        Assert.Contains("greedy", e.Message);
    }

    [Fact]
    public void Defaults_are_the_documented_deterministic_ones()
    {
        var o = new GenerationOptions();
        Assert.Equal(0, o.Temperature);
        Assert.Equal(0, o.AlgTemp);
        Assert.Null(o.TopP);
        Assert.Null(o.TopK);
        Assert.Equal(1e-3f, o.Eps);
        Assert.Equal(DecodingAlgorithm.Entropy, o.Algorithm);
        Assert.Equal(RevealCounting.PerRow, o.RevealCounting);
        Assert.Equal(PositionTies.LowestPosition, o.PositionTies);
        Assert.Equal(GenerationOptions.DefaultMaxNewTokens, o.ResolveNewTokens(10));
    }

    [Fact]
    public void Overlay_takes_what_the_checkpoint_sets_and_keeps_the_rest()
    {
        var defaults = new GenerationDefaults { Steps = 16, Alg = "maskgit_plus", Temperature = 0.2, TopP = 0.95, Eps = 0.01 };
        var o = GenerationOptions.FromDefaults(defaults) with { Steps = 8 };
        Assert.Equal(8, o.Steps);
        Assert.Equal(DecodingAlgorithm.MaskGitPlus, o.Algorithm);
        Assert.Equal(0.2, o.Temperature);
        Assert.Equal(0.95, o.TopP);
        Assert.Equal(0.01f, o.Eps);
        Assert.Null(o.TopK);
        Assert.Equal(0, o.AlgTemp);
        Assert.Same(o, o.Overlay(null));
    }
}
