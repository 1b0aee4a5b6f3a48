using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;

namespace Dream.Core.Tokenization;

/// <summary>
/// Qwen2 byte-level BPE, bit-for-bit Hugging Face `tokenizers` with add_special_tokens=False (no BOS, no EOS).
///
/// Encode pipeline (docs/tokenizer.md walks through it):
/// lone surrogates → U+FFFD; split out added tokens matched in the raw text (leftmost-longest); NFC each span
/// between them; split out added tokens flagged `normalized`; pre-tokenize (<see cref="Qwen2PreTokenizer"/>);
/// each piece's UTF-8 bytes → single-byte token ids (<see cref="ByteLevelAlphabet"/>); merge by rank
/// (<see cref="BpeMerger"/>); a bounded cache remembers each piece's ids.
///
/// Thread-safe: everything is immutable after loading except the piece cache, which is concurrent.
/// </summary>
public sealed class BpeTokenizer
{
    public const int DefaultPieceCacheCapacity = 50_000;

    private readonly Dictionary<string, int> _vocab;              // byte-level token string → id
    private readonly Dictionary<string, AddedToken> _addedByContent;
    private readonly string?[] _idToToken;                        // [VocabSize] added content wins over vocab
    private readonly int[] _byteToId;                             // [256] id of each single-byte token, -1 if absent
    private readonly MergeTable _merges;
    private readonly AddedTokenMatcher _rawAdded;                 // tokens matched before normalization
    private readonly AddedTokenMatcher _normalizedAdded;          // tokens matched after it
    private readonly bool _nfc;
    private readonly PieceCache _cache;
    private readonly ByteLevelDecoder _decoder;

    /// <summary>The file (or directory) this tokenizer was loaded from.</summary>
    public string SourcePath { get; }

    /// <summary>One past the highest id of any token, vocabulary or added (151667 for Dream; the model's
    /// embedding has more rows, 152064, whose extra ids decode to nothing).</summary>
    public int VocabSize => _idToToken.Length;

    public IReadOnlyList<AddedToken> AddedTokens { get; }

    private BpeTokenizer(TokenizerDefinition def, string sourcePath, int pieceCacheCapacity)
    {
        SourcePath = sourcePath;
        _nfc = def.Nfc;
        _vocab = def.Vocab;

        int maxId = -1;
        foreach (int id in def.Vocab.Values) maxId = Math.Max(maxId, id);
        foreach (var t in def.AddedTokens) maxId = Math.Max(maxId, t.Id);
        _idToToken = new string?[maxId + 1];
        foreach (var (token, id) in def.Vocab)
        {
            if (_idToToken[id] is { } other)
                throw new DreamFormatException(def.VocabPath, token, $"id {id} is already the id of '{other}'");
            _idToToken[id] = token;
        }

        _addedByContent = new Dictionary<string, AddedToken>(StringComparer.Ordinal);
        var addedIds = new HashSet<int>();
        foreach (var t in def.AddedTokens)
        {
            if (!addedIds.Add(t.Id))
                throw new DreamFormatException(sourcePath, t.Content, $"added token id {t.Id} appears twice");
            if (!_addedByContent.TryAdd(t.Content, t))
                throw new DreamFormatException(sourcePath, t.Content, "added token appears twice");
            _idToToken[t.Id] = t.Content;
        }
        AddedTokens = def.AddedTokens.OrderBy(t => t.Id).ToArray();
        _rawAdded = new AddedTokenMatcher(def.AddedTokens.Where(t => !t.Normalized));
        _normalizedAdded = new AddedTokenMatcher(def.AddedTokens.Where(t => t.Normalized));

        _byteToId = new int[256];
        for (int b = 0; b < 256; b++)
            _byteToId[b] = def.Vocab.TryGetValue(ByteLevelAlphabet.ByteToChar((byte)b).ToString(), out int id) ? id : -1;

        _merges = new MergeTable(def.Merges.Count);
        for (int rank = 0; rank < def.Merges.Count; rank++)
        {
            var (left, right) = def.Merges[rank];
            _merges.Set(VocabId(left, def, rank), VocabId(right, def, rank), rank, VocabId(left + right, def, rank));
        }

        _cache = new PieceCache(pieceCacheCapacity);
        _decoder = new ByteLevelDecoder(_idToToken, def.AddedTokens.Where(t => t.Special).Select(t => t.Id));
    }

    private static int VocabId(string token, TokenizerDefinition def, int rank) =>
        def.Vocab.TryGetValue(token, out int id)
            ? id
            : throw new DreamFormatException(def.MergesPath, def.MergeItem(rank), $"merge token '{token}' is not in the vocabulary");

    /// <summary>
    /// Loads a tokenizer from a `tokenizer.json` (plain or gzip), from a directory holding one (`tokenizer.json`
    /// or `tokenizer.json.gz`), or from a directory in the older layout (`vocab.json` + `merges.txt` +
    /// `tokenizer_config.json`; passing one of those files works too). Malformed or unsupported files throw
    /// <see cref="DreamFormatException"/> naming the file and the field.
    /// </summary>
    /// <param name="pieceCacheCapacity">pieces remembered (0 disables the cache).</param>
    public static BpeTokenizer Load(string path, int pieceCacheCapacity = DefaultPieceCacheCapacity)
    {
        if (Directory.Exists(path))
        {
            foreach (string name in (ReadOnlySpan<string>)["tokenizer.json", "tokenizer.json.gz"])
            {
                string file = Path.Combine(path, name);
                if (File.Exists(file)) return new BpeTokenizer(TokenizerJsonFile.Read(file), file, pieceCacheCapacity);
            }
            if (File.Exists(Path.Combine(path, LegacyTokenizerFiles.VocabFile)) || File.Exists(Path.Combine(path, LegacyTokenizerFiles.MergesFile)))
                return new BpeTokenizer(LegacyTokenizerFiles.Read(path), path, pieceCacheCapacity);
            throw new DreamFormatException(path, null, "directory holds neither tokenizer.json nor vocab.json + merges.txt");
        }
        if (!File.Exists(path)) throw new DreamFormatException(path, null, "tokenizer file or directory not found");
        string fileName = Path.GetFileName(path);
        if (fileName is LegacyTokenizerFiles.VocabFile or LegacyTokenizerFiles.MergesFile or LegacyTokenizerFiles.ConfigFile)
        {
            string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
            return new BpeTokenizer(LegacyTokenizerFiles.Read(directory), directory, pieceCacheCapacity);
        }
        return new BpeTokenizer(TokenizerJsonFile.Read(path), path, pieceCacheCapacity);
    }

