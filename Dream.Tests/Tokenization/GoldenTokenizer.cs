using Dream.Cli.Verify;
using Dream.Core.Tokenization;

namespace Dream.Tests.Tokenization;

/// <summary>
/// The golden Qwen2.5/Dream tokenizer and its Hugging Face cases, loaded once per test process (≈0.5 s) and
/// shared: the tokenizer is thread-safe, so test classes may run in parallel on it.
/// </summary>
public static class GoldenTokenizer
{
    public static string GoldenDir => Path.Combine(AppContext.BaseDirectory, "TestData", "golden");
    public static string TokenizerPath => Path.Combine(GoldenDir, "tokenizer.json.gz");
    public static string SudokuTokenizerPath => Path.Combine(AppContext.BaseDirectory, "models", "dream-sudoku", "tokenizer.json");

    private static readonly Lazy<BpeTokenizer> LazyTokenizer = new(() => BpeTokenizer.Load(TokenizerPath));
    private static readonly Lazy<IReadOnlyList<TokenizerCase>> LazyCases =
        new(() => GoldenTokenizerCases.Load(Path.Combine(GoldenDir, GoldenTokenizerCases.FileName)));

    public static BpeTokenizer Tokenizer => LazyTokenizer.Value;
    public static IReadOnlyList<TokenizerCase> Cases => LazyCases.Value;
}
