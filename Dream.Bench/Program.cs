namespace Dream.Bench;

/// <summary>`dotnet run -c Release --project Dream.Bench -- BENCHMARK [options]`: a dispatcher, one line per benchmark.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string name = args.Length > 0 ? args[0] : "";
        string[] rest = args.Length > 0 ? args[1..] : [];
        switch (name)
        {
            case "tokenizer": return TokenizerBench.Run(rest, Console.Out);
            default:
                Console.Error.WriteLine("usage: Dream.Bench tokenizer [--tokenizer PATH] [--corpus PATH] [--mb N]");
                return 2;
        }
    }
}
