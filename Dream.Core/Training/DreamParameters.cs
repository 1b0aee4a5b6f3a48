using System.Numerics;
using Dream.Core.Model;

namespace Dream.Core.Training;

/// <summary>One layer's trainable tensors, Hugging Face layout (Linear weights [out, in], y = x·Wᵀ + b).</summary>
public sealed class LayerParameters<T>
{
    public required T[] InputNorm { get; init; }          // [D]
    public required T[] QProj { get; init; }              // [H·Dh, D]
    public required T[] QBias { get; init; }              // [H·Dh]
    public required T[] KProj { get; init; }              // [Hkv·Dh, D]
    public required T[] KBias { get; init; }              // [Hkv·Dh]
    public required T[] VProj { get; init; }              // [Hkv·Dh, D]
    public required T[] VBias { get; init; }              // [Hkv·Dh]
    public required T[] OProj { get; init; }              // [D, H·Dh]
    public required T[] PostAttentionNorm { get; init; }  // [D]
    public required T[] GateProj { get; init; }           // [F, D]
    public required T[] UpProj { get; init; }             // [F, D]
    public required T[] DownProj { get; init; }           // [D, F]
}

/// <summary>A named tensor of a <see cref="DreamParameters{T}"/>: its Hugging Face name, shape and storage.</summary>
public sealed record ParameterTensor<T>(string Name, long[] Shape, T[] Data)
{
    /// <summary>Weight matrices (and the embedding) decay under AdamW; norms and biases do not.</summary>
    public bool IsMatrix => Shape.Length == 2;
}

/// <summary>
/// A Dream model's parameters as managed arrays that training owns and updates in place. The same class holds
/// gradients and optimizer moments (same shapes). With tied embeddings <see cref="LmHead"/> is the very array
/// <see cref="Embedding"/> is, so the lm_head's gradient lands in the embedding's.
/// </summary>
public sealed class DreamParameters<T> where T : IFloatingPointIeee754<T>
{
    public DreamConfig Config { get; }
    public T[] Embedding { get; }                         // [V, D]
    public LayerParameters<T>[] Layers { get; }
    public T[] FinalNorm { get; }                         // [D]
    public T[] LmHead { get; }                            // [V, D], = Embedding when tied

    /// <summary>Every distinct tensor once, by its Hugging Face name (no lm_head.weight when tied).</summary>
    public IReadOnlyList<ParameterTensor<T>> Tensors { get; }

    private DreamParameters(DreamConfig config)
    {
        Config = config;
        // Names and shapes come from the checkpoint layout, so a trained model saves exactly what loading expects.
        var shapes = DreamTensorLayout.Tensors(config with { TieWordEmbeddings = false }).ToDictionary(t => t.Name, t => t.Shape);
        var tensors = new List<ParameterTensor<T>>();
        T[] Add(string name)
        {
            long[] shape = shapes[name];
            var data = new T[checked((int)shape.Aggregate(1L, (a, b) => a * b))];
            tensors.Add(new ParameterTensor<T>(name, shape, data));
            return data;
        }

        Embedding = Add("model.embed_tokens.weight");
        Layers = new LayerParameters<T>[config.NumHiddenLayers];
        for (int i = 0; i < Layers.Length; i++)
        {
            string p = $"model.layers.{i}.";
            Layers[i] = new LayerParameters<T>
            {
                InputNorm = Add(p + "input_layernorm.weight"),
                QProj = Add(p + "self_attn.q_proj.weight"),
                QBias = Add(p + "self_attn.q_proj.bias"),
                KProj = Add(p + "self_attn.k_proj.weight"),
                KBias = Add(p + "self_attn.k_proj.bias"),
                VProj = Add(p + "self_attn.v_proj.weight"),
                VBias = Add(p + "self_attn.v_proj.bias"),
                OProj = Add(p + "self_attn.o_proj.weight"),
                PostAttentionNorm = Add(p + "post_attention_layernorm.weight"),
                GateProj = Add(p + "mlp.gate_proj.weight"),
                UpProj = Add(p + "mlp.up_proj.weight"),
                DownProj = Add(p + "mlp.down_proj.weight"),
            };
        }
        FinalNorm = Add("model.norm.weight");
        LmHead = config.TieWordEmbeddings ? Embedding : Add("lm_head.weight");
        Tensors = tensors;
    }

