using Dream.Core.Model;
using Dream.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Runtime;
using FsCheck;
using FsCheck.Fluent;
using static Dream.Tests.Ilgpu.IlgpuCheck;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// The forward's inputs on the device skip the copies of ids and pad mask that would change nothing (IlgpuInputs):
/// whatever sequence of uploads and device reveals, the device holds the ids and mask of the last input (or of the
/// last reveal) — a skipped copy must never leave stale ids behind.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class IlgpuInputsTests
{
    private static readonly DreamConfig Config = new()
    {
        VocabSize = 50, HiddenSize = 8, IntermediateSize = 8, NumHiddenLayers = 1, NumAttentionHeads = 2, NumKeyValueHeads = 1,
        MaxPositionEmbeddings = 64, MaskTokenId = 49,
    };

    /// <summary>One step of a sequence: an input drawn from a small pool (so repeats happen), padded or not, or a reveal
    /// that writes fresh ids on the device the way the sampler's reveal does.</summary>
    public sealed record Step(int Pool, bool Padded, bool Reveal);

    [IlgpuProperty(MaxTest = 30)]
    public Property DeviceHoldsTheLastIdsAndMask() => Prop.ForAll(
        (from steps in Gen.Choose(1, 12).SelectMany(n => Gen.ListOf(
             (from pool in Gen.Choose(0, 2) from padded in Gen.Elements(false, true) from reveal in Gen.Elements(false, false, true)
              select new Step(pool, padded, reveal)), n))
         from seed in Seed
         select (steps.ToArray(), seed)).ToArbitrary(),
        t =>
        {
            var (steps, seed) = t;
            const int batch = 2, length = 5, n = batch * length;
            var random = new Random(seed);
            var acc = IlgpuTestDevice.Kernels.Accelerator;
            int[][] pool = [.. Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, n).Select(_ => random.Next(Config.VocabSize)).ToArray())];
            int[] mask = [.. Enumerable.Range(0, n).Select(i => i % length == 0 ? 0 : 1)];
            using var inputs = new IlgpuInputs(acc, Config, batch, length);
            int[] expectedIds = [], expectedMask = [];
            foreach (var step in steps)
            {
                if (step.Reveal && expectedIds.Length > 0)   // a reveal before any upload is taken as an upload
                {
                    // The reveal writes the device's ids in place, and the host learns them from its download.
                    int[] revealed = [.. expectedIds.Select(id => (id + 1) % Config.VocabSize)];
                    inputs.Ids.CopyFromCPU(acc.DefaultStream, revealed);
                    inputs.IdsRevealed(revealed);
                    expectedIds = revealed;
                    continue;
                }
                var input = new ForwardInput(batch, length, step.Padded ? mask : null);
                pool[step.Pool].CopyTo(input.Ids, 0);
                inputs.Upload(input);
                expectedIds = [.. input.Ids];
                expectedMask = step.Padded ? mask : [.. Enumerable.Repeat(1, n)];
            }
            var ids = new int[n];
            var isReal = new int[n];
            inputs.Ids.CopyToCPU(acc.DefaultStream, ids);
            inputs.IsReal.CopyToCPU(acc.DefaultStream, isReal);
            acc.Synchronize();
            Assert.Equal(expectedIds, ids);
            Assert.Equal(expectedMask, isReal);
        });
}
