using System.Text.Json;
using Dream.Core.Model;

namespace Dream.Core.Checkpoint;

/// <summary>
/// A Hugging Face Dream model directory: `config.json`, optional `generation_config.json`, and weights as one
/// `model.safetensors` or as shards listed by `model.safetensors.index.json` (its `weight_map`; shard names are
/// never guessed). Owns the memory maps: dispose it after the last forward pass.
/// </summary>
public sealed class DreamCheckpoint : IDisposable
{
    private readonly List<SafetensorsFile> _files;

    public string Directory { get; }
    public DreamConfig Config { get; }
    public GenerationDefaults? GenerationDefaults { get; }
    public DreamWeights Weights { get; }

    /// <summary>`tokenizer.json` beside the weights, when present.</summary>
    public string? TokenizerPath =>
        File.Exists(Path.Combine(Directory, "tokenizer.json")) ? Path.Combine(Directory, "tokenizer.json") : null;

    private DreamCheckpoint(string directory, DreamConfig config, GenerationDefaults? defaults, List<SafetensorsFile> files, DreamWeights weights)
    {
        Directory = directory;
        Config = config;
        GenerationDefaults = defaults;
        _files = files;
        Weights = weights;
    }

    /// <param name="rope">how RoPE's inv_freq is held: float32 (the math), or as Hugging Face's loader leaves it
    /// for this checkpoint's dtype (to reproduce official runs of bf16 checkpoints token for token).</param>
    public static DreamCheckpoint Open(string directory, RopeFrequencies rope = RopeFrequencies.Float32)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new DreamFormatException(directory, null, "model directory not found");
        var config = DreamConfig.Load(Path.Combine(directory, "config.json"));
        string genPath = Path.Combine(directory, "generation_config.json");
        var defaults = File.Exists(genPath) ? Model.GenerationDefaults.Load(genPath) : null;

        var files = new List<SafetensorsFile>();
        try
        {
            var byName = new Dictionary<string, TensorView>(StringComparer.Ordinal);
            string single = Path.Combine(directory, "model.safetensors");
            string index = Path.Combine(directory, "model.safetensors.index.json");
            if (File.Exists(index))
            {
                foreach (var (tensor, shard) in ReadWeightMap(index))
                {
                    var file = files.Find(f => f.Path == shard);
                    if (file is null)
                    {
                        file = SafetensorsFile.Open(shard);
                        files.Add(file);
                    }
                    if (!file.TryGet(tensor, out var view))
                        throw new DreamFormatException(shard, tensor, $"listed in {Path.GetFileName(index)} but not present in the shard");
                    byName[tensor] = view;
                }
            }
            else if (File.Exists(single))
            {
                var file = SafetensorsFile.Open(single);
                files.Add(file);
                foreach (var name in file.Names) byName[name] = file[name];
            }
            else
            {
                throw new DreamFormatException(directory, null, "no model.safetensors or model.safetensors.index.json");
            }

            var weights = DreamWeights.Bind(config, n => byName.TryGetValue(n, out var v) ? v : null, directory);
            if (rope == RopeFrequencies.AsTransformersLoads && weights.Embedding.DType is TensorDType.BF16 or TensorDType.F16)
            {
                config = config with { RopeInvFreqDType = weights.Embedding.DType };
                weights = DreamWeights.Bind(config, n => byName.TryGetValue(n, out var v) ? v : null, directory);
            }
            return new DreamCheckpoint(directory, config, defaults, files, weights);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    private static List<(string Tensor, string Shard)> ReadWeightMap(string indexPath)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(indexPath)); }
        catch (JsonException e) { throw new DreamFormatException(indexPath, null, $"not valid JSON: {e.Message}", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new DreamFormatException(indexPath, "weight_map", "missing object field");
            string dir = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
            var result = new List<(string, string)>();
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw new DreamFormatException(indexPath, p.Name, "shard name must be a string");
                string shard = p.Value.GetString()!;
                // A shard name is a file name beside the index, never a path elsewhere.
                if (shard.Length == 0 || shard != Path.GetFileName(shard))
                    throw new DreamFormatException(indexPath, p.Name, $"shard '{shard}' must be a file name in the model directory");
                result.Add((p.Name, Path.Combine(dir, shard)));
            }
            return result;
        }
    }

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
        _files.Clear();
    }
}
