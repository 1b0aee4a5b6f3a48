using Dream.Core.Model;
using Dream.Core.Training;

namespace Dream.Tests.Training;

/// <summary>Small configs and batches the training tests share.</summary>
public static class TrainingFixtures
{
    /// <summary>A tiny Dream: V 7, D 8, 2 heads sharing 1 kv head (Dh 4), F 12, 2 layers.</summary>
    public static DreamConfig TinyConfig(bool tied, int layers = 2) => new()
    {
        VocabSize = 7, HiddenSize = 8, IntermediateSize = 12, NumHiddenLayers = layers,
        NumAttentionHeads = 2, NumKeyValueHeads = 1, RopeTheta = 10000.0, RmsNormEps = 1e-6,
        TieWordEmbeddings = tied, MaskTokenId = 6, MaxPositionEmbeddings = 64,
    };

    /// <summary>An exact float64 copy of float32 parameters: the oracle starts where the model under test does.</summary>
    public static DreamParameters<double> Widened(DreamParameters<float> parameters)
    {
        var wide = DreamParameters<double>.Zeros(parameters.Config);
        for (int i = 0; i < parameters.Tensors.Count; i++)
            for (int j = 0; j < parameters.Tensors[i].Data.Length; j++)
                wide.Tensors[i].Data[j] = parameters.Tensors[i].Data[j];
        return wide;
    }

    /// <summary>A batch of random clean sequences, noised by the scheduler (position 0 never eligible).</summary>
    public static TrainingBatch NoisedBatch(DreamConfig config, int batch, int length, ulong seed, LossWeighting weighting = LossWeighting.Cart)
    {
        var rng = new TrainingRandom(seed, 99);
        var clean = new int[batch * length];
        for (int i = 0; i < clean.Length; i++) clean[i] = rng.NextInt(config.MaskTokenId); // never the mask id itself
        var eligible = Enumerable.Range(0, length).Select(p => p >= 1).ToArray();
        var scheduler = new NoiseScheduler { MaskTokenId = config.MaskTokenId, Weighting = weighting };
        return scheduler.Corrupt(clean, batch, length, eligible, seed, step: 0);
    }
}
