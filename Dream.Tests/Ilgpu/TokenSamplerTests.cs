using Dream.Core.Generation;
using Dream.Core.Model;
using Dream.Kernels.Ilgpu;
using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using ILGPU;
using ILGPU.Runtime;
using static Dream.Tests.Ilgpu.IlgpuCheck;
using DeviceFilter = Dream.Kernels.Ilgpu.TokenFilter;
using DeviceSampling = Dream.Kernels.Ilgpu.TokenSampler;
using HostFilter = Dream.Core.Generation.TokenFilter;
using HostSampler = Dream.Core.Generation.TokenSampler;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// The device `sample_tokens` (Dream.Kernels.Ilgpu.TokenFilter and TokenSampler) against its Core twins
/// (Dream.Core.Generation.TokenFilter and TokenSampler, double precision; dream-reference.md §5), on rows that
/// hunt the edges: one row, V = 1, V around the group size, exact ties of the maximum, heavy ties (logits on a
/// grid of a few values), dropped logits at float.MinValue, temperatures 0 to 2.5, top_p from 1e-3 to 1, top_k
/// from 1 to above V.
///
/// Tolerances from float32 rounding (u = 2^-24, γ_n = n·u/(1 − n·u)): every weight e = exp((l − max)/T) carries
/// ε_exp = 2^-21 + s·2^-23 with s the largest finite |l − max|/T of the row (the subtraction and division round,
/// the exp is an approximation on a GPU), and every float32 sum of V terms γ_V, so a probability or a deficit is
/// within r = 2ε_exp + 2γ_V + 4u relatively. Probability: |Δ| ≤ r·min(p, 1 − p) (the deficit is used near 1);
/// margin: |Δ| ≤ r·(min(c, 1 − c) + 2p₂); entropy: |Δ| ≤ (2(r + 2^-21) + γ_V)·Σ|p·log p| + r·1e-6. Each plus
/// 2^-53 for the double rounding of 1 − deficit when the host assembles a confidence near 1, and plus the oracle's
/// own error: the host's double softmax adds its V weights into a sum near 1, so every p is within
/// γᵈ_{V+3} (u = 2^-53: V − 1 additions, exp, reciprocal, multiply) relatively — probability γᵈ·p, margin
/// γᵈ·(p₁ + p₂), entropy γᵈ·(Σ|p·log p| + 1). Near 1 that is several ulps: a V = 25 row whose margin is
/// 1 − 6.6e-13 reads 3 ulps high on the host, and the device's deficit form is the closer of the two.
/// Kept sets: equal, except that a top-p cut may move when the host's cumulative probability at the cut lies
/// within r of top_p; the whole sampler's confidence is then the host's measure over the moved cut (a case with 114
/// tied logits on an H200, <see cref="AMovedTopPCutIsTheOneTheFilterAllows"/>). Tokens: equal at temperature 0 (argmax of the logits with first-index ties is exact); at
/// temperature &gt; 0 a different token is allowed only when the host's cumulative probability at a boundary
/// between the two lies within r of the uniform, or when the host's draw over such a moved cut gives it (96 logits
/// tied at the top and top_p 0.5: half the mass is exactly 48 tokens, <see cref="AMovedTopPCutMovesTheDraw"/>).
/// </summary>
[Collection(IlgpuCollection.Name)]
public class TokenSamplerTests
{
    public enum Ties { None, Maximum, Heavy }

    public sealed record Case(int Rows, int Vocab, float Scale, Ties Ties, double Temperature, double? TopP, int? TopK,
        DecodingAlgorithm Algorithm, int Seed);

    private static Arbitrary<Case> Cases => CaseGen.ToArbitrary();

    private static Gen<Case> CaseGen =>
        (from rows in Size(4) from vocab in Around(IlgpuTestDevice.Kernels.ReductionGroupSize * 3)
         from scale in Gen.Elements(1f, 10f, 60f) from ties in Gen.Elements(Ties.None, Ties.Maximum, Ties.Heavy)
         from temperature in Gen.Elements(0.0, 0.0, 0.3, 1.0, 2.5)
         from topP in Gen.Elements<double?>(null, 1.0, 0.95, 0.5, 0.001)
         from topK in Gen.Elements<int?>(null, 1, 2, 7, 1000)
         from algorithm in Gen.Elements(DecodingAlgorithm.MaskGitPlus, DecodingAlgorithm.TopKMargin, DecodingAlgorithm.Entropy)
         from seed in Seed
         select new Case(rows, vocab, scale, ties, temperature, topP, topK, algorithm, seed));

