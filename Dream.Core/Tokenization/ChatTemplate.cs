using System.Text;

namespace Dream.Core.Tokenization;

/// <summary>
/// Dream-Instruct's chat template (ChatML, as Qwen2.5's Jinja template renders it without tools):
/// <code>
/// &lt;|im_start|&gt;system\nYou are a helpful assistant.&lt;|im_end|&gt;\n   ← only if the first message is not a system message
/// &lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n                       ← every message, in order
/// &lt;|im_start|&gt;assistant\n                                               ← with addGenerationPrompt
/// </code>
/// No BOS: Dream's template adds none. The rendered text is meant for <see cref="BpeTokenizer.Encode(string)"/>,
/// whose added-token matching turns each marker into its single id. The tools branch of the Jinja template is
/// not reproduced.
/// </summary>
public static class ChatTemplate
{
    public const string DefaultSystemPrompt = "You are a helpful assistant.";
    public const string TurnStart = "<|im_start|>";
    public const string TurnEnd = "<|im_end|>";

    public static string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var sb = new StringBuilder();
        if (messages.Count == 0 || messages[0].Role != ChatRole.System)
            AppendTurn(sb, ChatRole.System, DefaultSystemPrompt);
        for (int i = 0; i < messages.Count; i++)
        {
            var message = messages[i] ?? throw new ArgumentException($"message {i} is null", nameof(messages));
            if (message.Content is null) throw new ArgumentException($"message {i} has null content", nameof(messages));
            if (!Enum.IsDefined(message.Role)) throw new ArgumentException($"message {i} has unknown role {(int)message.Role}", nameof(messages));
            AppendTurn(sb, message.Role, message.Content);
        }
        if (addGenerationPrompt) sb.Append(TurnStart).Append("assistant\n");
        return sb.ToString();
    }

    private static void AppendTurn(StringBuilder sb, ChatRole role, string content) =>
        sb.Append(TurnStart).Append(RoleName(role)).Append('\n').Append(content).Append(TurnEnd).Append('\n');

    private static string RoleName(ChatRole role) => role switch
    {
        ChatRole.System => "system",
        ChatRole.User => "user",
        ChatRole.Assistant => "assistant",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };
}
