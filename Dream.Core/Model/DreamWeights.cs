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
        long d = c.HiddenSize, f = c.IntermediateSize, v = c.VocabSize, kv = c.KvDim;
        TensorView Need(string name, params long[] shape)
        {
            var t = lookup(name) ?? throw new DreamFormatException(source, name, "required tensor is missing from the checkpoint");
            if (t.DType is not (TensorDType.F32 or TensorDType.BF16 or TensorDType.F16))
                throw new DreamFormatException(t.FilePath, name, $"expected F32, BF16 or F16 weights, found {TensorDTypes.Name(t.DType)}");
            return t.Expect(shape);
        }

        var layers = new LayerWeights[c.NumHiddenLayers];
        for (int i = 0; i < layers.Length; i++)
        {
            string p = $"model.layers.{i}.";
            layers[i] = new LayerWeights
            {
                InputNorm = Need(p + "input_layernorm.weight", d),
                QProj = Need(p + "self_attn.q_proj.weight", d, d),
                QBias = Need(p + "self_attn.q_proj.bias", d),
                KProj = Need(p + "self_attn.k_proj.weight", kv, d),
                KBias = Need(p + "self_attn.k_proj.bias", kv),
                VProj = Need(p + "self_attn.v_proj.weight", kv, d),
                VBias = Need(p + "self_attn.v_proj.bias", kv),
                OProj = Need(p + "self_attn.o_proj.weight", d, d),
                PostAttentionNorm = Need(p + "post_attention_layernorm.weight", d),
                GateProj = Need(p + "mlp.gate_proj.weight", f, d),
                UpProj = Need(p + "mlp.up_proj.weight", f, d),
                DownProj = Need(p + "mlp.down_proj.weight", d, f),
            };
        }

        var embedding = Need("model.embed_tokens.weight", v, d);
        TensorView lmHead;
        if (lookup("lm_head.weight") is not null) lmHead = Need("lm_head.weight", v, d);
        else if (c.TieWordEmbeddings) lmHead = embedding;
        else throw new DreamFormatException(source, "lm_head.weight", "missing, and tie_word_embeddings is false");

        return new DreamWeights
        {
            Config = c,
            Embedding = embedding,
            Layers = layers,
            FinalNorm = Need("model.norm.weight", d),
            LmHead = lmHead,
        };
    }
}