    private static float[] Logits(Case c, Random random)
    {
        float[] logits = Values(random, c.Rows * c.Vocab, c.Scale);
        for (int r = 0; r < c.Rows; r++)
        {
            var row = logits.AsSpan(r * c.Vocab, c.Vocab);
            if (c.Ties == Ties.Heavy)
                for (int j = 0; j < row.Length; j++) row[j] = MathF.Round(row[j] / c.Scale * 2) * c.Scale / 2;   // 5 levels
            if (c.Vocab > 1 && random.Next(4) == 0) row[random.Next(c.Vocab)] = float.MinValue;        // a dropped logit
            if (c.Ties == Ties.Maximum && c.Vocab > 1)
            {
                int at = 0;
                for (int j = 1; j < row.Length; j++) if (row[j] > row[at]) at = j;
                row[random.Next(c.Vocab)] = row[at];
            }
        }
        return logits;
    }

    /// <summary>r of the summary for one row.</summary>
    private static double Relative(ReadOnlySpan<float> row, double temperature)
    {
        float max = float.NegativeInfinity;
        foreach (float l in row) if (l > max) max = l;
        double spread = 0;
        foreach (float l in row)
            if (l > float.MinValue) spread = Math.Max(spread, ((double)max - l) / (temperature > 0 ? temperature : 1));
        double epsExp = Math.Pow(2, -21) + spread * Math.Pow(2, -23);
        return 2 * epsExp + 2 * Gamma(row.Length) + 4 * U;
    }

    private static double[] HostFiltered(Case c, ReadOnlySpan<float> row)
    {
        var filtered = new double[row.Length];
        for (int j = 0; j < row.Length; j++) filtered[j] = row[j];
        new HostFilter(row.Length, c.Temperature, c.TopP, c.TopK).Apply(filtered);
        return filtered;
    }

    /// <summary>The host filter's order: descending logit, equal logits by ascending token id.</summary>
    private static int[] HostOrder(float[] values) =>
        Enumerable.Range(0, values.Length).OrderByDescending(j => values[j]).ThenBy(j => j).ToArray();

    /// <summary>The row's probabilities after the temperature alone (what top-p's cumulative sums run over).</summary>
    private static double[] Unfiltered(Case c, float[] values) =>
        Probabilities(values.Select(l => c.Temperature > 0 ? l / c.Temperature : (double)l).ToArray());

    private static double[] Probabilities(double[] filtered)
    {
        var p = new double[filtered.Length];
        Softmax.Compute(filtered, p);
        return p;
    }

    // ---- the filter alone, through a test kernel that writes the kept set ----

    private static void FilterKernel(ArrayView<float> logits, int vocab, float temperature, float topP, int topK, ArrayView<int> keep)
    {
        var floats = SharedMemory.Allocate<float>(IlgpuKernels.MaxGroupSize);
        var ints = SharedMemory.Allocate<int>(IlgpuKernels.MaxGroupSize);
        long rowBase = (long)Grid.IdxX * vocab;
        float max = logits[rowBase];
        for (int j = 1; j < vocab; j++) if (logits[rowBase + j] > max) max = logits[rowBase + j];
        var kept = DeviceFilter.Find(logits, rowBase, vocab, max, temperature, topP, topK, floats, ints);
        for (int j = Group.IdxX; j < vocab; j += Group.DimX)
            keep[rowBase + j] = kept.Keeps(DeviceFilter.Key(logits[rowBase + j]), j) ? 1 : 0;
    }

    private static readonly Lazy<Action<KernelConfig, ArrayView<float>, int, float, float, int, ArrayView<int>>> Filter = new(() =>
        IlgpuTestDevice.Kernels.Accelerator.LoadStreamKernel<ArrayView<float>, int, float, float, int, ArrayView<int>>(FilterKernel));

