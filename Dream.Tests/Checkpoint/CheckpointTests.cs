using Dream.Core;
using Dream.Core.Checkpoint;
using Dream.Core.Model;
using Dream.Reference;
using Dream.Tests.Support;

namespace Dream.Tests.Checkpoint;

public class CheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dream-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Rewrites a sharded checkpoint as one model.safetensors (same bytes per tensor).</summary>
    private string AsSingleFile(string sharded)
    {
        string target = Path.Combine(_dir, "single");
        Directory.CreateDirectory(target);
        File.Copy(Path.Combine(sharded, "config.json"), Path.Combine(target, "config.json"));
        var tensors = new List<(string, TensorDType, long[], byte[])>();
        foreach (var shard in Directory.GetFiles(sharded, "model-*.safetensors").Order())
        {
            using var f = SafetensorsFile.Open(shard);
            foreach (var name in f.Names)
            {
                var v = f[name];
                tensors.Add((name, v.DType, v.Shape.ToArray(), v.Bytes.ToArray()));
            }
        }
        SafetensorsFile.Write(Path.Combine(target, "model.safetensors"), tensors);
        return target;
    }

    [Fact]
    public void ShardedAndSingleFileGiveIdenticalLogits()
    {
        string sharded = TestData.GoldenModel("tiny-b");
        Assert.True(File.Exists(Path.Combine(sharded, "model.safetensors.index.json")));
        using var a = DreamCheckpoint.Open(sharded);
        using var b = DreamCheckpoint.Open(AsSingleFile(sharded));
        Assert.True(a.Config.TieWordEmbeddings);
        Assert.Equal(a.Weights.Embedding.Address, a.Weights.LmHead.Address);

        var input = new ForwardInput(1, 12);
        for (int i = 0; i < 12; i++) input.Ids[i] = (i * 37) % a.Config.VocabSize;
        int[] rows = Enumerable.Range(0, 12).ToArray();
        var la = new float[rows.Length * a.Config.VocabSize];
        var lb = new float[la.Length];
        new ReferenceModel(a.Weights).Forward(input, rows, la);
        new ReferenceModel(b.Weights).Forward(input, rows, lb);
        Assert.Equal(la, lb); // bit for bit: the same bytes, the same arithmetic
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        string target = AsSingleFile(TestData.GoldenModel("tiny-b"));
        var tensors = new List<(string, TensorDType, long[], byte[])>();
        using (var f = SafetensorsFile.Open(Path.Combine(target, "model.safetensors")))
            foreach (var name in f.Names.Where(n => n != "model.layers.1.self_attn.k_proj.bias"))
                tensors.Add((name, f[name].DType, f[name].Shape.ToArray(), f[name].Bytes.ToArray()));
        SafetensorsFile.Write(Path.Combine(target, "model.safetensors"), tensors);
        var e = Assert.Throws<DreamFormatException>(() => DreamCheckpoint.Open(target));
        Assert.Contains("model.layers.1.self_attn.k_proj.bias", e.Message);
    }

    [Fact]
    public void WrongShapeIsNamed()
    {
        string target = AsSingleFile(TestData.GoldenModel("tiny-b"));
        var tensors = new List<(string, TensorDType, long[], byte[])>();
        using (var f = SafetensorsFile.Open(Path.Combine(target, "model.safetensors")))
            foreach (var name in f.Names)
            {
                var v = f[name];
                long[] shape = name == "model.norm.weight" ? new[] { v.Shape[0] / 2, 2L } : v.Shape.ToArray();
                tensors.Add((name, v.DType, shape, v.Bytes.ToArray()));
            }
        SafetensorsFile.Write(Path.Combine(target, "model.safetensors"), tensors);
        var e = Assert.Throws<DreamFormatException>(() => DreamCheckpoint.Open(target));
        Assert.Contains("model.norm.weight", e.Message);
        Assert.Contains("expected shape [96]", e.Message);
    }

    [Fact]
    public void MissingDirectoryAndWeightsAreClear()
    {
        Assert.Throws<DreamFormatException>(() => DreamCheckpoint.Open(Path.Combine(_dir, "absent")));
        string empty = Path.Combine(_dir, "empty");
        Directory.CreateDirectory(empty);
        File.Copy(Path.Combine(TestData.GoldenModel("tiny-a"), "config.json"), Path.Combine(empty, "config.json"));
        var e = Assert.Throws<DreamFormatException>(() => DreamCheckpoint.Open(empty));
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public void ShardOutsideTheDirectoryIsRefused()
    {
        string target = Path.Combine(_dir, "escape");
        Directory.CreateDirectory(target);
        File.Copy(Path.Combine(TestData.GoldenModel("tiny-a"), "config.json"), Path.Combine(target, "config.json"));
        File.WriteAllText(Path.Combine(target, "model.safetensors.index.json"),
            """{"weight_map":{"model.embed_tokens.weight":"../elsewhere.safetensors"}}""");
        var e = Assert.Throws<DreamFormatException>(() => DreamCheckpoint.Open(target));
        Assert.Contains("model.embed_tokens.weight", e.Message);
    }
}
