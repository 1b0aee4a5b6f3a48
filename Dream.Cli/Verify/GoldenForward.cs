using Dream.Core;
using Dream.Core.Checkpoint;
using Dream.Core.Model;

namespace Dream.Cli.Verify;

/// <summary>
/// A golden `forward-NAME.safetensors` case from the official code:
///   input_ids, attention_mask, position_ids  int64 [B, T]
///   logits_full_f64    float64 [B, T, V]  forward with no mask
///   logits_padded_f64  float64 [B, T, V]  forward with the pad mask and position_ids (pad rows not meaningful)
/// </summary>
public sealed class GoldenForward : IDisposable
{
    private readonly SafetensorsFile _file;
    public int Batch { get; }
    public int Length { get; }
    public int Vocab { get; }
    public int[] Ids { get; }
    public int[] AttentionMask { get; }
    public int[] PositionIds { get; }
    public double[] LogitsFull { get; }
    public double[] LogitsPadded { get; }
    /// <summary>
    /// max |official run in the stored dtype on a GPU − float64| over the full (unmasked) forward: how far the
    /// official code's own bf16 arithmetic lands (≈ 0.10 for tiny-a-bf16, 0.43 for small-c); null when the file
    /// has no `logits_full_native_cuda`.
    /// </summary>
    public double? NativeDeviation { get; }

    private GoldenForward(SafetensorsFile file)
    {
        _file = file;
        var ids = file["input_ids"];
        if (ids.Shape.Count != 2) throw new DreamFormatException(file.Path, "input_ids", "expected shape [B, T]");
        Batch = (int)ids.Shape[0];
        Length = (int)ids.Shape[1];
        Ids = ids.ToInt64().Select(checked_ => checked((int)checked_)).ToArray();
        AttentionMask = file["attention_mask"].Expect(Batch, Length).ToInt64().Select(x => (int)x).ToArray();
        PositionIds = file["position_ids"].Expect(Batch, Length).ToInt64().Select(x => (int)x).ToArray();
        var full = file["logits_full_f64"];
        if (full.Shape.Count != 3) throw new DreamFormatException(file.Path, "logits_full_f64", "expected shape [B, T, V]");
        Vocab = (int)full.Expect(Batch, Length, full.Shape[2]).Shape[2];
        LogitsFull = full.ToFloat64();
        LogitsPadded = file["logits_padded_f64"].Expect(Batch, Length, Vocab).ToFloat64();
        if (file.TryGet("logits_full_native_cuda", out var native))
        {
            float[] values = native.Expect(Batch, Length, Vocab).ToFloat32();
            NativeDeviation = MaxAbsDiff(Enumerable.Range(0, Batch * Length).ToArray(), values, LogitsFull, Vocab).Max;
        }
    }

    public static GoldenForward Load(string path) => new(SafetensorsFile.Open(path));

    /// <summary>The forward input: no mask (every position attends everywhere) or the pad mask with its positions.</summary>
    public ForwardInput Input(bool padded)
    {
        var input = new ForwardInput(Batch, Length, padded ? (int[])AttentionMask.Clone() : null);
        Ids.CopyTo(input.Ids, 0);
        if (padded)
        {
            for (int i = 0; i < PositionIds.Length; i++)
                if (input.Positions[i] != PositionIds[i])
                    throw new DreamFormatException(_file.Path, "position_ids", $"entry {i} is {PositionIds[i]}, but cumsum(mask) − 1 gives {input.Positions[i]}");
        }
        return input;
    }

    /// <summary>Flat rows b·T + t worth comparing: every row without a mask, the real tokens with one.</summary>
    public int[] ComparableRows(bool padded) =>
        Enumerable.Range(0, Batch * Length).Where(i => !padded || AttentionMask[i] != 0).ToArray();

    /// <summary>Runs <paramref name="model"/> on the case and returns the compared rows and their float32 logits [rows, V].</summary>
    public static (int[] Rows, float[] Logits) Run(IForwardModel model, GoldenForward golden, bool padded)
    {
        int[] rows = golden.ComparableRows(padded);
        var logits = new float[rows.Length * golden.Vocab];
        model.Forward(golden.Input(padded), rows, logits);
        return (rows, logits);
    }

    /// <summary>Largest |actual − expected| over the compared rows, with where it happened.</summary>
    public static (double Max, int Row, int Column) MaxAbsDiff(int[] rows, float[] actual, double[] expected, int vocab)
    {
        (double Max, int Row, int Column) worst = (0, -1, -1);
        for (int r = 0; r < rows.Length; r++)
        for (int c = 0; c < vocab; c++)
        {
            double d = Math.Abs(actual[(long)r * vocab + c] - expected[(long)rows[r] * vocab + c]);
            if (!(d <= worst.Max)) worst = (double.IsNaN(d) ? double.PositiveInfinity : d, rows[r], c);
        }
        return worst;
    }

    public void Dispose() => _file.Dispose();
}
