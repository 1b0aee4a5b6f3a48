using Dream.Core.Generation;
using Dream.Kernels.Ilgpu;
using FsCheck;
using FsCheck.Fluent;
using ILGPU.Runtime;
using static Dream.Tests.Ilgpu.IlgpuCheck;
using DeviceSelector = Dream.Kernels.Ilgpu.PositionSelector;
using HostSelector = Dream.Core.Generation.PositionSelector;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// The device reveal (Dream.Kernels.Ilgpu.PositionSelector) against Core's PositionSelector.MostConfident with
/// PositionTies.LowestPosition on the doubles DeviceSampler.Assemble makes of the same float32 confidences and
/// deficits, followed by the loop's write of the chosen tokens. Comparisons only, no arithmetic: the canvases must
/// be equal bit for bit. Rows of 1..~2G masks among up to 3G positions, confidences drawn from a few levels
/// (exact ties), probabilities near 1 (deficits 1e-3..1e-12), entropies (negative, deficit NaN), k from 0 to all.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class PositionSelectorTests
{
    public sealed record Case(int Batch, int Length, int Seed);

    private static Arbitrary<Case> Cases =>
        (from batch in Size(4) from length in Around(IlgpuTestDevice.Kernels.ReductionGroupSize * 2) from seed in Seed
         select new Case(batch, length, seed)).ToArbitrary();

    [IlgpuProperty(MaxTest = 40)]
    public Property RevealMatchesTheHostSelector() => Prop.ForAll(Cases, c =>
    {
        var random = new Random(c.Seed);
        var acc = IlgpuTestDevice.Kernels.Accelerator;
        int length = c.Length;
        var positions = new List<int>();
        var rowStart = new int[c.Batch + 1];
        int[] canvas = new int[c.Batch * length];
        for (int b = 0; b < c.Batch; b++)
        {
            rowStart[b] = positions.Count;
            double density = random.NextDouble();
            for (int p = 0; p < length; p++)
            {
                if (random.NextDouble() < density) { positions.Add(b * length + p); canvas[b * length + p] = -1; }
                else canvas[b * length + p] = random.Next(1000);
            }
        }
        rowStart[c.Batch] = positions.Count;
        int m = positions.Count;
        bool entropy = random.Next(3) == 0;
        var confidence = new float[m];
        var deficit = new float[m];
        var tokens = new int[m];
        for (int i = 0; i < m; i++)
        {
            tokens[i] = 1000 + i;
            if (entropy)
            {
                confidence[i] = -random.Next(4) * 0.25f;   // few levels: ties
                deficit[i] = float.NaN;
                continue;
            }
            double p = random.Next(3) switch
            {
                0 => random.Next(5) / 4.0,                        // 0, ¼, ½, ¾, 1: ties
                1 => 1 - Math.Pow(10, -random.Next(3, 13)),       // near 1
                _ => random.NextDouble(),
            };
            confidence[i] = (float)p;
            deficit[i] = (float)(1 - p);
        }
        var counts = new int[c.Batch];
        for (int b = 0; b < c.Batch; b++) counts[b] = random.Next(rowStart[b + 1] - rowStart[b] + 1);

        // The host: assembled doubles, −∞ where not masked, the k most confident, lowest position on ties.
        int[] expected = canvas.ToArray();
        var selector = new HostSelector(length, PositionTies.LowestPosition);
        for (int b = 0; b < c.Batch; b++)
        {
            var row = new double[length];
            Array.Fill(row, double.NegativeInfinity);
            for (int i = rowStart[b]; i < rowStart[b + 1]; i++) row[positions[i] - b * length] = DeviceSampler.Assemble(confidence[i], deficit[i]);
            var chosen = new int[counts[b]];
            selector.MostConfident(row, counts[b], chosen);
            foreach (int p in chosen) expected[b * length + p] = tokens[positions.IndexOf(b * length + p)];
        }

        using var canvasBuffer = Upload(acc, canvas);
        using var startBuffer = Upload(acc, rowStart);
        using var positionBuffer = Upload(acc, positions.ToArray());
        using var tokenBuffer = Upload(acc, tokens);
        using var confidenceBuffer = Upload(acc, confidence);
        using var deficitBuffer = Upload(acc, deficit);
        using var countBuffer = Upload(acc, counts);
        DeviceSelector.Reveal(IlgpuTestDevice.Kernels, c.Batch, startBuffer.View, positionBuffer.View, tokenBuffer.View,
            confidenceBuffer.View, deficitBuffer.View, countBuffer.View, canvasBuffer.View);
        acc.Synchronize();
        int[] got = canvasBuffer.GetAsArray1D().AsSpan(0, canvas.Length).ToArray();
        for (int i = 0; i < canvas.Length; i++)
            Assert.True(got[i] == expected[i], $"{c}: first difference at flat position {i}: device {got[i]}, host {expected[i]} (entropy {entropy})");
    });
}
