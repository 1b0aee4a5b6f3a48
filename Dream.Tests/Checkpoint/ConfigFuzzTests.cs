using System.Text;
using System.Text.Json.Nodes;
using Dream.Core;
using Dream.Core.Model;
using Dream.Tests.Support;
using TestData = Dream.Tests.Support.TestData;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Dream.Tests.Checkpoint;

/// <summary>config.json parsing: valid files load, broken ones name the file and the field.</summary>
public class ConfigFuzzTests
{
    private static readonly byte[] Valid = File.ReadAllBytes(Path.Combine(TestData.GoldenModel("tiny-a"), "config.json"));

    [Fact]
    public void GoldenConfigLoads()
    {
        var c = DreamConfig.Parse(Valid, "config.json");
        Assert.Equal(320, c.VocabSize);
        Assert.Equal(16, c.HeadDim);
        Assert.Equal(2, c.QueriesPerKv);
        Assert.Equal(319, c.MaskTokenId);
        Assert.Equal(10000.0, c.RopeTheta);
    }

    public static Arbitrary<(string Field, JsonNode? Value)> Breakages() => Gen.Elements<(string, JsonNode?)>(
        ("hidden_size", 65),                   // heads do not divide hidden
        ("num_key_value_heads", 3),            // kv heads do not divide heads
        ("num_attention_heads", 0),
        ("vocab_size", -1),
        ("vocab_size", "many"),
        ("mask_token_id", 320),                // outside the vocabulary
        ("pad_token_id", -5),
        ("rms_norm_eps", 0),
        ("rope_theta", -1.0),
        ("hidden_size", 2147483647),           // implausibly large
        ("intermediate_size", 3.5),
        ("num_hidden_layers", null),           // required field missing
        ("tie_word_embeddings", "yes"),
        ("hidden_act", "gelu"),
        ("rope_scaling", JsonNode.Parse("""{"type":"linear","factor":2}""")),
        ("max_position_embeddings", 0)
    ).ToArbitrary();

    [Property(MaxTest = 60, Arbitrary = new[] { typeof(ConfigFuzzTests) })]
    public void BrokenFieldsAreNamed((string Field, JsonNode? Value) breakage)
    {
        var json = JsonNode.Parse(Valid)!.AsObject();
        if (breakage.Value is null) json.Remove(breakage.Field);
        else json[breakage.Field] = breakage.Value.DeepClone();
        var e = Assert.Throws<DreamFormatException>(() => DreamConfig.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), "cfg.json"));
        Assert.Equal("cfg.json", e.FilePath);
        Assert.NotNull(e.Item);
    }

    [Property(MaxTest = 200)]
    public void ArbitraryBytesFailCleanly(byte[] bytes)
    {
        try { DreamConfig.Parse(bytes, "cfg.json"); }
        catch (DreamFormatException e) { Assert.Equal("cfg.json", e.FilePath); }
    }

    [Property(MaxTest = 200)]
    public void TruncatedConfigFailsCleanly(PositiveInt cut)
    {
        var e = Assert.Throws<DreamFormatException>(() => DreamConfig.Parse(Valid.AsSpan(0, cut.Get % Valid.Length), "cfg.json"));
        Assert.Equal("cfg.json", e.FilePath);
    }
}
