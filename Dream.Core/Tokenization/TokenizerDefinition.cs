namespace Dream.Core.Tokenization;

/// <summary>
/// What a tokenizer's files say, as strings, before ids are resolved into tables. Both on-disk layouts
/// (<see cref="TokenizerJsonFile"/>, <see cref="LegacyTokenizerFiles"/>) read into this; <see cref="BpeTokenizer"/>
/// builds from it. The pre-tokenizer and decoder are not fields: the loaders accept only the Qwen2 ones.
/// </summary>
internal sealed class TokenizerDefinition
{
    /// <summary>Byte-level token string → id (`model.vocab` or vocab.json).</summary>
    public required Dictionary<string, int> Vocab { get; init; }
    /// <summary>Merge rules in rank order (`model.merges` or merges.txt).</summary>
    public required List<(string Left, string Right)> Merges { get; init; }
    public required List<AddedToken> AddedTokens { get; init; }
    /// <summary>Whether the normalizer is NFC (the alternative is none).</summary>
    public required bool Nfc { get; init; }
    /// <summary>The file that held the vocabulary, for error messages.</summary>
    public required string VocabPath { get; init; }
    /// <summary>The file that held the merges, for error messages.</summary>
    public required string MergesPath { get; init; }
    /// <summary>Names merge i for error messages: "model.merges[i]" or "line N" of merges.txt.</summary>
    public required Func<int, string> MergeItem { get; init; }
}
