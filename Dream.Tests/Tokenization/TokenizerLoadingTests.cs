using System.IO.Compression;
using System.Text.Json.Nodes;
using Dream.Core;
using Dream.Core.Tokenization;
using Xunit;

namespace Dream.Tests.Tokenization;

/// <summary>Both on-disk layouts load to the same tokenizer; malformed or unsupported files name file and field.</summary>
public sealed class TokenizerLoadingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dream-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // "hello world" → hell o Ġwor l d; the added tokens are whole; "é" is two byte tokens.
    private static readonly (string Text, int[] Ids)[] TinyCases =
    [
        ("hello world", [258, 'o', 261, 'l', 'd']),
        ("<|endoftext|>he<tool_call>", [300, 256, 301]),
        ("é", [0xC3, 0xA9]),
        ("e\u0301", [0xC3, 0xA9]),
    ];

    private static void AssertTiny(BpeTokenizer tok)
    {
        Assert.Equal(302, tok.VocabSize);
        foreach (var (text, ids) in TinyCases) Assert.Equal(ids, tok.Encode(text));
        Assert.Equal("<|endoftext|>he<tool_call>", tok.Decode([300, 256, 301]));
        Assert.Equal("he<tool_call>", tok.Decode([300, 256, 301], skipSpecialTokens: true));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TokenizerJsonWithEitherMergeSpellingLoads(bool mergesAsPairs)
    {
        string path = TinyTokenizerFiles.WriteTokenizerJson(_dir, TinyTokenizerFiles.TokenizerJson(mergesAsPairs));
        AssertTiny(BpeTokenizer.Load(path));
        AssertTiny(BpeTokenizer.Load(_dir));
    }

    [Fact]
    public void GzippedTokenizerJsonLoadsFromFileOrDirectory()
    {
        string path = Path.Combine(_dir, "tokenizer.json.gz");
        using (var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest))
        using (var w = new StreamWriter(gz)) w.Write(TinyTokenizerFiles.TokenizerJson().ToJsonString());
        AssertTiny(BpeTokenizer.Load(path));
        AssertTiny(BpeTokenizer.Load(_dir));
    }

    [Fact]
    public void LegacyLayoutLoadsFromDirectoryOrOneOfItsFiles()
    {
        TinyTokenizerFiles.WriteLegacy(_dir);
        AssertTiny(BpeTokenizer.Load(_dir));
        AssertTiny(BpeTokenizer.Load(Path.Combine(_dir, "vocab.json")));
    }

    [Fact]
    public void SudokuTokenizerLoadsAndDropsBytesItHasNoTokenFor()
    {
        var tok = BpeTokenizer.Load(GoldenTokenizer.SudokuTokenizerPath);
        Assert.Equal(14, tok.VocabSize);
        Assert.Equal([1, 2, 10, 3, 13], tok.Encode("12=3<|mask|>"));
        Assert.Equal([1, 2], tok.Encode("abc 12"));     // as Hugging Face: no unk_token, unknown bytes vanish
        Assert.Equal("12=3<|mask|>", tok.Decode([1, 2, 10, 3, 13]));
        Assert.Equal("12=3", tok.Decode([1, 2, 10, 3, 13], skipSpecialTokens: true));
    }

    [Fact]
    public void PlainGoldenTokenizerJsonEqualsTheGzippedOne()
    {
        string plain = Path.Combine(_dir, "tokenizer.json");
        using (var gz = new GZipStream(File.OpenRead(GoldenTokenizer.TokenizerPath), CompressionMode.Decompress))
        using (var f = File.Create(plain)) gz.CopyTo(f);
        var tok = BpeTokenizer.Load(plain);
        foreach (var c in GoldenTokenizer.Cases.Take(40)) Assert.Equal(c.Ids, tok.Encode(c.Text));
    }

    public static TheoryData<string, string> JsonBreakages => new()
    {
        { """{"model":{"type":"WordPiece"}}""", "model.type" },
        { """{"model":{"dropout":0.1}}""", "model.dropout" },
        { """{"model":{"dropout":"none"}}""", "model.dropout" },
        { """{"model":{"unk_token":"<unk>"}}""", "model.unk_token" },
        { """{"model":{"byte_fallback":true}}""", "model.byte_fallback" },
        { """{"model":{"ignore_merges":true}}""", "model.ignore_merges" },
        { """{"model":{"continuing_subword_prefix":"##"}}""", "model.continuing_subword_prefix" },
        { """{"model":{"vocab":[1,2]}}""", "model.vocab" },
        { """{"model":{"vocab":{"a":"one"}}}""", "model.vocab[\"a\"]" },
        { """{"model":{"merges":{"a":"b"}}}""", "model.merges" },
        { """{"model":{"merges":[42]}}""", "model.merges[0]" },
        { """{"model":{"merges":["h e", "ll"]}}""", "model.merges[1]" },
        { """{"model":{"merges":["h e", "h  e"]}}""", "model.merges[1]" },
        { """{"model":{"merges":[["h"]]}}""", "model.merges[0]" },
        { """{"model":{"merges":["h e", "q z"]}}""", "model.merges[1]" },           // "qz" is not in the vocabulary
        { """{"normalizer":{"type":"NFKC"}}""", "normalizer" },
        { """{"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}}""", "pre_tokenizer" },
        { """{"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\p{N}{1,3}"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","use_regex":false}]}}""", "pre_tokenizer" },
        { """{"pre_tokenizer":null}""", "pre_tokenizer" },
        { """{"decoder":null}""", "decoder" },
        { """{"decoder":{"type":"WordPiece"}}""", "decoder" },
        { """{"added_tokens":[{"content":"<x>"}]}""", "added_tokens[0].id" },
        { """{"added_tokens":[{"id":"300","content":"<x>"}]}""", "added_tokens[0].id" },
        { """{"added_tokens":{"id":300}}""", "added_tokens" },
        { """{"added_tokens":[{"id":300,"content":""}]}""", "added_tokens[0].content" },
        { """{"added_tokens":[{"id":300,"content":"<x>","lstrip":true}]}""", "added_tokens[0].lstrip" },
        { """{"added_tokens":[{"id":300,"content":"<x>","special":"yes"}]}""", "added_tokens[0].special" },
    };

    /// <summary>Each breakage is merged into the valid tiny tokenizer.json (objects merged key by key, the rest replaced).</summary>
    [Theory]
    [MemberData(nameof(JsonBreakages))]
    public void BrokenTokenizerJsonNamesTheField(string patch, string item)
    {
        var json = TinyTokenizerFiles.TokenizerJson();
        Merge(json, JsonNode.Parse(patch)!.AsObject());
        string path = TinyTokenizerFiles.WriteTokenizerJson(_dir, json);
        var e = Assert.Throws<DreamFormatException>(() => BpeTokenizer.Load(path));
        Assert.Equal(path, e.FilePath);
        Assert.Equal(item, e.Item);
    }

    [Fact]
    public void DuplicateIdsAreRefused()
    {
        var json = TinyTokenizerFiles.TokenizerJson();
        json["model"]!["vocab"]!["dup"] = 5;
        string path = TinyTokenizerFiles.WriteTokenizerJson(_dir, json);
        Assert.Contains("already the id", Assert.Throws<DreamFormatException>(() => BpeTokenizer.Load(path)).Message);

        json = TinyTokenizerFiles.TokenizerJson();
        json["added_tokens"]!.AsArray().Add(TinyTokenizerFiles.AddedToken(300, "<other>", true));
        path = TinyTokenizerFiles.WriteTokenizerJson(_dir, json);
        Assert.Contains("appears twice", Assert.Throws<DreamFormatException>(() => BpeTokenizer.Load(path)).Message);
    }

    [Theory]
    [InlineData("not json at all", null)]
    [InlineData("[1, 2]", null)]
    [InlineData("{}", "model")]
    public void NotATokenizerJson(string text, string? item)
    {
        string path = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(path, text);
        var e = Assert.Throws<DreamFormatException>(() => BpeTokenizer.Load(path));
        Assert.Equal(path, e.FilePath);
        Assert.Equal(item, e.Item);
    }

    [Fact]
    public void CorruptGzipIsAFormatError()
    {
        string path = Path.Combine(_dir, "tokenizer.json.gz");
        File.WriteAllBytes(path, [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
        Assert.Equal(path, Assert.Throws<DreamFormatException>(() => BpeTokenizer.Load(path)).FilePath);
    }

    [Fact]
    public void MissingPathsAreFormatErrors()
    {
        string missing = Path.Combine(_dir, "nope.json");
        Assert.Equal(missing, Assert.Throws<DreamFormatException>(() => BpeTokenizer.Load(missing)).FilePath);
        Assert.Contains("neither", Assert.Throws<DreamFormatException>(() => BpeTokenizer.Load(_dir)).Message);
    }

    [Fact]
    public void BrokenLegacyFilesNameTheFileAndField()
    {
        TinyTokenizerFiles.WriteLegacy(_dir);
        string merges = Path.Combine(_dir, "merges.txt");
        File.WriteAllText(merges, "#version: 0.2\nh e\n\nhe\n");
        var e = Assert.Throws<DreamFormatException>(() => BpeTokenizer.Load(_dir));
        Assert.Equal((merges, "line 4"), (e.FilePath, e.Item));

        File.WriteAllText(merges, "#version: 0.2\nh e\nx y\n");
        e = Assert.Throws<DreamFormatException>(() => BpeTokenizer.Load(_dir));
        Assert.Equal((merges, "line 3"), (e.FilePath, e.Item));   // "xy" is not in the vocabulary

        TinyTokenizerFiles.WriteLegacy(_dir);
        string config = Path.Combine(_dir, "tokenizer_config.json");
        File.WriteAllText(config, """{"tokenizer_class":"Qwen2Tokenizer"}""");
        e = Assert.Throws<DreamFormatException>(() => BpeTokenizer.Load(_dir));
        Assert.Equal((config, "added_tokens_decoder"), (e.FilePath, e.Item));

        File.WriteAllText(config, """{"added_tokens_decoder":{"x":{"content":"<x>"}}}""");
        e = Assert.Throws<DreamFormatException>(() => BpeTokenizer.Load(_dir));
        Assert.Equal((config, "added_tokens_decoder[\"x\"]"), (e.FilePath, e.Item));

        File.Delete(config);
        e = Assert.Throws<DreamFormatException>(() => BpeTokenizer.Load(_dir));
        Assert.Equal(config, e.FilePath);

        TinyTokenizerFiles.WriteLegacy(_dir);
        string vocab = Path.Combine(_dir, "vocab.json");
        File.WriteAllText(vocab, "[]");
        Assert.Equal(vocab, Assert.Throws<DreamFormatException>(() => BpeTokenizer.Load(_dir)).FilePath);
    }

    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch.ToArray())
        {
            if (value is JsonObject p && target[key] is JsonObject t) Merge(t, p);
            else target[key] = value?.DeepClone();
        }
    }
}