    /// <summary>Token ids of <paramref name="text"/>; never throws for any string (see <see cref="TextNormalization"/>).</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        Encode(text, ids);
        return ids.ToArray();
    }

    /// <summary>Appends the token ids of <paramref name="text"/> to <paramref name="ids"/>.</summary>
    public void Encode(string text, List<int> ids)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = TextNormalization.ReplaceLoneSurrogates(text);
        int start = 0;
        while (start < text.Length)
        {
            if (!_rawAdded.TryFindNext(text, start, out int at, out var token)) at = text.Length;
            if (at > start) EncodeSpan(text.AsSpan(start, at - start), ids);
            if (at == text.Length) break;
            ids.Add(token.Id);
            start = at + token.Content.Length;
        }
    }

    /// <summary>Encodes every text, spread over the cores (Parallel.For); result i belongs to texts[i].</summary>
    public int[][] EncodeBatch(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        for (int i = 0; i < texts.Count; i++)
            if (texts[i] is null) throw new ArgumentException($"texts[{i}] is null", nameof(texts));
        var result = new int[texts.Count][];
        Parallel.For(0, texts.Count, i => result[i] = Encode(texts[i]));
        return result;
    }

    /// <summary>
    /// Text of <paramref name="ids"/>; broken UTF-8 becomes U+FFFD, ids with no token are skipped, and with
    /// <paramref name="skipSpecialTokens"/> added tokens flagged special are dropped (see <see cref="ByteLevelDecoder"/>).
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false) => _decoder.Decode(ids, skipSpecialTokens);

    /// <summary>Id of an added token's content, or of a vocabulary token in its byte-level form ("Ġthe").</summary>
    public bool TryGetId(string token, out int id)
    {
        if (_addedByContent.TryGetValue(token, out var added))
        {
            id = added.Id;
            return true;
        }
        return _vocab.TryGetValue(token, out id);
    }

    /// <summary>The token string of an id (added content, or the byte-level vocabulary form), or null.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    // A span between raw-matched added tokens: normalize, then split out normalized added tokens.
    private void EncodeSpan(ReadOnlySpan<char> span, List<int> ids)
    {
        string? normalized = _nfc && !TextNormalization.IsTriviallyNfc(span)
            ? TextNormalization.ToNfc(span)
            : null;
        ReadOnlySpan<char> text = normalized ?? span;
        if (_normalizedAdded.IsEmpty)
        {
            EncodeOrdinary(text, ids);
            return;
        }
        int start = 0;
        while (start < text.Length)
        {
            if (!_normalizedAdded.TryFindNext(text, start, out int at, out var token)) at = text.Length;
            if (at > start) EncodeOrdinary(text[start..at], ids);
            if (at == text.Length) break;
            ids.Add(token.Id);
            start = at + token.Content.Length;
        }
    }

    // Text with no added tokens in it: pre-tokenize, then BPE each piece.
    private void EncodeOrdinary(ReadOnlySpan<char> text, List<int> ids)
    {
        int start = 0;
        while (start < text.Length)
        {
            int length = Qwen2PreTokenizer.PieceLength(text[start..]);
            EncodePiece(text.Slice(start, length), ids);
            start += length;
        }
    }

    [SkipLocalsInit]   // byte and symbol scratch are written before they are read
    private void EncodePiece(ReadOnlySpan<char> piece, List<int> ids)
    {
        if (_cache.TryGet(piece, out int[] cached))
        {
            ids.AddRange(cached);
            return;
        }
        const int StackBytes = 512;
        int maxBytes = Encoding.UTF8.GetMaxByteCount(piece.Length);
        byte[]? rentedBytes = null;
        int[]? rentedSymbols = null;
        Span<byte> bytes = maxBytes <= StackBytes ? stackalloc byte[maxBytes] : (rentedBytes = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            int byteCount = Encoding.UTF8.GetBytes(piece, bytes);
            Span<int> symbols = byteCount <= StackBytes ? stackalloc int[byteCount] : (rentedSymbols = ArrayPool<int>.Shared.Rent(byteCount));
            int count = 0;
            foreach (byte b in bytes[..byteCount])
            {
                // A byte whose one-character token is missing is dropped, as Hugging Face's BPE drops an unknown
                // character when there is no unk_token (only tiny vocabularies such as the sudoku model's lack some).
                int id = _byteToId[b];
                if (id >= 0) symbols[count++] = id;
            }
            count = BpeMerger.Merge(_merges, symbols[..count]);
            int[] result = symbols[..count].ToArray();
            _cache.Add(piece, result);
            ids.AddRange(result);
        }
        finally
        {
            if (rentedBytes is not null) ArrayPool<byte>.Shared.Return(rentedBytes);
            if (rentedSymbols is not null) ArrayPool<int>.Shared.Return(rentedSymbols);
        }
    }
}
