using Dream.Core.Tokenization;

namespace Dream.Cli.Commands;

/// <summary>
/// `dream chat`: a multi-turn conversation through the ChatML template (default system prompt unless --system is
/// given). Each line read from standard input is a user turn; an empty line, `/exit` or end of input ends it.
/// </summary>
public static class ChatCommand
{
    public static readonly string[] ValueOptions = GenerationFlags.ValueOptions.Concat(new[] { "model", "system" }).ToArray();
    public static readonly string[] FlagOptions = GenerationFlags.FlagOptions.Concat(new[] { "visual" }).ToArray();

    public static int Run(CommandLine cl, CliContext io, TextReader input)
    {
        cl.ExpectPositionals(0, "only options");
        using var model = new TextModel(ModelResolver.Resolve(cl.String("model")), GenerationFlags.Backend(cl, "cpu"), GenerationFlags.Kernels(cl));
        var tokenizer = model.RequireTokenizer("chat");
        var options = GenerationFlags.Build(cl, model.Defaults);
        var messages = new List<ChatMessage>();
        if (cl.String("system") is { } system) messages.Add(ChatMessage.System(system));

        while (!io.Cancel.IsCancellationRequested)
        {
            if (io.Interactive) io.Out.Write("you> ");
            string? line = input.ReadLine();
            if (line is null || line.Trim() is "" or "/exit") break;
            messages.Add(ChatMessage.User(line));
            int[] prompt = tokenizer.Encode(ChatTemplate.Render(messages));
            if (prompt.Length + (options.MaxNewTokens ?? Dream.Core.Generation.GenerationOptions.DefaultMaxNewTokens) > model.Config.MaxPositionEmbeddings)
                throw new UsageException($"dream chat: the conversation ({prompt.Length} tokens) no longer fits the model's context of {model.Config.MaxPositionEmbeddings}");
            var result = GenerateCommand.Run(model, prompt, options, io, cl.Flag("visual"), json: false, label: "dream> ");
            // The reply ends at <|im_end|> (or end of text); that is what the next turn's template repeats.
            string reply = tokenizer.Decode(model.UntilEos(result.Generated(0)), skipSpecialTokens: false);
            int end = reply.IndexOf(ChatTemplate.TurnEnd, StringComparison.Ordinal);
            messages.Add(ChatMessage.Assistant(end >= 0 ? reply[..end] : reply));
        }
        return 0;
    }
}