    /// <summary>All zeros: gradients and optimizer moments start here.</summary>
    public static DreamParameters<T> Zeros(DreamConfig config) => new(config);

    /// <summary>
    /// A fresh model, initialised as the training recipe does: every matrix ~ N(0, std²), biases 0, norm weights 1.
    /// Deterministic in <paramref name="seed"/>; each tensor draws from its own stream.
    /// </summary>
    public static DreamParameters<T> Initialize(DreamConfig config, ulong seed, double std = 0.02)
    {
        var p = new DreamParameters<T>(config);
        for (int n = 0; n < p.Tensors.Count; n++)
        {
            var tensor = p.Tensors[n];
            if (tensor.IsMatrix)
            {
                var rng = new TrainingRandom(seed, n);
                for (int i = 0; i < tensor.Data.Length; i++) tensor.Data[i] = T.CreateChecked(std * rng.NextNormal());
            }
            else if (tensor.Name.EndsWith("norm.weight", StringComparison.Ordinal))
            {
                Array.Fill(tensor.Data, T.One);
            }
        }
        return p;
    }

    /// <summary>Widens a loaded checkpoint's tensors (bf16, f16 or f32, all exact in T ≥ float32) into arrays.</summary>
    public static DreamParameters<T> From(DreamWeights weights)
    {
        var p = new DreamParameters<T>(weights.Config);
        var byName = new Dictionary<string, Checkpoint.TensorView>
        {
            ["model.embed_tokens.weight"] = weights.Embedding,
            ["model.norm.weight"] = weights.FinalNorm,
        };
        if (!weights.Config.TieWordEmbeddings) byName["lm_head.weight"] = weights.LmHead;
        for (int i = 0; i < weights.Layers.Length; i++)
        {
            var l = weights.Layers[i];
            string pre = $"model.layers.{i}.";
            byName[pre + "input_layernorm.weight"] = l.InputNorm;
            byName[pre + "self_attn.q_proj.weight"] = l.QProj;
            byName[pre + "self_attn.q_proj.bias"] = l.QBias;
            byName[pre + "self_attn.k_proj.weight"] = l.KProj;
            byName[pre + "self_attn.k_proj.bias"] = l.KBias;
            byName[pre + "self_attn.v_proj.weight"] = l.VProj;
            byName[pre + "self_attn.v_proj.bias"] = l.VBias;
            byName[pre + "self_attn.o_proj.weight"] = l.OProj;
            byName[pre + "post_attention_layernorm.weight"] = l.PostAttentionNorm;
            byName[pre + "mlp.gate_proj.weight"] = l.GateProj;
            byName[pre + "mlp.up_proj.weight"] = l.UpProj;
            byName[pre + "mlp.down_proj.weight"] = l.DownProj;
        }
        foreach (var tensor in p.Tensors)
        {
            double[] wide = byName[tensor.Name].ToFloat64();
            for (int i = 0; i < wide.Length; i++) tensor.Data[i] = T.CreateChecked(wide[i]);
        }
        return p;
    }

    /// <summary>Sets every element to zero (before each step's gradients accumulate).</summary>
    public void Clear()
    {
        foreach (var t in Tensors) Array.Clear(t.Data);
    }

    /// <summary>Copies every tensor of <paramref name="source"/> (same config) into this one.</summary>
    public void CopyFrom(DreamParameters<T> source)
    {
        for (int i = 0; i < Tensors.Count; i++) source.Tensors[i].Data.CopyTo(Tensors[i].Data, 0);
    }

    public long Count => Tensors.Sum(t => (long)t.Data.Length);
}
