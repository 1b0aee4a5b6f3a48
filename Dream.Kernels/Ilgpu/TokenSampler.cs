using System.Runtime.CompilerServices;
using Dream.Core.Generation;
using Dream.Core.Model;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>Which confidence <see cref="TokenSampler"/> reports (the decoding algorithm's measure).</summary>
public enum ConfidenceMeasure
{
    /// <summary>p[token] (`maskgit_plus`, `origin`).</summary>
    Probability = 0,
    /// <summary>p₁ − p₂, the two largest (`topk_margin`).</summary>
    Margin = 1,
    /// <summary>Σ p·log(p + 1e-10) (`entropy`).</summary>
    Entropy = 2,
}

/// <summary>The kernel argument of <see cref="TokenSampler"/>: one request, narrowed to float32.</summary>
public struct SamplingSettings
{
    public int Vocab;
    /// <summary>0: argmax; &gt; 0: divide and draw.</summary>
    public float Temperature;
    /// <summary>≥ 1: off.</summary>
    public float TopP;
    /// <summary>0: off (also for k ≥ V).</summary>
    public int TopK;
    public ConfidenceMeasure Measure;

    public static SamplingSettings From(SamplingRequest request, int vocab) => new()
    {
        Vocab = vocab,
        Temperature = (float)request.Temperature,
        TopP = request.TopP is { } p && p < 1 ? (float)p : 1f,
        TopK = request.TopK is { } k && k < vocab ? k : 0,
        Measure = request.Algorithm switch
        {
            DecodingAlgorithm.TopKMargin => ConfidenceMeasure.Margin,
            DecodingAlgorithm.Entropy => ConfidenceMeasure.Entropy,
            _ => ConfidenceMeasure.Probability,
        },
    };
}

/// <summary>
/// The official `sample_tokens` on the device, one logits row [V] per group of G threads — the twin of
/// Dream.Core.Generation.TokenSampler (and its MaskGitPlus / TopKMargin / Entropy / Origin measures), so that only
/// three numbers per row cross to the host:
///   filter (temperature, top-p, top-k: <see cref="TokenFilter"/>, kept sets equal to the host's, ties included);
///   e_j = exp((l_j − max)/T) for kept tokens, 0 for dropped;  E = Σ e;  p = e / E;
///   token — temperature 0: the first index of the largest logit (= argmax p with first-index ties, exactly);
///           temperature &gt; 0: the first token whose cumulative e exceeds u·Σe, u the row's host-drawn uniform
///           (the host's inverse-CDF draw; zero-weight tokens are never drawn);
///   confidence — p[token], p₁ − p₂ (0 on a tie, p₁ when one token is kept), or Σ p·log(p + 1e-10).
/// Passes: max and its first index; the filter's bisections (only when filtering); one pass for
/// rest = Σ_{kept, j ≠ top} e_j (so E = 1 + rest exactly where it matters) and the two largest kept logits
/// (with multiplicity); the draw (contiguous chunks of ⌈V/G⌉ per thread, so a prefix over the G chunk sums
/// finds the chunk and its owner scans it); for entropy one more pass.
///
/// Float32 throughout (the host is double), written to keep confident rows ordered: probabilities near 1 are
/// where float32 saturates (p = 1 − 1e-9 reads 1.0), so the kernel also returns the deficit 1 − confidence
/// computed from rest (p[top] = 1/(1 + rest), deficit rest/(1 + rest); margin deficit (rest + e₂)/E) — the
/// host assembles confidence = 1 − deficit in double whenever the deficit is below ½ (see
/// <see cref="DeviceSampler"/>). The entropy uses log p = (l − max)/T − log1p(rest), not log of a rounded p,
/// and p·log(p + 1e-10) = p·log p + 1e-10 for p ≥ 1e-6 (the dropped term is below 5e-15). 1 − e₂ is −expm1.
/// </summary>
public static partial class TokenSampler
{
    /// <param name="logits">[R, V] row-major.</param>
    /// <param name="uniforms">[R] draws from [0, 1) (read only at temperature &gt; 0).</param>
    /// <param name="tokens">[R] chosen token.</param>
    /// <param name="confidence">[R] the measure.</param>
    /// <param name="deficit">[R] 1 − confidence without cancellation for Probability and Margin (meaningful
    /// where confidence is near 1); NaN for Entropy.</param>
    /// <param name="partials">Workspace of the chunked passes (TokenSampler.Chunks.cs), for at least R rows.</param>
    /// <param name="chunks">Chunks per row for an unfiltered request (0: <see cref="ChunksFor"/> picks; the tests force
    /// others). Filtered requests take one group per row.</param>
    public static void Sample(IlgpuKernels kernels, ArrayView<float> logits, int rows, SamplingSettings settings,
        ArrayView<float> uniforms, ArrayView<int> tokens, ArrayView<float> confidence, ArrayView<float> deficit,
        Partials partials, int chunks = 0)
    {
        if (rows == 0) return;
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Vocab, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(chunks);
        if (Chunked(settings))
        {
            int count = chunks > 0 ? chunks : ChunksFor(rows, settings.Vocab, kernels.ReductionGroupSize, kernels.Accelerator.NumMultiprocessors).Chunks;
            SampleChunked(kernels, logits, rows, settings, uniforms, tokens, confidence, deficit, partials, count);
        }
        else
        {
            kernels.TokenSampler(new KernelConfig(rows, kernels.ReductionGroupSize), logits, settings, uniforms, tokens, confidence, deficit);
        }
    }

    internal static void Kernel(ArrayView<float> logits, SamplingSettings settings, ArrayView<float> uniforms,
        ArrayView<int> tokens, ArrayView<float> confidence, ArrayView<float> deficit)
    {
        int tid = Group.IdxX, groupSize = Group.DimX, row = Grid.IdxX, vocab = settings.Vocab;
        float temperature = settings.Temperature;
        long rowBase = (long)row * vocab;
        var floats = SharedMemory.Allocate<float>(IlgpuKernels.MaxGroupSize);   // [G] partials
        var ints = SharedMemory.Allocate<int>(IlgpuKernels.MaxGroupSize);       // [G] partials
        var keys = SharedMemory.Allocate<uint>(IlgpuKernels.MaxGroupSize);      // [G] partial largest keys
        var keys2 = SharedMemory.Allocate<uint>(IlgpuKernels.MaxGroupSize);     // [G] partial second keys
        var chosen = SharedMemory.Allocate<int>(1);                             // the drawn token

        // Every full pass over the row is a VisitRange: four neighbouring logits per iteration, loads together.

        // 1. The largest logit and its first index (threads own interleaved indices, so compare indices).
        var best = VisitRange(logits, rowBase, 0, vocab, Largest.None);
        keys[tid] = best.Key;
        ints[tid] = best.Index;
        Group.Barrier();
        uint topKey = 0u;
        int top = int.MaxValue;
        for (int i = 0; i < groupSize; i++)
        {
            if (ints[i] == int.MaxValue) continue;
            if (top == int.MaxValue || keys[i] > topKey || (keys[i] == topKey && ints[i] < top))
            {
                topKey = keys[i];
                top = ints[i];
            }
        }
        Group.Barrier();
        float max = TokenFilter.Value(topKey);

        // 2. The filters, as thresholds.
        var kept = TokenFilter.Find(logits, rowBase, vocab, max, temperature, settings.TopP, settings.TopK, floats, ints);

        // 3. rest = Σ e over the kept tokens but the top one; the two largest kept keys, with multiplicity.
        var kept2 = VisitRange(logits, rowBase, 0, vocab, new KeptMass { Kept = kept, Top = top, Max = max, Temperature = temperature });
        float rest = kept2.Rest;
        keys[tid] = kept2.First;
        keys2[tid] = kept2.Second;
        Group.Barrier();
        uint secondKey = 0u;
        {
            uint a = 0u;
            for (int i = 0; i < groupSize; i++)
            {
                for (int half = 0; half < 2; half++)
                {
                    uint key = half == 0 ? keys[i] : keys2[i];
                    if (key > a)
                    {
                        secondKey = a;
                        a = key;
                    }
                    else if (key > secondKey)
                    {
                        secondKey = key;
                    }
                }
            }
        }
        Group.Barrier();
        rest = GroupReduce.Sum(floats, rest);
        float total = 1f + rest;   // e[top] = exp(0) = 1

        // 4. The token.
        int token = top;
        if (temperature > 0f)
        {
            token = DrawInRange(logits, rowBase, 0, vocab, kept, max, temperature, 0f, -1f, uniforms[row], floats, ints, chosen);
            if (token < 0) token = top;
        }

        // 5. The confidence (and its deficit 1 − confidence, exact where confidence is near 1).
        float conf, lack;
        if (settings.Measure == ConfidenceMeasure.Entropy)
        {
            var entropy = VisitRange(logits, rowBase, 0, vocab,
                new EntropyTerms { Kept = kept, Max = max, Temperature = temperature, Total = total, LogTotal = Log1p(rest) });
            conf = GroupReduce.Sum(floats, entropy.Sum);
            lack = float.NaN;
        }
        else (conf, lack) = TokenMeasure(settings.Measure, logits, rowBase, token, top, secondKey, max, temperature, rest, total);

        if (tid != 0) return;
        tokens[row] = token;
        confidence[row] = conf;
        deficit[row] = lack;
    }

    /// <summary>A pass's running state over the logits one thread visits (<see cref="VisitRange{T}"/>).</summary>
    private interface ILogitVisitor<T> where T : struct, ILogitVisitor<T>
    {
        /// <summary>The state after logit <paramref name="logit"/> of token <paramref name="j"/>.</summary>
        T Visit(float logit, int j);
    }

    /// <summary>
    /// One thread's share of a pass over logits start .. end − 1 of a row (start a multiple of 4): quads t, t + G, ...
    /// of the range, four neighbouring logits per iteration with their loads issued together — one load per
    /// iteration left each thread waiting out a memory latency per logit (Nsight on an H200: 0.9–1.1 ms per
    /// denoising step for the entropy passes over 65–256 rows of 152,064 logits) — then the (end − start) mod 4
    /// leftovers one by one. Each thread visits its indices in ascending order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T VisitRange<T>(ArrayView<float> logits, long rowBase, int start, int end, T state) where T : struct, ILogitVisitor<T>
    {
        int quads = (end - start) >> 2;
        for (int q = Group.IdxX; q < quads; q += Group.DimX)
        {
            long at = rowBase + start + 4L * q;
            int j = start + 4 * q;
            float l0 = logits[at], l1 = logits[at + 1], l2 = logits[at + 2], l3 = logits[at + 3];
            state = state.Visit(l0, j).Visit(l1, j + 1).Visit(l2, j + 2).Visit(l3, j + 3);
        }
        for (int j = start + 4 * quads + Group.IdxX; j < end; j += Group.DimX) state = state.Visit(logits[rowBase + j], j);
        return state;
    }

    /// <summary>
    /// The drawn token among logits start .. end − 1 of a row (kept tokens of positive weight only): the first whose
    /// running sum of e, starting from <paramref name="before"/>, exceeds <paramref name="target"/> — or, given a
    /// negative target, u·Σe over the range (u = <paramref name="uniform"/>). The group cuts the range into G contiguous
    /// pieces and sums each; the prefixes over the pieces are the same float sums in every thread, so at most one piece
    /// holds the crossing, and its owner scans it in ascending order. Past the end of the running sum (rounding) the
    /// range's last token of positive weight is drawn; none at all: −1. Every thread returns the token.
    /// </summary>
    /// <param name="chosen">[≥ 1] shared scratch.</param>
    private static int DrawInRange(ArrayView<float> logits, long rowBase, int start, int end, FilterThresholds kept, float max, float temperature,
        float before, float target, float uniform, ArrayView<float> floats, ArrayView<int> ints, ArrayView<int> chosen)
    {
        int tid = Group.IdxX, groupSize = Group.DimX;
        int per = (end - start + groupSize - 1) / groupSize;
        int from = Math.Min(start + tid * per, end), to = Math.Min(from + per, end);
        float local = 0f;
        int lastPositive = -1;
        for (int j = from; j < to; j++)
        {
            float e = DrawWeight(logits, rowBase, j, kept, max, temperature);
            if (!(e > 0f)) continue;
            local += e;
            lastPositive = j;
        }
        floats[tid] = local;
        ints[tid] = lastPositive;
        if (tid == 0) chosen[0] = -1;
        Group.Barrier();
        float sum = before, mine = before;
        int lastInRange = -1;
        for (int i = 0; i < groupSize; i++)
        {
            if (i == tid) mine = sum;
            sum += floats[i];
            if (ints[i] > lastInRange) lastInRange = ints[i];
        }
        if (target < 0f) target = uniform * sum;
        if (mine <= target && target < mine + local)
        {
            float cumulative = mine;
            int found = lastPositive;
            for (int j = from; j < to; j++)
            {
                float e = DrawWeight(logits, rowBase, j, kept, max, temperature);
                if (!(e > 0f)) continue;
                cumulative += e;
                if (cumulative > target)
                {
                    found = j;
                    break;
                }
            }
            chosen[0] = found;
        }
        Group.Barrier();
        int token = target < sum ? chosen[0] : lastInRange;
        Group.Barrier();
        return token;
    }

    /// <summary>Token j's weight in the draw: e = exp((l − max)/T) when the filter keeps it, else 0.</summary>
    private static float DrawWeight(ArrayView<float> logits, long rowBase, int j, FilterThresholds kept, float max, float temperature)
    {
        float l = logits[rowBase + j];
        return kept.Keeps(TokenFilter.Key(l), j) ? TokenFilter.Weight(l, max, temperature) : 0f;
    }

    /// <summary>
    /// The Probability and Margin measures and their deficits from the row's sums (Entropy needs a pass of its own):
    /// p[token] (its deficit rest/E when the token is the top one), or p₁ − p₂ from the top and the second largest key.
    /// </summary>
    private static (float Confidence, float Deficit) TokenMeasure(ConfidenceMeasure measure, ArrayView<float> logits, long rowBase,
        int token, int top, uint secondKey, float max, float temperature, float rest, float total)
    {
        if (measure == ConfidenceMeasure.Margin)
        {
            float e2 = 0f, oneMinus = 1f;
            if (secondKey != 0u)
            {
                float scaled = TokenFilter.Scaled(TokenFilter.Value(secondKey), max, temperature);
                e2 = MathF.Exp(scaled);
                oneMinus = -Expm1(scaled);
            }
            return (oneMinus / total, (rest + e2) / total);
        }
        float e = token == top ? 1f : TokenFilter.Weight(logits[rowBase + token], max, temperature);
        float conf = e / total;
        return (conf, token == top ? rest / total : 1f - conf);
    }

    /// <summary>Pass 1's state: the largest key this thread has seen and its first index (none yet: Index = int.MaxValue).</summary>
    private struct Largest : ILogitVisitor<Largest>
    {
        public uint Key;
        public int Index;

        public static Largest None => new() { Index = int.MaxValue };

        public readonly Largest Visit(float logit, int j)
        {
            uint key = TokenFilter.Key(logit);
            return Index == int.MaxValue || key > Key ? new Largest { Key = key, Index = j } : this;
        }
    }

    /// <summary>Pass 3's state: Σ e over the kept tokens but the top one, and the two largest kept keys (with multiplicity).</summary>
    private struct KeptMass : ILogitVisitor<KeptMass>
    {
        public FilterThresholds Kept;
        public int Top;
        public float Max, Temperature, Rest;
        public uint First, Second;

        public readonly KeptMass Visit(float logit, int j)
        {
            uint key = TokenFilter.Key(logit);
            if (!Kept.Keeps(key, j)) return this;
            var next = this;
            if (j != Top) next.Rest += TokenFilter.Weight(logit, Max, Temperature);
            if (key > First)
            {
                next.Second = First;
                next.First = key;
            }
            else if (key > Second)
            {
                next.Second = key;
            }
            return next;
        }
    }

    /// <summary>The entropy pass's state: Σ p·log(p + 1e-10) over the kept tokens (see the class summary).</summary>
    private struct EntropyTerms : ILogitVisitor<EntropyTerms>
    {
        public FilterThresholds Kept;
        public float Max, Temperature, Total, LogTotal, Sum;

        public readonly EntropyTerms Visit(float logit, int j)
        {
            if (!Kept.Keeps(TokenFilter.Key(logit), j)) return this;
            float scaled = TokenFilter.Scaled(logit, Max, Temperature);
            float p = MathF.Exp(scaled) / Total;
            var next = this;
            next.Sum += p >= 1e-6f ? p * (scaled - LogTotal) + 1e-10f : p * MathF.Log(p + 1e-10f);
            return next;
        }
    }

    /// <summary>log(1 + x) for x ≥ 0 without losing x below float32's epsilon (Goldberg's trick).</summary>
    private static float Log1p(float x)
    {
        float u = 1f + x;
        return u == 1f ? x : MathF.Log(u) * x / (u - 1f);
    }

    /// <summary>e^x − 1 for x ≤ 0 without cancellation near 0 (Kahan's trick).</summary>
    private static float Expm1(float x)
    {
        float u = MathF.Exp(x);
        if (u == 1f) return x;
        float um1 = u - 1f;
        return um1 == -1f ? -1f : um1 * x / MathF.Log(u);
    }
}