    [IlgpuProperty(MaxTest = 40)]
    public Property FilterKeepsTheHostSet() => Prop.ForAll(Cases, c =>
    {
        var random = new Random(c.Seed);
        var acc = IlgpuTestDevice.Kernels.Accelerator;
        float[] logits = Logits(c, random);
        var settings = SamplingSettings.From(new SamplingRequest(c.Algorithm, c.Temperature, c.TopP, c.TopK), c.Vocab);
        using var logitsBuffer = Upload(acc, logits);
        using var keep = acc.Allocate1D<int>(logits.Length);
        Filter.Value(new KernelConfig(c.Rows, IlgpuTestDevice.Kernels.ReductionGroupSize), logitsBuffer.View, c.Vocab,
            settings.Temperature, settings.TopP, settings.TopK, keep.View);
        acc.Synchronize();
        int[] got = keep.GetAsArray1D();

        for (int r = 0; r < c.Rows; r++)
        {
            var row = logits.AsSpan(r * c.Vocab, c.Vocab);
            double[] filtered = HostFiltered(c, row);
            bool same = true;
            for (int j = 0; j < c.Vocab; j++) same &= (got[r * c.Vocab + j] == 1) == (filtered[j] > double.MinValue);
            if (same) continue;

            // Only a top-p cut within rounding may differ: both sets are prefixes of the host's order, and the
            // host's cumulative probability at the shorter one's end lies within r of top_p.
            Assert.True(c.TopP is < 1, $"{c} row {r}: kept sets differ without top-p");
            float[] values = row.ToArray();
            int[] order = HostOrder(values);
            double[] p = Unfiltered(c, values);
            int hostCount = order.TakeWhile(j => filtered[j] > double.MinValue).Count();
            int deviceCount = order.TakeWhile(j => got[r * c.Vocab + j] == 1).Count();
            Assert.True(got.Skip(r * c.Vocab).Take(c.Vocab).Count(x => x == 1) == deviceCount, $"{c} row {r}: device set is not a prefix of the sorted order");
            double cumulative = order.Take(Math.Min(hostCount, deviceCount)).Sum(j => p[j]);
            double r32 = Relative(row, c.Temperature);
            Assert.True(Math.Abs(cumulative - c.TopP!.Value) <= r32 + 1e-7,
                $"{c} row {r}: host keeps {hostCount}, device {deviceCount}; cumulative {cumulative:R} vs top_p {c.TopP} beyond rounding {r32:E3}");
        }
    });

    // ---- the whole sampler ----

    [IlgpuProperty(MaxTest = 40)]
    public Property SamplerMatchesTheHostSampler() => Prop.ForAll(Cases, c => CheckSampler(c, chunks: 0));

    /// <summary>
    /// The unfiltered requests with each row forced into 1 to 40 chunks (at most one per thread of a group;
    /// TokenSampler.Chunks.cs): the chunk boundaries, the partials' combination and the draw's search inside one
    /// chunk, at vocabularies around the group size where the picked count would often be 1 or 2.
    /// </summary>
    [IlgpuProperty(MaxTest = 40)]
    public Property ChunkedSamplerMatchesTheHostSampler() => Prop.ForAll(
        (from c in CaseGen.Select(c => c with { TopP = null, TopK = null })
         from chunks in Gen.Choose(1, Math.Min(40, IlgpuTestDevice.Kernels.ReductionGroupSize))
         select (c, chunks)).ToArbitrary(),
        t => CheckSampler(t.c, t.chunks));

    /// <summary>The chunking covers the row with non-empty chunks that start on multiples of 4, no more than asked for.</summary>
    [FsCheck.Xunit.Property(MaxTest = 200)]
    public Property ChunksCoverTheRow() => Prop.ForAll(Gen.Choose(1, 200_000).ToArbitrary(), Gen.Choose(1, 256).ToArbitrary(), (vocab, asked) =>
    {
        var (chunks, length) = DeviceSampling.Split(vocab, asked);
        Assert.True(chunks >= 1 && chunks <= asked, $"V {vocab}, asked {asked}: {chunks} chunks");
        Assert.Equal(0, length % 4);
        Assert.True((long)(chunks - 1) * length < vocab && vocab <= (long)chunks * length, $"V {vocab}: {chunks} × {length}");
    });

