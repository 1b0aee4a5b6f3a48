namespace Dream.Cli;

/// <summary>Dispatches `dream SUBCOMMAND ...` (kept free of Console so tests can drive it in-process).</summary>
public static class DreamCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        stderr.WriteLine("dream: not implemented yet");
        return 2;
    }
}
