using System.Globalization;
using Dream.Core.Checkpoint;

namespace Dream.Cli.Commands;

/// <summary>`dream info --model DIR|REPO_ID`: geometry, parameter count, dtype and memory a run needs.</summary>
public static class InfoCommand
{
    public static int Run(CommandLine cl, TextWriter stdout)
    {
        cl.ExpectPositionals(0, "only options");
        string dir = ModelResolver.Resolve(cl.String("model") ?? ModelResolver.EmbeddedSudokuModel);
        using var checkpoint = DreamCheckpoint.Open(dir);
        var c = checkpoint.Config;
        var w = checkpoint.Weights;
        long weightBytes = w.Layers.Sum(l => l.InputNorm.ByteLength + l.QProj.ByteLength + l.QBias.ByteLength
                + l.KProj.ByteLength + l.KBias.ByteLength + l.VProj.ByteLength + l.VBias.ByteLength + l.OProj.ByteLength
                + l.PostAttentionNorm.ByteLength + l.GateProj.ByteLength + l.UpProj.ByteLength + l.DownProj.ByteLength)
            + w.Embedding.ByteLength + w.FinalNorm.ByteLength
            + (w.LmHead.Address == w.Embedding.Address ? 0 : w.LmHead.ByteLength);
        var dtypes = w.Layers.SelectMany(l => new[] { l.QProj.DType, l.GateProj.DType }).Append(w.Embedding.DType).Distinct();

        // Activations for one forward at the trained context: residual, q/k/v, attention scores of one head row
        // block and the SwiGLU intermediates, in float32 (what the CPU backends keep).
        int tokens = Math.Min(c.MaxPositionEmbeddings, 2048);
        long activationBytes = 4L * tokens * (4L * c.HiddenSize + 2L * c.KvDim + 3L * c.IntermediateSize);

        string I(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        stdout.WriteLine($"model               {Path.GetFullPath(dir)}");
        stdout.WriteLine($"parameters          {I(c.ParameterCount)}");
        stdout.WriteLine($"stored as           {string.Join(", ", dtypes.Select(TensorDTypes.Name))}{(c.TorchDType is { } t ? $" (config: {t})" : "")}");
        stdout.WriteLine($"layers              {c.NumHiddenLayers}");
        stdout.WriteLine($"hidden / ffn        {c.HiddenSize} / {c.IntermediateSize}");
        stdout.WriteLine($"heads / kv / dim    {c.NumAttentionHeads} / {c.NumKeyValueHeads} / {c.HeadDim}");
        stdout.WriteLine($"vocabulary          {I(c.VocabSize)}");
        stdout.WriteLine($"context             {I(c.MaxPositionEmbeddings)}");
        stdout.WriteLine($"rope theta / eps    {c.RopeTheta.ToString(CultureInfo.InvariantCulture)} / {c.RmsNormEps.ToString(CultureInfo.InvariantCulture)}");
        stdout.WriteLine($"tied embeddings     {(c.TieWordEmbeddings ? "yes" : "no")}");
        stdout.WriteLine($"special ids         mask {c.MaskTokenId}, pad {c.PadTokenId?.ToString(CultureInfo.InvariantCulture) ?? "-"}, eos {c.EosTokenId?.ToString(CultureInfo.InvariantCulture) ?? "-"}, bos {c.BosTokenId?.ToString(CultureInfo.InvariantCulture) ?? "-"}");
        stdout.WriteLine($"weights             {MiB(weightBytes)} (memory-mapped, not copied)");
        stdout.WriteLine($"activations         ~{MiB(activationBytes)} for {I(tokens)} tokens (float32, one sequence)");
        return 0;
    }

    private static string MiB(long bytes) => bytes >= 1L << 30
        ? (bytes / (double)(1L << 30)).ToString("0.00 GiB", CultureInfo.InvariantCulture)
        : (bytes / (double)(1L << 20)).ToString("0.0 MiB", CultureInfo.InvariantCulture);
}
