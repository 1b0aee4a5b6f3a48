namespace Dream.Cli;

/// <summary>
/// Where a command writes and whether a person is watching: <see cref="Interactive"/> is true only when stdout is
/// a terminal, so live redraws (ANSI) never end up in a redirected file.
/// </summary>
public sealed record CliContext(TextWriter Out, TextWriter Err, bool Interactive = false, CancellationToken Cancel = default);
