using System.Text.Json;
using Dream.Core.Generation;
using Dream.Tests.Support;
using Xunit;

namespace Dream.Tests.Generation;

public class NoiseScheduleTests
{
    /// <summary>Tokens revealed per step for one fully masked row, replayed the way the loop does it.</summary>
    private static int[] Replay(int newTokens, int steps, float eps = 1e-3f)
    {
        var schedule = new NoiseSchedule(steps, eps);
        var revealed = new int[steps];
        int left = newTokens;
        for (int i = 0; i < steps; i++)
        {
            revealed[i] = schedule.RevealCount(i, left);
            left -= revealed[i];
        }
        return revealed;
    }

    [Fact]
    public void Reproduces_every_schedule_vector_exactly()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestData.Golden, "schedule-vectors.json")));
        int checkedCount = 0;
        foreach (var entry in doc.RootElement.GetProperty("schedules").EnumerateObject())
        {
            var parts = entry.Name.Split('_');
            int newTokens = int.Parse(parts[0]), steps = int.Parse(parts[1]);
            int[] expected = entry.Value.EnumerateArray().Select(e => e.GetInt32()).ToArray();
            int[] actual = Replay(newTokens, steps);
            int first = Array.FindIndex(expected, i => i >= actual.Length || actual[i] != expected[i]);
            Assert.True(expected.SequenceEqual(actual),
                $"{entry.Name}: first difference at step {first}: expected {expected.ElementAtOrDefault(first)}, got {actual.ElementAtOrDefault(first)}");
            checkedCount++;
        }
        Assert.Equal(17, checkedCount);
    }

    [Fact]
    public void Linspace_ends_exactly_at_both_ends_and_is_symmetric_in_construction()
    {
        foreach (int steps in new[] { 1, 2, 3, 7, 64, 511, 512, 1024 })
        {
            var t = new NoiseSchedule(steps, 1e-3f).Timesteps;
            Assert.Equal(steps + 1, t.Length);
            Assert.Equal(1f, t[0]);
            Assert.Equal(1e-3f, t[steps]);
            for (int i = 1; i <= steps; i++) Assert.True(t[i] < t[i - 1], $"steps {steps}: t[{i}] = {t[i]} is not below t[{i - 1}] = {t[i - 1]}");
        }
    }

    [Fact]
    public void Linspace_uses_one_rounding_per_value()
    {
        // step = (1e-3 − 1)/3 in float32; the lower half counts up from 1, the upper half down from eps.
        float step = (1e-3f - 1f) / 3;
        var t = NoiseSchedule.Linspace(1f, 1e-3f, 4);
        Assert.Equal(MathF.FusedMultiplyAdd(step, 1, 1f), t[1]);
        Assert.Equal(MathF.FusedMultiplyAdd(-step, 1, 1e-3f), t[2]);
    }

    [Fact]
    public void Last_step_reveals_everything_left()
    {
        var schedule = new NoiseSchedule(5, 1e-3f);
        Assert.Equal(7, schedule.RevealCount(4, 7f));
        Assert.Equal(1f, schedule.RevealProbability(4));
        Assert.Equal(1, schedule.RevealCount(4, 1.5f));   // the official (int)(maskCount / B) truncates an average
    }

    [Fact]
    public void Every_schedule_reveals_all_tokens_by_the_end()
    {
        foreach (var (n, steps) in new[] { (1, 1), (16, 5), (12, 30), (4, 7), (96, 24), (1, 64), (300, 7) })
            Assert.Equal(n, Replay(n, steps).Sum());
    }

    [Fact]
    public void Rejects_bad_arguments_by_name()
    {
        Assert.Equal("steps", Assert.Throws<ArgumentOutOfRangeException>(() => new NoiseSchedule(0, 1e-3f)).ParamName);
        Assert.Equal("eps", Assert.Throws<ArgumentOutOfRangeException>(() => new NoiseSchedule(4, 1f)).ParamName);
        Assert.Equal("eps", Assert.Throws<ArgumentOutOfRangeException>(() => new NoiseSchedule(4, float.NaN)).ParamName);
        Assert.Equal("step", Assert.Throws<ArgumentOutOfRangeException>(() => new NoiseSchedule(4, 1e-3f).RevealCount(4, 3f)).ParamName);
    }
}