    /// <summary>The whole device sampler on case <paramref name="c"/> against the host's (see the class summary for the allowances).</summary>
    private static void CheckSampler(Case c, int chunks)
    {
        var (logits, uniforms, tokens, confidence) = SampleOnDevice(c, chunks);

        var host = HostSampler.Create(new GenerationOptions { Algorithm = c.Algorithm, Temperature = c.Temperature, TopP = c.TopP, TopK = c.TopK }, c.Vocab);
        for (int r = 0; r < c.Rows; r++)
        {
            var row = logits.AsSpan(r * c.Vocab, c.Vocab);
            var want = host.Sample(row, uniforms[r]);
            double[] p = Probabilities(HostFiltered(c, row));
            double rel = Relative(row, c.Temperature);
            string at = $"{c} row {r}";
            int token = tokens[r];
            Assert.True(token >= 0 && token < c.Vocab, $"{at}: token {token} is outside the vocabulary");
            if (token != want.Token)
            {
                Assert.True(c.Temperature > 0, $"{at}: argmax token {token}, host {want.Token}");
                // The uniform must sit within rounding of a cumulative boundary between the two tokens — over the
                // host's kept set, or over a top-p cut moved by one token (the disagreement the filter property
                // allows), drawn over as the host draws.
                double nearest = DistanceToBoundary(p, token, want.Token, uniforms[r]);
                bool movedCut = MovedTopPCuts(c, row, rel).Select(Probabilities).Any(q =>
                {
                    int drawn = HostSampler.Categorical(q, uniforms[r]);
                    return q[token] > 0 && (drawn == token || DistanceToBoundary(q, token, drawn, uniforms[r]) <= rel);
                });
                Assert.True(p[token] > 0 || movedCut, $"{at}: token {token} is not a kept token");
                Assert.True(nearest <= rel || movedCut,
                    $"{at}: drew {token}, host {want.Token}, uniform {uniforms[r]:R} {nearest:E3} from a boundary (allowed {rel:E3})");
            }
            else Assert.True(p[token] > 0, $"{at}: token {token} is not a kept token");

            double expected = c.Algorithm == DecodingAlgorithm.MaskGitPlus ? p[token] : want.Confidence;
            double diff = Math.Abs(confidence[r] - expected), tolerance = Tolerance(c, p, expected, rel);
            if (diff <= tolerance + 1e-300) continue;
            // The one disagreement the filter property allows: a top-p cut within rounding of top_p, moved by one
            // token in the host's order. Then the device's confidence is the host's measure over that kept set.
            bool matchesMovedCut = MovedTopPCuts(c, row, rel).Any(moved =>
            {
                double[] q = Probabilities(moved);
                double other = Measure(c.Algorithm, q, token);
                return q[token] > 0 && Math.Abs(confidence[r] - other) <= Tolerance(c, q, other, rel) + 1e-300;
            });
            Assert.True(matchesMovedCut,
                $"{at}: {c.Algorithm} confidence {confidence[r]:R}, host {expected:R}, |Δ| {diff:E3} > allowed {tolerance:E3} (token {token})");
        }
    }

    /// <summary>How far <paramref name="uniform"/> lies from the nearest cumulative boundary of <paramref name="p"/> between tokens <paramref name="a"/> and <paramref name="b"/>.</summary>
    private static double DistanceToBoundary(double[] p, int a, int b, double uniform)
    {
        double before = 0, nearest = double.PositiveInfinity;
        for (int j = 0; j <= Math.Max(a, b); j++)
        {
            if (j >= Math.Min(a, b)) nearest = Math.Min(nearest, Math.Abs(before - uniform));
            before += p[j];
        }
        return nearest;
    }

    /// <summary>Case <paramref name="c"/>'s logits and uniforms, and the device sampler's tokens and confidences for them.</summary>
    private static (float[] Logits, double[] Uniforms, int[] Tokens, double[] Confidence) SampleOnDevice(Case c, int chunks)
    {
        var random = new Random(c.Seed);
        var acc = IlgpuTestDevice.Kernels.Accelerator;
        float[] logits = Logits(c, random);
        double[] uniforms = Enumerable.Range(0, c.Rows).Select(_ => random.NextDouble()).ToArray();
        var request = new SamplingRequest(c.Algorithm, c.Temperature, c.TopP, c.TopK);

        using var logitsBuffer = Upload(acc, logits);
        using var sampler = new DeviceSampler(IlgpuTestDevice.Kernels, c.Vocab, chunks);
        sampler.Begin(request, c.Rows, request.IsRandom ? uniforms : []);
        sampler.Sample(logitsBuffer.View, 0, c.Rows);
        int[] tokens = new int[c.Rows];
        double[] confidence = new double[c.Rows];
        sampler.Download(tokens, confidence);
        return (logits, uniforms, tokens, confidence);
    }

