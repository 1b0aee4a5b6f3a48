using System.Globalization;
using System.Runtime.InteropServices;
using Dream.Core.Checkpoint;

namespace Dream.Core.Training;

/// <summary>
/// Everything a resumed run needs beyond the seed: float32 parameters, AdamW's two moments and the step counts,
/// in one safetensors file (`training-state.safetensors`) whose tensors are named `param.NAME`, `adam_m.NAME`,
/// `adam_v.NAME` with NAME the Hugging Face name. The bf16 `model.safetensors` beside it is for inference only:
/// resuming from rounded weights would not replay the original run. The metadata carries the step counts, the
/// seed and the model's config.json, so a state restores on its own (the autoregressive baseline writes no
/// checkpoint beside it).
/// </summary>
public static class TrainingState
{
    public const string FileName = "training-state.safetensors";

    public static void Save(string directory, DreamParameters<float> parameters, AdamW optimizer, long step, ulong seed)
    {
        var tensors = new List<(string, TensorDType, long[], byte[])>();
        void Add(string prefix, DreamParameters<float> p)
        {
            foreach (var t in p.Tensors)
                tensors.Add((prefix + t.Name, TensorDType.F32, t.Shape, MemoryMarshal.AsBytes(t.Data.AsSpan()).ToArray()));
        }
        Add("param.", parameters);
        Add("adam_m.", optimizer.FirstMoment);
        Add("adam_v.", optimizer.SecondMoment);
        var metadata = new Dictionary<string, string>
        {
            ["step"] = step.ToString(CultureInfo.InvariantCulture),
            ["adam_updates"] = optimizer.Updates.ToString(CultureInfo.InvariantCulture),
            ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
            ["config"] = CheckpointWriter.ConfigJson(parameters.Config).ToJsonString(),
        };
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, FileName);
        string temp = path + ".tmp";
        SafetensorsFile.Write(temp, tensors, metadata);
        File.Move(temp, path, overwrite: true); // a run killed mid-write keeps the previous state
    }

    /// <summary>The config of the model a saved state belongs to.</summary>
    public static Model.DreamConfig ReadConfig(string directory)
    {
        string path = Path.Combine(directory, FileName);
        using var file = SafetensorsFile.Open(path);
        return file.Metadata.TryGetValue("config", out var json)
            ? Model.DreamConfig.Parse(System.Text.Encoding.UTF8.GetBytes(json), path)
            : throw new DreamFormatException(path, "config", "missing from the training state's metadata");
    }

    /// <summary>Restores parameters and optimizer in place; returns the step to continue from and the seed.</summary>
    public static (long Step, ulong Seed) Load(string directory, DreamParameters<float> parameters, AdamW optimizer)
    {
        string path = Path.Combine(directory, FileName);
        using var file = SafetensorsFile.Open(path);
        void Read(string prefix, DreamParameters<float> p)
        {
            foreach (var t in p.Tensors)
            {
                if (!file.TryGet(prefix + t.Name, out var view))
                    throw new DreamFormatException(path, prefix + t.Name, "missing from the training state");
                if (view.DType != TensorDType.F32) throw new DreamFormatException(path, prefix + t.Name, "expected F32");
                view.Expect(t.Shape).As<float>().CopyTo(t.Data);
            }
        }
        Read("param.", parameters);
        Read("adam_m.", optimizer.FirstMoment);
        Read("adam_v.", optimizer.SecondMoment);
        long Meta(string key) => file.Metadata.TryGetValue(key, out var s) && long.TryParse(s, CultureInfo.InvariantCulture, out long v)
            ? v : throw new DreamFormatException(path, key, "missing or invalid metadata");
        optimizer.Updates = Meta("adam_updates");
        ulong seed = file.Metadata.TryGetValue("seed", out var seedText) && ulong.TryParse(seedText, CultureInfo.InvariantCulture, out ulong s)
            ? s : throw new DreamFormatException(path, "seed", "missing or invalid metadata");
        return (Meta("step"), seed);
    }
}
