using Dream.Core.Generation;
using Xunit;

namespace Dream.Tests.Generation;

public class TokenFilterTests
{
    [Fact]
    public void Temperature_divides_in_float32()
    {
        var filter = new TokenFilter(3, 0.7f, null, null);
        float[] logits = [1f, -2f, 3.3f];
        filter.Apply(logits);
        Assert.Equal([1f / 0.7f, -2f / 0.7f, 3.3f / 0.7f], logits);
    }

    [Fact]
    public void Top_k_drops_strictly_below_the_kth_largest_and_keeps_ties()
    {
        var filter = new TokenFilter(6, 0f, null, 2);
        float[] logits = [1f, 5f, 3f, 3f, -1f, 2f];
        filter.Apply(logits);
        // The 2nd largest is 3 and two tokens hold it: both stay.
        Assert.Equal([float.MinValue, 5f, 3f, 3f, float.MinValue, float.MinValue], logits);
    }

    [Fact]
    public void Top_k_at_or_above_the_vocabulary_keeps_everything()
    {
        float[] logits = [1f, 5f, 3f];
        new TokenFilter(3, 0f, null, 3).Apply(logits);
        Assert.Equal([1f, 5f, 3f], logits);
        new TokenFilter(3, 0f, null, 50).Apply(logits);
        Assert.Equal([1f, 5f, 3f], logits);
    }

    [Fact]
    public void Top_p_keeps_up_to_and_including_the_first_token_that_crosses_p_and_uses_the_dtype_minimum()
    {
        // Probabilities ≈ 0.643, 0.236, 0.087, 0.032, 0.002 (descending by construction).
        float[] logits = [0f, -1f, -2f, -3f, -6f];
        var filter = new TokenFilter(5, 0f, 0.8f, null);
        filter.Apply(logits);
        Assert.Equal([0f, -1f, float.MinValue, float.MinValue, float.MinValue], logits);
        Assert.DoesNotContain(float.NegativeInfinity, logits);
    }

    [Fact]
    public void Top_p_always_keeps_the_top_token()
    {
        float[] logits = [9f, 0f, 0f, 0f];
        new TokenFilter(4, 0f, 0.01f, null).Apply(logits);
        Assert.Equal([9f, float.MinValue, float.MinValue, float.MinValue], logits);
    }

    [Fact]
    public void Top_p_of_one_is_no_filter()
    {
        float[] logits = [1f, 2f, 3f];
        new TokenFilter(3, 0f, 1f, null).Apply(logits);
        Assert.Equal([1f, 2f, 3f], logits);
    }

    [Fact]
    public void Top_p_breaks_logit_ties_by_lowest_token_id()
    {
        // Four equal tokens, 0.25 each: the nucleus for 0.3 is the first two by id.
        float[] logits = [2f, 2f, 2f, 2f];
        new TokenFilter(4, 0f, 0.3f, null).Apply(logits);
        Assert.Equal([2f, 2f, float.MinValue, float.MinValue], logits);
    }

    [Fact]
    public void Top_p_on_a_flat_row_sorts_the_whole_row()
    {
        // Every token within the prefix window: the cut still comes out right.
        var logits = Enumerable.Range(0, 1000).Select(i => -i / 1000f).ToArray();
        double total = logits.Sum(l => Math.Exp(l)), cumulative = 0;
        int expected = 0;
        while (cumulative / total <= 0.5) cumulative += Math.Exp(logits[expected++]);
        new TokenFilter(1000, 0f, 0.5f, null).Apply(logits);
        int kept = logits.Count(l => l != float.MinValue);
        Assert.Equal(expected, kept);   // ≈ 380: the nucleus of e^-x over [0, 1) for p = 0.5
        Assert.All(logits.Take(kept), l => Assert.NotEqual(float.MinValue, l));
    }

    [Fact]
    public void Top_p_then_top_k_apply_in_the_official_order()
    {
        float[] logits = [0f, -1f, -2f, -3f, -6f];
        new TokenFilter(5, 0f, 0.95f, 2).Apply(logits);
        Assert.Equal([0f, -1f, float.MinValue, float.MinValue, float.MinValue], logits);
    }

    [Fact]
    public void Rejects_bad_arguments_by_name()
    {
        Assert.Equal("topP", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenFilter(4, 0f, 0f, null)).ParamName);
        Assert.Equal("topP", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenFilter(4, 0f, 1.5f, null)).ParamName);
        Assert.Equal("topK", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenFilter(4, 0f, null, 0)).ParamName);
        Assert.Equal("temperature", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenFilter(4, -1f, null, null)).ParamName);
        Assert.Equal("logits", Assert.Throws<ArgumentException>(() => new TokenFilter(4, 0f, null, null).Apply(new float[3])).ParamName);
    }
}