    /// <summary>
    /// The confidence's allowance (see the class summary): the device's float32 error, plus 2^-53 because near 1 the
    /// confidence is assembled on the host as 1 − deficit in double (half an ulp of 1 at most), plus the error of the
    /// double-precision oracle itself, whose softmax sum near 1 rounds at every addition.
    /// </summary>
    private static double Tolerance(Case c, double[] p, double expected, double rel)
    {
        double oracle = GammaDouble(c.Vocab + 3);
        return Math.Pow(2, -53) + c.Algorithm switch
        {
            DecodingAlgorithm.MaskGitPlus => rel * Math.Min(expected, 1 - expected) + oracle * expected,
            DecodingAlgorithm.TopKMargin => rel * (Math.Min(expected, 1 - expected) + 2 * SecondLargest(p)) + oracle * (p.Max() + SecondLargest(p)),
            _ => (2 * (rel + Math.Pow(2, -21)) + Gamma(c.Vocab)) * p.Sum(x => Math.Abs(x * Math.Log(x + 1e-10))) + rel * 1e-6
                 + oracle * (p.Sum(x => Math.Abs(x * Math.Log(x + 1e-10))) + 1),
        };
    }

    /// <summary>γ_n for double precision (u = 2^-53): the relative bound of n roundings in the host's softmax.</summary>
    private static double GammaDouble(int n) => n * Math.Pow(2, -53) / (1 - n * Math.Pow(2, -53));

    /// <summary>The host's measure over kept probabilities <paramref name="p"/> (dream-reference.md §5).</summary>
    private static double Measure(DecodingAlgorithm algorithm, double[] p, int token) => algorithm switch
    {
        DecodingAlgorithm.MaskGitPlus => p[token],
        DecodingAlgorithm.TopKMargin => p.Max() - SecondLargest(p),
        _ => p.Sum(x => x * Math.Log(x + 1e-10)),
    };

    /// <summary>
    /// The filtered rows (kept logits divided by the temperature, dropped ones at double.MinValue, as
    /// <see cref="HostFiltered"/> gives them) with the host's top-p cut moved one token either way in
    /// its order (descending logit, ascending id), top-k applied as before — only where the host's cumulative
    /// probability at the cut lies within <paramref name="rel"/> of top_p, the condition
    /// <see cref="FilterKeepsTheHostSet"/> allows a device cut to move under. None otherwise.
    /// </summary>
    private static IEnumerable<double[]> MovedTopPCuts(Case c, ReadOnlySpan<float> row, double rel)
    {
        if (c.TopP is not < 1) return [];
        float[] values = row.ToArray();
        int[] order = HostOrder(values);
        double[] all = Unfiltered(c, values);
        // The host's top-p cut alone: its kept count, a prefix of the order.
        double[] topPOnly = HostFiltered(c with { TopK = null }, row);
        int cut = topPOnly.Count(l => l > double.MinValue);
        var moved = new List<double[]>();
        foreach (int count in new[] { cut - 1, cut + 1 })
        {
            if (count < 1 || count > order.Length) continue;
            double cumulative = order.Take(Math.Min(cut, count)).Sum(j => all[j]);
            if (Math.Abs(cumulative - c.TopP.Value) > rel + 1e-7) continue;
            // Then top-k as the host applies it after top-p: only when k is below the kept count, keeping every
            // token at or above the row's k-th largest logit.
            double kth = c.TopK is { } k && k < count ? values[order[k - 1]] : double.NegativeInfinity;
            var keep = new HashSet<int>(order.Take(count).Where(j => values[j] >= kth));
            moved.Add(values.Select((l, j) => !keep.Contains(j) ? double.MinValue : c.Temperature > 0 ? l / c.Temperature : l).ToArray());
        }
        return moved;
    }

    /// <summary>
    /// The case the sampler property found on an H200: 114 logits tied at the top, top_p 0.5, so the host's cut
    /// lands on exactly half the mass (57 tokens: 0.5000000000000008 in double) and the float32 device's one token
    /// later (58). The device's entropy, −4.060442924499512, is the host's measure over the moved cut — the one
    /// disagreement the filter property allows — and not over the host's own (−4.0431).
    /// </summary>
    [Fact]
    public void AMovedTopPCutIsTheOneTheFilterAllows()
    {
        var c = new Case(2, 934, 60, Ties.Heavy, 0.3, 0.5, 2, DecodingAlgorithm.Entropy, 2048477368);
        float[] logits = Logits(c, new Random(c.Seed));
        var row = logits.AsSpan(c.Vocab, c.Vocab);
        var moved = Assert.Single(MovedTopPCuts(c, row, Relative(row, c.Temperature)));
        Assert.Equal(58, moved.Count(l => l > double.MinValue));
        double[] p = Probabilities(moved);
        double entropy = Measure(c.Algorithm, p, 0);
        Assert.InRange(Math.Abs(-4.060442924499512 - entropy), 0, Tolerance(c, p, entropy, Relative(row, c.Temperature)));
    }

