using System.Text.Json;
using Dream.Core.Checkpoint;
using Dream.Core.Model;
using Dream.Core.Numerics;

namespace Dream.Cli.Bench;

/// <summary>
/// Writes a Dream checkpoint of random bf16 weights at a named shape (`dream-7b`: the real 15.2 GB geometry), so
/// that speed can be measured through exactly the loading and upload path a downloaded model takes. Weights are
/// N(0, 0.02²)-like (uniform with that deviation), norms are 1, as the PyTorch baseline's random weights.
/// </summary>
public static class RandomCheckpoint
{
    public static DreamConfig Shape(string name) => name switch
    {
        "dream-7b" => new DreamConfig
        {
            VocabSize = 152064, HiddenSize = 3584, IntermediateSize = 18944, NumHiddenLayers = 28,
            NumAttentionHeads = 28, NumKeyValueHeads = 4, RopeTheta = 1e6, RmsNormEps = 1e-6,
            TieWordEmbeddings = false, MaxPositionEmbeddings = 131072, MaskTokenId = 151666,
        },
        "planner" => new DreamConfig
        {
            VocabSize = 16, HiddenSize = 384, IntermediateSize = 1024, NumHiddenLayers = 3,
            NumAttentionHeads = 6, NumKeyValueHeads = 2, RopeTheta = 1e4, RmsNormEps = 1e-6,
            TieWordEmbeddings = true, MaxPositionEmbeddings = 512, MaskTokenId = 13,
        },
        _ => throw new UsageException($"unknown shape '{name}' (known: dream-7b, planner)"),
    };

    public static void Write(string directory, DreamConfig c, ulong seed, TextWriter progress)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["architectures"] = new[] { "DreamModel" }, ["model_type"] = "Dream", ["torch_dtype"] = "bfloat16",
            ["vocab_size"] = c.VocabSize, ["hidden_size"] = c.HiddenSize, ["intermediate_size"] = c.IntermediateSize,
            ["num_hidden_layers"] = c.NumHiddenLayers, ["num_attention_heads"] = c.NumAttentionHeads,
            ["num_key_value_heads"] = c.NumKeyValueHeads, ["rope_theta"] = c.RopeTheta, ["rms_norm_eps"] = c.RmsNormEps,
            ["tie_word_embeddings"] = c.TieWordEmbeddings, ["max_position_embeddings"] = c.MaxPositionEmbeddings,
            ["mask_token_id"] = c.MaskTokenId, ["hidden_act"] = "silu",
        }));

        var tensors = DreamTensorLayout.Tensors(c).Select(t => (t.Name, TensorDType.BF16, t.Shape)).ToList();

        SafetensorsFile.WriteStreaming(Path.Combine(directory, "model.safetensors"), tensors, (index, stream) =>
        {
            var (name, _, shape) = tensors[index];
            long count = shape.Aggregate(1L, (a, b) => a * b);
            bool isNorm = name.EndsWith("norm.weight", StringComparison.Ordinal);
            const int Chunk = 1 << 22;
            var buffer = new byte[Math.Min(count, Chunk) * 2];
            for (long start = 0; start < count; start += Chunk)
            {
                int n = (int)Math.Min(Chunk, count - start);
                var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(buffer.AsSpan(0, n * 2));
                if (isNorm) bits.Fill(BFloat16.FromFloat(1f));
                else Fill(buffer, n, seed + (ulong)index * 0x9E3779B97F4A7C15UL + (ulong)start);
                stream.Write(buffer, 0, n * 2);
            }
            if (index % 24 == 0) progress.WriteLine($"  wrote {index + 1}/{tensors.Count} tensors");
        });
    }

    /// <summary>Uniform values with standard deviation 0.02, as bf16 bits, from a counter-based hash (parallel, reproducible).</summary>
    private static void Fill(byte[] buffer, int n, ulong seed)
    {
        const float Half = 0.02f * 1.7320508f; // uniform on [−a, a] has deviation a/√3
        Parallel.For(0, (n + 65535) / 65536, block =>
        {
            var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(buffer.AsSpan(0, n * 2));
            int end = Math.Min(n, (block + 1) * 65536);
            for (int i = block * 65536; i < end; i++)
            {
                ulong z = seed + (ulong)i * 0x9E3779B97F4A7C15UL;
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
                z ^= z >> 31;
                float u = (z >> 40) * (1f / (1 << 24));          // [0, 1)
                bits[i] = BFloat16.FromFloat((2f * u - 1f) * Half);
            }
        });
    }
}
