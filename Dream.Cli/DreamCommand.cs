using Dream.Cli.Commands;
using Dream.Core;

namespace Dream.Cli;

/// <summary>Dispatches `dream SUBCOMMAND ...`; kept free of Console so tests can drive it in-process.</summary>
public static class DreamCommand
{
    public const string Usage = """
        dream — Dream diffusion language models in pure C#

        usage:
          dream sudoku [PUZZLE] [--steps N] [--alg ALG] [--visual] [--backend NAME]
          dream sudoku --eval FILE [--limit N] [--steps N] [--alg ALG] [--json]
          dream generate --prompt TEXT [--model DIR|REPO_ID] [options]
          dream chat [--model DIR|REPO_ID] [options]
          dream infill "text with <|mask|> holes" [--model DIR|REPO_ID] [options]
          dream info --model DIR|REPO_ID
          dream verify --golden DIR [--only forward|generate|tokenizer] [--backend NAME]
          dream bench --backend NAME (--model DIR | --random-weights --shape dream-7b|planner) [--lens 256,512] [--reps N] [--gen NEWxSTEPS] [--graphs on|off|both] [--distribution normal|uniform] [--anatomy]
          dream train sudoku --size 4|9 [options]
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancel = default,
        bool interactive = false, TextReader? stdin = null)
    {
        var io = new CliContext(stdout, stderr, interactive, cancel);
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            string command = args[0];
            string[] rest = args[1..];
            return command switch
            {
                "sudoku" => SudokuCommand.Run(new CommandLine(command, rest, SudokuCommand.ValueOptions, SudokuCommand.FlagOptions), io),
                "generate" => GenerateCommand.Run(new CommandLine(command, rest, GenerateCommand.ValueOptions, GenerateCommand.FlagOptions), io),
                "infill" => InfillCommand.Run(new CommandLine(command, rest, InfillCommand.ValueOptions, InfillCommand.FlagOptions), io),
                "chat" => ChatCommand.Run(new CommandLine(command, rest, ChatCommand.ValueOptions, ChatCommand.FlagOptions), io, stdin ?? TextReader.Null),
                "bench" => BenchCommand.Run(new CommandLine(command, rest, BenchCommand.ValueOptions, BenchCommand.FlagOptions), io),
                "train" => TrainCommand.Run(new CommandLine(command, rest, TrainCommand.ValueOptions, TrainCommand.FlagOptions), stdout, stderr, cancel),
                "info" => InfoCommand.Run(new CommandLine(command, rest, new[] { "model" }, Array.Empty<string>()), stdout),
                "verify" => VerifyCommand.Run(new CommandLine(command, rest, new[] { "golden", "only", "backend", "kernels" }, Array.Empty<string>()), stdout),
                _ => throw new UsageException($"dream: unknown command '{command}' (try 'dream --help')"),
            };
        }
        catch (UsageException e) { stderr.WriteLine(e.Message); return 2; }
        catch (DreamFormatException e) { stderr.WriteLine($"dream: {e.Message}"); return 1; }
        // The library validates its arguments (lengths, ids, options) and says what was wrong; that is the user's line.
        catch (ArgumentException e) { stderr.WriteLine($"dream: {FirstLine(e.Message)}"); return 2; }
        catch (IOException e) { stderr.WriteLine($"dream: {e.Message}"); return 1; }
        catch (OperationCanceledException) { stderr.WriteLine("dream: cancelled"); return 130; }
    }

    private static string FirstLine(string message) => message.Split('\n')[0].TrimEnd();
}