    /// <summary>
    /// The case the sampler property found under PoCL: a V = 25 row with one logit at 60 and six at 30 (temperature
    /// 0), whose top-k margin is 1 − 6.55e-13. Exact (decimal arithmetic): 0.99999999999934496639…; the device
    /// returned 0.999999999999345 (its deficit form, within 4e-18) and the double host 0.9999999999993453, three ulps
    /// high from rounding its softmax sum near 1. The oracle's own error belongs in the allowance; this pins the
    /// host's (the device's, against the same exact value, is <see cref="TheCaseNearOneSamplesWithinTheAllowance"/>).
    /// </summary>
    [Fact]
    public void TheDoubleOracleNearOneIsWithinItsOwnBound()
    {
        var c = NearOne;
        float[] row = Logits(c, new Random(c.Seed)).AsSpan(0, c.Vocab).ToArray();
        double host = HostSampler.Create(new GenerationOptions { Algorithm = c.Algorithm, Temperature = 0 }, c.Vocab).Sample(row, 0.5).Confidence;
        double[] p = Probabilities(HostFiltered(c, row));
        double hostError = Math.Abs((double)(Exactly(host) - ExactMargin(row)));
        Assert.True(hostError > Math.Pow(2, -52), $"host error {hostError:E3}: the case no longer shows the oracle's rounding");
        Assert.True(hostError <= GammaDouble(c.Vocab + 3) * (p.Max() + SecondLargest(p)), $"host error {hostError:E3} beyond the oracle bound");
    }

    private static Case NearOne => new(3, 25, 60, Ties.Heavy, 0, null, null, DecodingAlgorithm.TopKMargin, 1836115662);

    /// <summary>A row's top-k margin at temperature 0 in decimal: (e₁ − e₂) / Σe with e₁ = 1 (the weights' own double rounding is far below the sum's).</summary>
    private static decimal ExactMargin(float[] row)
    {
        float max = row.Max();
        double[] weights = row.Where(l => l > float.MinValue).Select(l => Math.Exp((double)l - max)).OrderDescending().ToArray();
        decimal sum = weights.Aggregate(0m, (a, e) => a + Exactly(e));
        return (1m - Exactly(weights[1])) / sum;
    }

