using System.Text.Json;
using Dream.Core.Checkpoint;
using Dream.Core.Model;
using Dream.Core.Numerics;
using Dream.Core.Training;

namespace Dream.Cli.Bench;

/// <summary>
/// Writes a Dream checkpoint of random bf16 weights at a named shape (`dream-7b`: the real 15.2 GB geometry), so
/// that speed can be measured through exactly the loading and upload path a downloaded model takes. Weights are
/// N(0, 0.02²) and norms 1, as the PyTorch baseline's random weights (`torch.randn(...) * 0.02`). The distribution
/// matters on a power-limited card: a multiply's energy depends on how many bits toggle, so the same product on
/// differently drawn values can run at a different clock. <see cref="WeightDistribution.Uniform"/> (same deviation)
/// is what this bench drew until the twelfth session, kept so that the earlier numbers' draw can be repeated (the
/// same distribution, not the same values).
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

    public static void Write(string directory, DreamConfig c, ulong seed, TextWriter progress, WeightDistribution distribution = WeightDistribution.Normal)
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
                else Fill(buffer, n, seed, index, start, distribution);
                stream.Write(buffer, 0, n * 2);
            }
            if (index % 24 == 0) progress.WriteLine($"  wrote {index + 1}/{tensors.Count} tensors");
        });
    }

    /// <summary>
    /// n values with standard deviation 0.02 as bf16 bits, for chunk <paramref name="start"/> of tensor
    /// <paramref name="index"/>: blocks of 65,536 in parallel, each from its own <see cref="TrainingRandom"/> stream
    /// (reproducible whatever the thread count). Normal by Box–Muller on the two 24-bit halves of one 64-bit draw (a
    /// pair of normals per draw, in float), or uniform on [−a, a]. Not <see cref="TrainingRandom.NextNormal"/>: it
    /// works in double and drops half of each pair, about three times the time — some ten seconds more for every
    /// 7.6-billion-value checkpoint written on the GPU machine.
    /// </summary>
    private static void Fill(byte[] buffer, int n, ulong seed, int index, long start, WeightDistribution distribution)
    {
        const float Deviation = 0.02f;
        const float Half = Deviation * 1.7320508f; // uniform on [−a, a] has deviation a/√3
        const float Unit = 1f / (1 << 24);
        Parallel.For(0, (n + 65535) / 65536, block =>
        {
            var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(buffer.AsSpan(0, n * 2));
            var random = new TrainingRandom(seed, index, start, block);
            int end = Math.Min(n, (block + 1) * 65536);
            for (int i = block * 65536; i < end; i += 2)
            {
                ulong z = random.NextUInt64();
                float u1 = ((z >> 40) + 0.5f) * Unit;              // (0, 1): the log stays finite
                float u2 = ((z >> 16) & 0xFFFFFF) * Unit;          // [0, 1)
                float a, b;
                if (distribution == WeightDistribution.Uniform) (a, b) = ((2f * u1 - 1f) * Half, (2f * u2 - 1f) * Half);
                else
                {
                    float r = Deviation * MathF.Sqrt(-2f * MathF.Log(u1));
                    var (sin, cos) = MathF.SinCos(2f * MathF.PI * u2);
                    (a, b) = (r * cos, r * sin);
                }
                bits[i] = BFloat16.FromFloat(a);
                if (i + 1 < end) bits[i + 1] = BFloat16.FromFloat(b);
            }
        });
    }
}

/// <summary>How <see cref="RandomCheckpoint"/> draws its weights (both with deviation 0.02).</summary>
public enum WeightDistribution
{
    /// <summary>N(0, 0.02²), as the PyTorch baseline.</summary>
    Normal,
    /// <summary>Uniform on [−0.02·√3, 0.02·√3]: the draw before the twelfth session.</summary>
    Uniform,
}
