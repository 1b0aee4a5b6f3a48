namespace Dream.Cli;

/// <summary>
/// `--visual`: redraws the canvas in place after every step on a terminal (masks drawn distinctly, tokens appearing
/// in unmasking order, a progress line), or prints one plain frame per step when output is redirected.
/// </summary>
public sealed class LiveCanvas(CliContext io, int steps)
{
    private readonly ProgressLine _progress = new();
    private int _lines;

    public void Draw(int? step, string canvasText, int masksLeft)
    {
        string status = step is null
            ? $"step 0/{steps} · {masksLeft} masked"
            : _progress.Format(step.Value + 1, steps, "step", $"{masksLeft} masked");
        if (io.Interactive)
        {
            if (_lines > 0) io.Out.Write($"\u001b[{_lines}A\r\u001b[J");
            string frame = canvasText.Replace("░", "\u001b[7m \u001b[0m") + "\n\u001b[2m" + status + "\u001b[0m\n";
            io.Out.Write(frame);
            _lines = CountLines(canvasText) + 1;
        }
        else
        {
            io.Out.WriteLine($"[{status}]");
            io.Out.WriteLine(canvasText);
        }
        io.Out.Flush();
    }

    /// <summary>Terminal rows a text takes (lines only; wrapping of long lines is not counted, so narrow
    /// terminals may leave some stale rows above a frame).</summary>
    private static int CountLines(string text) => text.Count(c => c == '\n') + 1;
}
