using Dream.Core.Checkpoint;

namespace Dream.Core.Model;

/// <summary>
/// One transformer layer's tensors, looked up by their Hugging Face names and shape-checked against the config.
/// Linear weights are [out, in] row-major (y = x·Wᵀ + b), any floating dtype (bf16/f16/f32) as stored.
/// </summary>
public sealed class LayerWeights
{
    public required TensorView InputNorm { get; init; }        // [D]
    public required TensorView QProj { get; init; }            // [H·Dh, D]
    public required TensorView QBias { get; init; }            // [H·Dh]
    public required TensorView KProj { get; init; }            // [Hkv·Dh, D]
    public required TensorView KBias { get; init; }            // [Hkv·Dh]
    public required TensorView VProj { get; init; }            // [Hkv·Dh, D]
    public required TensorView VBias { get; init; }            // [Hkv·Dh]
    public required TensorView OProj { get; init; }            // [D, H·Dh]
    public required TensorView PostAttentionNorm { get; init; } // [D]
    public required TensorView GateProj { get; init; }         // [F, D]
    public required TensorView UpProj { get; init; }           // [F, D]
    public required TensorView DownProj { get; init; }         // [D, F]
}

/// <summary>All of a Dream model's tensors, as views into the memory-mapped checkpoint (nothing copied).</summary>
public sealed class DreamWeights
{
    public required DreamConfig Config { get; init; }
    public required TensorView Embedding { get; init; }        // [V, D]
    public required LayerWeights[] Layers { get; init; }
    public required TensorView FinalNorm { get; init; }        // [D]
    /// <summary>[V, D]; the embedding itself when `tie_word_embeddings` is set and no lm_head tensor exists.</summary>
    public required TensorView LmHead { get; init; }

    /// <summary>Resolves every tensor through <paramref name="lookup"/> and checks its shape.</summary>
    public static DreamWeights Bind(DreamConfig c, Func<string, TensorView?> lookup, string source)
    {
        var shapes = DreamTensorLayout.Tensors(c with { TieWordEmbeddings = false }).ToDictionary(t => t.Name, t => t.Shape);
        TensorView Need(string name)
        {
            var t = lookup(name) ?? throw new DreamFormatException(source, name, "required tensor is missing from the checkpoint");
            if (t.DType is not (TensorDType.F32 or TensorDType.BF16 or TensorDType.F16))
                throw new DreamFormatException(t.FilePath, name, $"expected F32, BF16 or F16 weights, found {TensorDTypes.Name(t.DType)}");
            return t.Expect(shapes[name]);
        }

        var layers = new LayerWeights[c.NumHiddenLayers];
        for (int i = 0; i < layers.Length; i++)
        {
            string p = $"model.layers.{i}.";
            layers[i] = new LayerWeights
            {
                InputNorm = Need(p + "input_layernorm.weight"),
                QProj = Need(p + "self_attn.q_proj.weight"),
                QBias = Need(p + "self_attn.q_proj.bias"),
                KProj = Need(p + "self_attn.k_proj.weight"),
                KBias = Need(p + "self_attn.k_proj.bias"),
                VProj = Need(p + "self_attn.v_proj.weight"),
                VBias = Need(p + "self_attn.v_proj.bias"),
                OProj = Need(p + "self_attn.o_proj.weight"),
                PostAttentionNorm = Need(p + "post_attention_layernorm.weight"),
                GateProj = Need(p + "mlp.gate_proj.weight"),
                UpProj = Need(p + "mlp.up_proj.weight"),
                DownProj = Need(p + "mlp.down_proj.weight"),
            };
        }

        var embedding = Need("model.embed_tokens.weight");
        TensorView lmHead;
        if (lookup("lm_head.weight") is not null) lmHead = Need("lm_head.weight");
        else if (c.TieWordEmbeddings) lmHead = embedding;
        else throw new DreamFormatException(source, "lm_head.weight", "missing, and tie_word_embeddings is false");

        return new DreamWeights
        {
            Config = c,
            Embedding = embedding,
            Layers = layers,
            FinalNorm = Need("model.norm.weight"),
            LmHead = lmHead,
        };
    }
}
