namespace Dream.Core.Model;

/// <summary>
/// Every tensor of a Dream checkpoint for a config: Hugging Face name and shape, in the order the official
/// checkpoints list them (embedding, layers, final norm, lm_head when untied). The one place names meet shapes:
/// loading checks against it and writers (random benchmark weights) enumerate it.
/// </summary>
public static class DreamTensorLayout
{
    public static IEnumerable<(string Name, long[] Shape)> Tensors(DreamConfig c)
    {
        long d = c.HiddenSize, f = c.IntermediateSize, v = c.VocabSize, kv = c.KvDim;
        yield return ("model.embed_tokens.weight", [v, d]);
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string p = $"model.layers.{i}.";
            yield return (p + "input_layernorm.weight", [d]);
            yield return (p + "self_attn.q_proj.weight", [d, d]);
            yield return (p + "self_attn.q_proj.bias", [d]);
            yield return (p + "self_attn.k_proj.weight", [kv, d]);
            yield return (p + "self_attn.k_proj.bias", [kv]);
            yield return (p + "self_attn.v_proj.weight", [kv, d]);
            yield return (p + "self_attn.v_proj.bias", [kv]);
            yield return (p + "self_attn.o_proj.weight", [d, d]);
            yield return (p + "post_attention_layernorm.weight", [d]);
            yield return (p + "mlp.gate_proj.weight", [f, d]);
            yield return (p + "mlp.up_proj.weight", [f, d]);
            yield return (p + "mlp.down_proj.weight", [d, f]);
        }
        yield return ("model.norm.weight", [d]);
        if (!c.TieWordEmbeddings) yield return ("lm_head.weight", [v, d]);
    }
}
