using Dream.Core.Generation;
using Xunit;

namespace Dream.Tests.Generation;

public class TokenFilterTests
{
    [Fact]
    public void Temperature_divides()
    {
        var filter = new TokenFilter(3, 0.7, null, null);
        double[] logits = [1, -2, 3.3];
        filter.Apply(logits);
        Assert.Equal([1 / 0.7, -2 / 0.7, 3.3 / 0.7], logits);
    }

    [Fact]
    public void Top_k_drops_strictly_below_the_kth_largest_and_keeps_ties()
    {
        var filter = new TokenFilter(6, 0, null, 2);
        double[] logits = [1, 5, 3, 3, -1, 2];
        filter.Apply(logits);
        // The 2nd largest is 3 and two tokens hold it: both stay.
        Assert.Equal([double.MinValue, 5, 3, 3, double.MinValue, double.MinValue], logits);
    }

    [Fact]
    public void Top_k_at_or_above_the_vocabulary_keeps_everything()
    {
        double[] logits = [1, 5, 3];
        new TokenFilter(3, 0, null, 3).Apply(logits);
        Assert.Equal([1, 5, 3], logits);
        new TokenFilter(3, 0, null, 50).Apply(logits);
        Assert.Equal([1, 5, 3], logits);
    }

    [Fact]
    public void Top_p_keeps_up_to_and_including_the_first_token_that_crosses_p_and_uses_the_dtype_minimum()
    {
        // Probabilities ≈ 0.643, 0.236, 0.087, 0.032, 0.002 (descending by construction).
        double[] logits = [0, -1, -2, -3, -6];
        var filter = new TokenFilter(5, 0, 0.8, null);
        filter.Apply(logits);
        Assert.Equal([0, -1, double.MinValue, double.MinValue, double.MinValue], logits);
        Assert.DoesNotContain(double.NegativeInfinity, logits);
    }

    [Fact]
    public void Top_p_always_keeps_the_top_token()
    {
        double[] logits = [9, 0, 0, 0];
        new TokenFilter(4, 0, 0.01, null).Apply(logits);
        Assert.Equal([9, double.MinValue, double.MinValue, double.MinValue], logits);
    }

    [Fact]
    public void Top_p_of_one_is_no_filter()
    {
        double[] logits = [1, 2, 3];
        new TokenFilter(3, 0, 1, null).Apply(logits);
        Assert.Equal([1, 2, 3], logits);
    }

    [Fact]
    public void Top_p_breaks_logit_ties_by_lowest_token_id()
    {
        // Four equal tokens, 0.25 each: the nucleus for 0.3 is the first two by id.
        double[] logits = [2, 2, 2, 2];
        new TokenFilter(4, 0, 0.3, null).Apply(logits);
        Assert.Equal([2, 2, double.MinValue, double.MinValue], logits);
    }

    [Fact]
    public void Top_p_on_a_flat_row_sorts_the_whole_row()
    {
        // Every token within the prefix window: the cut still comes out right.
        var logits = Enumerable.Range(0, 1000).Select(i => -i / 1000.0).ToArray();
        double total = logits.Sum(l => Math.Exp(l)), cumulative = 0;
        int expected = 0;
        while (cumulative / total <= 0.5) cumulative += Math.Exp(logits[expected++]);
        new TokenFilter(1000, 0, 0.5, null).Apply(logits);
        int kept = logits.Count(l => l != double.MinValue);
        Assert.Equal(expected, kept);   // ≈ 380: the nucleus of e^-x over [0, 1) for p = 0.5
        Assert.All(logits.Take(kept), l => Assert.NotEqual(double.MinValue, l));
    }

    [Fact]
    public void Top_p_then_top_k_apply_in_the_official_order()
    {
        double[] logits = [0, -1, -2, -3, -6];
        new TokenFilter(5, 0, 0.95, 2).Apply(logits);
        Assert.Equal([0, -1, double.MinValue, double.MinValue, double.MinValue], logits);
    }

    [Fact]
    public void Rejects_bad_arguments_by_name()
    {
        Assert.Equal("topP", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenFilter(4, 0, 0, null)).ParamName);
        Assert.Equal("topP", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenFilter(4, 0, 1.5, null)).ParamName);
        Assert.Equal("topK", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenFilter(4, 0, null, 0)).ParamName);
        Assert.Equal("temperature", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenFilter(4, -1, null, null)).ParamName);
        Assert.Equal("logits", Assert.Throws<ArgumentException>(() => new TokenFilter(4, 0, null, null).Apply(new double[3])).ParamName);
    }
}
