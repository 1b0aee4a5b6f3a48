namespace Dream.Core.Tokenization;

/// <summary>Who speaks a chat turn; rendered as the lower-case name after <c>&lt;|im_start|&gt;</c>.</summary>
public enum ChatRole
{
    System,
    User,
    Assistant,
}
