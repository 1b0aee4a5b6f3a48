using Dream.Core.Generation;

namespace Dream.Cli.Commands;

/// <summary>
/// `dream infill "text with <|mask|> holes"`: every `<|mask|>` in the text is one token for the model to fill
/// (write several in a row for a longer hole); nothing is appended unless --max-new-tokens asks for it. Steps
/// default to the number of holes, one token committed per step.
/// </summary>
public static class InfillCommand
{
    public static readonly string[] ValueOptions = GenerationFlags.ValueOptions.Concat(new[] { "model" }).ToArray();
    public static readonly string[] FlagOptions = GenerationFlags.FlagOptions.Concat(new[] { "visual", "json" }).ToArray();

    public static int Run(CommandLine cl, CliContext io)
    {
        if (cl.Positionals.Count != 1) throw new UsageException("dream infill: expected one argument, the text with <|mask|> holes");
        using var model = new TextModel(ModelResolver.Resolve(cl.String("model")), GenerationFlags.Backend(cl, "cpu"), GenerationFlags.Kernels(cl));
        int[] ids = model.RequireTokenizer("infill").Encode(cl.Positionals[0]);
        int holes = ids.Count(id => id == model.Config.MaskTokenId);
        if (holes == 0 && cl.Int("max-new-tokens", 0) is null or 0)
            throw new UsageException("dream infill: the text has no <|mask|> hole (and --max-new-tokens is 0)");

        var options = GenerationFlags.Build(cl, model.Defaults) with { MaxNewTokens = cl.Int("max-new-tokens", 0) ?? 0 };
        if (cl.Int("steps", 1) is null) options = options with { Steps = Math.Max(1, holes + (options.MaxNewTokens ?? 0)) };
        GenerateCommand.Run(model, ids, options, io, cl.Flag("visual"), cl.Flag("json"), label: null, wholeCanvas: true);
        return 0;
    }
}