    /// <summary>A double in decimal to its 17 significant digits (decimal keeps 28; weights below 1e-28 read 0).</summary>
    private static decimal Exactly(double x) =>
        decimal.Parse(x.ToString("G17", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>
    /// The same case through the whole device sampler, and the device's margin against the exact one: within its own
    /// float32 allowance and the 2^-53 of assembling 1 − deficit in double, with no oracle term.
    /// </summary>
    [IlgpuFact]
    public void TheCaseNearOneSamplesWithinTheAllowance()
    {
        var c = NearOne;
        CheckSampler(c, chunks: 0);
        var (logits, _, _, confidence) = SampleOnDevice(c, chunks: 0);
        float[] row = logits.AsSpan(0, c.Vocab).ToArray();
        double exact = (double)ExactMargin(row);
        double[] p = Probabilities(HostFiltered(c, row));
        double deviceError = Math.Abs((double)(Exactly(confidence[0]) - ExactMargin(row)));
        double allowed = Math.Pow(2, -53) + Relative(row, c.Temperature) * (Math.Min(exact, 1 - exact) + 2 * SecondLargest(p));
        Assert.True(deviceError <= allowed, $"the device's margin {confidence[0]:R} is {deviceError:E3} from exact (allowed {allowed:E3})");
    }

    /// <summary>
    /// The case the sampler property found (first under PoCL, then on the CPU simulator too): 96 logits tied at the
    /// top of a V = 787 row, top_p 0.5, temperature 0.3. Half the mass is exactly 48 tied tokens; the host's double
    /// cumulative sum crosses 0.5 one token early and keeps 48, the float32 device (mass 48 is not above a budget of
    /// 48) keeps 49. The draw at u = 0.9319 is then the 46th of 49 kept (token 442) on the device and the 45th of 48
    /// (438) on the host: the host's own draw over the moved cut, which is what the property now accepts.
    /// </summary>
    [Fact]
    public void AMovedTopPCutMovesTheDraw()
    {
        var c = new Case(3, 787, 60, Ties.Heavy, 0.3, 0.5, 1, DecodingAlgorithm.MaskGitPlus, 342457825);
        var random = new Random(c.Seed);
        float[] logits = Logits(c, random);
        double u = random.NextDouble();
        var row = logits.AsSpan(0, c.Vocab);
        Assert.Equal(96, row.ToArray().Count(l => l == 60f));
        var host = HostSampler.Create(new GenerationOptions { Algorithm = c.Algorithm, Temperature = c.Temperature, TopP = c.TopP, TopK = c.TopK }, c.Vocab);
        Assert.Equal(438, host.Sample(row, u).Token);
        var moved = Assert.Single(MovedTopPCuts(c, row, Relative(row, c.Temperature)));
        Assert.Equal(49, moved.Count(l => l > double.MinValue));
        Assert.Equal(442, HostSampler.Categorical(Probabilities(moved), u));
    }

    /// <summary>The same case through the whole device sampler.</summary>
    [IlgpuFact]
    public void TheTiedCutSamplesWithinTheAllowance() =>
        CheckSampler(new Case(3, 787, 60, Ties.Heavy, 0.3, 0.5, 1, DecodingAlgorithm.MaskGitPlus, 342457825), chunks: 0);

    private static double SecondLargest(double[] p)
    {
        if (p.Length < 2) return 0;
        double first = double.NegativeInfinity, second = double.NegativeInfinity;
        foreach (double x in p)
        {
            if (x > first) { second = first; first = x; }
            else if (x > second) second = x;
        }
        return second;
    }

    /// <summary>A confident row (p[top] = 1 − 1e-9, which float32 reads as 1.0) keeps its deficit: the assembled
    /// confidence orders it below a surer row, as the host's double does.</summary>
    [IlgpuFact]
    public void Confident_rows_keep_their_order_beyond_float32()
    {
        var acc = IlgpuTestDevice.Kernels.Accelerator;
        const int vocab = 50;
        float[] logits = new float[2 * vocab];
        for (int j = 0; j < vocab; j++) logits[j] = logits[vocab + j] = -30f;
        logits[3] = 0f;          // row 0: rest = 49·e^-30 ≈ 4.6e-12
        logits[vocab + 7] = 0f;
        logits[vocab + 8] = -20f; // row 1: rest ≈ 2.1e-9, less sure
        using var buffer = Upload(acc, logits);
        foreach (var algorithm in new[] { DecodingAlgorithm.MaskGitPlus, DecodingAlgorithm.TopKMargin, DecodingAlgorithm.Entropy })
        {
            using var sampler = new DeviceSampler(IlgpuTestDevice.Kernels, vocab);
            sampler.Begin(new SamplingRequest(algorithm, 0, null, null), 2, []);
            sampler.Sample(buffer.View, 0, 2);
            int[] tokens = new int[2];
            double[] confidence = new double[2];
            sampler.Download(tokens, confidence);
            var host = HostSampler.Create(new GenerationOptions { Algorithm = algorithm }, vocab);
            var want0 = host.Sample(logits.AsSpan(0, vocab), 0);
            var want1 = host.Sample(logits.AsSpan(vocab, vocab), 0);
            Assert.Equal([3, 7], tokens);
            Assert.True(want0.Confidence > want1.Confidence);
            Assert.True(confidence[0] > confidence[1], $"{algorithm}: {confidence[0]:R} should exceed {confidence[1]:R}");
            // The host's own double sum of 1 and V tiny weights is off by up to V·2^-53 near 1.
            double hostRounding = vocab * Math.Pow(2, -53);
            Assert.True(Math.Abs(confidence[0] - want0.Confidence) <= 1e-6 * Math.Abs(1 - want0.Confidence) + hostRounding, $"{algorithm}: {confidence[0]:R} vs {want0.Confidence:R}");
            Assert.True(Math.Abs(confidence[1] - want1.Confidence) <= 1e-6 * Math.Abs(1 - want1.Confidence) + hostRounding, $"{algorithm}: {confidence[1]:R} vs {want1.Confidence:R}");
        }
    }
}
