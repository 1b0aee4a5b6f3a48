using System.Diagnostics;
using System.Globalization;

namespace Dream.Cli;

/// <summary>"step 12/82 · 35.2 steps/s · ETA 2s": the line shown under a live canvas or on stderr during long work.</summary>
public sealed class ProgressLine
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public string Format(int done, int total, string unit, string? extra = null)
    {
        double seconds = _clock.Elapsed.TotalSeconds;
        double rate = seconds > 0 ? done / seconds : 0;
        string eta = rate > 0 ? FormatSeconds((total - done) / rate) : "?";
        string text = string.Create(CultureInfo.InvariantCulture, $"{unit} {done}/{total} · {rate:0.0} {unit}s/s · ETA {eta}");
        return extra is null ? text : $"{text} · {extra}";
    }

    public double ElapsedSeconds => _clock.Elapsed.TotalSeconds;

    private static string FormatSeconds(double s) => s switch
    {
        < 1 => "0s",
        < 90 => $"{s:0}s",
        < 5400 => $"{s / 60:0}m{s % 60:00}s",
        _ => $"{s / 3600:0.0}h",
    };
}
