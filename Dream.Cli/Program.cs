namespace Dream.Cli;

public static class Program
{
    public static int Main(string[] args) => DreamCommand.Run(args, Console.Out, Console.Error);
}
