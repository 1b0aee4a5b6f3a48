namespace Dream.Bench;

/// <summary>`dotnet run -c Release --project Dream.Bench -- BENCHMARK [options]`: a dispatcher, one line per benchmark.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string name = args.Length > 0 ? args[0] : "";
        string[] rest = args.Length > 0 ? args[1..] : [];
        const string Usage = "usage: Dream.Bench tokenizer [--tokenizer PATH] [--corpus PATH] [--mb N]";
        try
        {
            switch (name)
            {
                case "tokenizer": return TokenizerBench.Run(rest, Console.Out);
                default:
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Console.Error.WriteLine($"{e.Message}\n{Usage}");
            return 2;
        }
    }
}
