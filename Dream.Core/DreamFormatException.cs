namespace Dream.Core;

/// <summary>
/// The one exception type for malformed input files (safetensors, config.json, tokenizer.json, golden files).
/// It always names the file and, where there is one, the tensor or field that was wrong.
/// </summary>
public sealed class DreamFormatException : Exception
{
    public string FilePath { get; }
    public string? Item { get; }

    public DreamFormatException(string filePath, string? item, string message, Exception? inner = null)
        : base(Compose(filePath, item, message), inner)
    {
        FilePath = filePath;
        Item = item;
    }

    private static string Compose(string filePath, string? item, string message) =>
        item is null ? $"{filePath}: {message}" : $"{filePath}: '{item}': {message}";
}
