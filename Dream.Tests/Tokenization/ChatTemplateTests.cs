using Dream.Core.Tokenization;
using Xunit;

namespace Dream.Tests.Tokenization;

/// <summary>ChatML as Dream-Instruct's template renders it, byte for byte.</summary>
public class ChatTemplateTests
{
    [Fact]
    public void OneUserTurnGetsTheDefaultSystemPrompt()
    {
        Assert.Equal(
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
            ChatTemplate.Render([ChatMessage.User("What is 2+2?")]));
    }

    [Fact]
    public void AnExplicitSystemMessageReplacesTheDefault()
    {
        Assert.Equal(
            "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
            ChatTemplate.Render([ChatMessage.System("Be terse."), ChatMessage.User("hi")]));
    }

    [Fact]
    public void EarlierAssistantTurnsAreClosed()
    {
        Assert.Equal(
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            + "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n"
            + "<|im_start|>user\nbye<|im_end|>\n<|im_start|>assistant\n",
            ChatTemplate.Render([ChatMessage.User("hi"), ChatMessage.Assistant("hello"), ChatMessage.User("bye")]));
    }

    [Fact]
    public void WithoutGenerationPromptTheTextEndsAfterTheLastTurn()
    {
        Assert.Equal(
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n",
            ChatTemplate.Render([ChatMessage.System("S"), ChatMessage.User("U"), ChatMessage.Assistant("A")], addGenerationPrompt: false));
    }

    [Fact]
    public void ALaterSystemMessageIsAnOrdinaryTurn()
    {
        Assert.Equal(
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
            + "<|im_start|>system\nS<|im_end|>\n<|im_start|>assistant\n",
            ChatTemplate.Render([ChatMessage.User("U"), ChatMessage.System("S")]));
    }

    [Fact]
    public void RenderedMarkersEncodeAsSingleIdsWithNoBos()
    {
        int[] ids = GoldenTokenizer.Tokenizer.Encode(ChatTemplate.Render([ChatMessage.User("hi")]));
        Assert.Equal(151644, ids[0]);                          // <|im_start|>, not <|beginoftext|>
        Assert.Equal([151644, 77091, 198], ids[^3..]);         // <|im_start|> assistant \n
        Assert.Equal(3, ids.Count(id => id == 151644));
        Assert.Equal(2, ids.Count(id => id == 151645));
    }

    [Fact]
    public void BadMessagesAreArgumentErrors()
    {
        Assert.Throws<ArgumentNullException>(() => ChatTemplate.Render(null!));
        Assert.Throws<ArgumentException>(() => ChatTemplate.Render([new ChatMessage(ChatRole.User, null!)]));
        Assert.Throws<ArgumentException>(() => ChatTemplate.Render([new ChatMessage((ChatRole)7, "x")]));
    }
}
