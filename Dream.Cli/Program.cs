namespace Dream.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        // Ctrl+C cancels the generation in flight; the loop stops between steps and the command exits cleanly.
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (cancel.IsCancellationRequested) return; // a second Ctrl+C ends the process the usual way
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.OutputEncoding = System.Text.Encoding.UTF8;
        return DreamCommand.Run(args, Console.Out, Console.Error, cancel.Token, interactive: !Console.IsOutputRedirected, stdin: Console.In);
    }
}
