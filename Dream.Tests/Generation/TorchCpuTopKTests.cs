using Dream.Core.Generation;

namespace Dream.Tests.Generation;

/// <summary>
/// The emulation of torch's CPU topk on exact ties. The expected sets were worked out by hand-running libstdc++'s
/// std::nth_element / std::partial_sort on the same input; the golden tiny-b cases with top_p (every margin 1.0)
/// and with a diverging batch pin it end to end.
/// </summary>
public class TorchCpuTopKTests
{
    private static int[] Pick(double[] values, int k)
    {
        var chosen = new int[k];
        new PositionSelector(values.Length, PositionTies.TorchCpu).MostConfident(values, k, chosen);
        return chosen.Order().ToArray();
    }

    [Fact]
    public void Ties_do_not_go_to_the_lowest_index_under_nth_element()
    {
        // Six unmasked positions (−∞) then sixteen equal confidences, as after top_p leaves one token per row.
        double[] values = [.. Enumerable.Repeat(double.NegativeInfinity, 6), .. Enumerable.Repeat(1.0, 16)];
        Assert.Equal([14], Pick(values, 1));
        Assert.Equal([14, 16], Pick(values, 2));
        Assert.Equal([6, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21], Pick(values, 13));
        Assert.Equal(Enumerable.Range(6, 16), Pick(values, 16));
    }

    [Fact]
    public void Distinct_values_give_the_true_top_k_on_both_paths()
    {
        var values = Enumerable.Range(0, 200).Select(i => (double)((i * 37) % 200)).ToArray();
        foreach (int k in new[] { 1, 3, 4, 50, 200 })   // k·64 ≤ 200 takes partial_sort, larger k nth_element
            Assert.Equal(Enumerable.Range(0, 200).OrderByDescending(i => values[i]).Take(k).Order(), Pick(values, k));
    }

    [Fact]
    public void Nan_ranks_above_everything()
    {
        Assert.Equal([2], Pick([1.0, 5.0, double.NaN, 3.0], 1));
    }
}
