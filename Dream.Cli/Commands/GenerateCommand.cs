using System.Text.Json;
using Dream.Core.Generation;
using Dream.Core.Tokenization;

namespace Dream.Cli.Commands;

/// <summary>
/// `dream generate --prompt TEXT | --prompt-ids 1,2,3 [--chat] [--model DIR|REPO_ID] [sampling flags]
/// [--visual] [--json] [--history-out FILE]`: one diffusion generation. `--json` prints the result as one JSON
/// line (with `--visual`, one line per step as well).
/// </summary>
public static class GenerateCommand
{
    public static readonly string[] ValueOptions = GenerationFlags.ValueOptions
        .Concat(new[] { "model", "prompt", "prompt-ids", "history-out" }).ToArray();
    public static readonly string[] FlagOptions = GenerationFlags.FlagOptions.Concat(new[] { "chat", "visual", "json" }).ToArray();

    public static int Run(CommandLine cl, CliContext io)
    {
        cl.ExpectPositionals(0, "only options (put the prompt after --prompt)");
        string? text = cl.String("prompt");
        int[]? promptIds = cl.IntList("prompt-ids");
        if ((text is null) == (promptIds is null))
            throw new UsageException("dream generate: give exactly one of --prompt TEXT or --prompt-ids 1,2,3");
        if (promptIds is not null && cl.Flag("chat"))
            throw new UsageException("dream generate: --chat applies the chat template to --prompt text, not to --prompt-ids");

        using var model = new TextModel(ModelResolver.Resolve(cl.String("model")), GenerationFlags.Backend(cl, "cpu"), GenerationFlags.Kernels(cl));
        if (text is not null)
        {
            var tokenizer = model.RequireTokenizer("generate");
            string rendered = cl.Flag("chat") ? ChatTemplate.Render(new[] { ChatMessage.User(text) }) : text;
            promptIds = tokenizer.Encode(rendered);
        }
        var options = GenerationFlags.Build(cl, model.Defaults) with { OutputHistory = cl.String("history-out") is not null };
        var result = Run(model, promptIds!, options, io, cl.Flag("visual"), cl.Flag("json"));

        if (cl.String("history-out") is { } historyPath)
            File.WriteAllText(historyPath, JsonSerializer.Serialize(new { prompt_ids = promptIds, history = result.History }));
        return 0;
    }

    /// <summary>Runs one generation with the shared visual/JSON presentation (also used by chat and infill).</summary>
    /// <param name="wholeCanvas">print the whole canvas (prompt included, as infilling wants) instead of the new tokens.</param>
    public static GenerationResult Run(TextModel model, int[] promptIds, GenerationOptions options, CliContext io, bool visual, bool json,
        string? label = null, bool wholeCanvas = false)
    {
        var canvasView = visual && !json ? new LiveCanvas(io, options.Steps) : null;
        int mask = options.MaskTokenId ?? model.Config.MaskTokenId;
        TokensHook? hook = null;
        if (canvasView is not null)
            hook = (step, canvas) => canvasView.Draw(step, model.RenderCanvas(canvas), Count(canvas, mask));
        else if (visual && json)
            hook = (step, canvas) => io.Out.WriteLine(JsonSerializer.Serialize(new { step, ids = canvas.ToArray() }));

        var clock = new ProgressLine();
        var result = model.Generate(promptIds, options, new GenerationHooks { Tokens = hook }, io.Cancel);
        var generated = result.Generated(0);
        string? textOut = model.Tokenizer?.Decode(wholeCanvas ? result.Row(0) : model.UntilEos(generated), skipSpecialTokens: true);

        if (json)
        {
            io.Out.WriteLine(JsonSerializer.Serialize(new
            {
                prompt_ids = promptIds,
                ids = result.Row(0).ToArray(),
                generated_ids = generated.ToArray(),
                text = textOut,
                steps = options.Steps,
                alg = options.Algorithm.ToOfficialName(),
                backend = model.Model.BackendName,
                seconds = Math.Round(clock.ElapsedSeconds, 3),
            }));
        }
        else
        {
            if (label is not null) io.Out.Write(label);
            io.Out.WriteLine(textOut ?? string.Join(' ', generated.ToArray()));
            if (!io.Interactive || visual)
                io.Err.WriteLine($"[{options.Steps} steps, {options.Algorithm.ToOfficialName()}, backend {model.Model.BackendName}, {clock.ElapsedSeconds:0.00}s]");
        }
        return result;
    }

    private static int Count(ReadOnlySpan<int> ids, int value)
    {
        int n = 0;
        foreach (int id in ids) n += id == value ? 1 : 0;
        return n;
    }
}
