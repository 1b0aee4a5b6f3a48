using Dream.Core.Model;

namespace Dream.Core.Generation;

/// <summary>
/// Dream's `diffusion_generate` over any <see cref="IForwardModel"/>:
///   canvas x [B, T] = prompt [B, P] followed by N mask ids (T = P + N); mask ids inside the prompt are generated too
///   timesteps = linspace(1, eps, steps + 1) (<see cref="NoiseSchedule"/>)
///   for i in 0..steps−1 — always exactly `steps` forward passes, no early exit:
///     M = positions of x holding the mask id
///     logits for M only, shifted: position p is decoded from the model's row p − 1 (position 0 from row 0)
///     logits hook; (token, confidence) per masked position (<see cref="TokenSampler"/>)
///     origin: reveal each masked position with probability 1 − s/t (all on the last step)
///     else:   per row, reveal the k = (int)(n · (1 − s/t)) most confident (all n on the last step)
///     tokens hook; history copy; progress
/// With a padded batch the attention mask is extended with ones over the new tokens and positions are
/// cumsum(mask) − 1 with pads at 1 (<see cref="ForwardInput"/>).
///
/// Where this differs from the official loop (each switchable back with <see cref="GenerationOptions.AsOfficialLoop"/>):
/// <list type="bullet">
/// <item>k is counted per row from the row's own masks (<see cref="RevealCounting.PerRow"/>), where the official loop
/// uses the batch average `maskCount / B` for every row. With equal counts the two are the same float32 number
/// and the results are identical. With unequal counts (masks inside one prompt of a batch, or a row whose model
/// "reveals" the mask id itself) the official loop overwrites non-mask tokens with the mask id in rows with
/// fewer masks than k and leaves masks in the others at the end; here no token is ever overwritten and every
/// mask is given a token on the last step.</item>
/// <item>Equally confident positions go to the lowest position (<see cref="PositionTies.LowestPosition"/>), as on
/// CUDA; the official code on a CPU orders them as libstdc++'s selection algorithms leave them.</item>
/// </list>
/// Beyond the official loop: zero new tokens is allowed (pure infilling of the masks inside the prompt);
/// randomness (origin, temperature &gt; 0, alg_temp &gt; 0) comes from <see cref="SplitMix64"/> seeded by
/// <see cref="GenerationOptions.Seed"/>, reproducible everywhere but not torch's numbers; the hooks see only the
/// masked positions' logits and the tokens hook gets no logits (see <see cref="LogitsHook"/>).
///
/// Sampling on the device: when the model implements <see cref="ISamplingForwardModel"/>, no logits hook is set
/// and <see cref="GenerationOptions.HostSampling"/> is off, the model samples (float32) and only tokens and
/// confidences come back; with alg_temp 0, <see cref="PositionTies.LowestPosition"/> and
/// <see cref="RevealCounting.PerRow"/> it reveals too. Uniforms are drawn in the host path's order, so both paths
/// consume the same stream; the logits buffer [M, V] is then never allocated.
///
/// Buffers (canvas, forward input, masked-position rows, logits [M, V], sampler and ranking scratch) are allocated
/// once per call, sized for the masks present after the initial tokens hook; only a tokens hook that adds masks
/// beyond that makes them grow. Nothing else is allocated per step except history copies.
/// </summary>
public sealed class DiffusionGenerator
{
    private readonly IForwardModel _model;

    public DiffusionGenerator(IForwardModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
    }

    public IForwardModel Model => _model;

    public GenerationResult Generate(PromptBatch prompt, GenerationOptions options, GenerationHooks? hooks = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var config = _model.Config;
        int vocab = config.VocabSize;
        int maskId = options.MaskTokenId ?? config.MaskTokenId;
        if ((uint)maskId >= (uint)vocab)
            throw new ArgumentOutOfRangeException(nameof(options), maskId, $"mask token id {maskId} lies outside the vocabulary [0, {vocab})");
        for (int i = 0; i < prompt.Ids.Length; i++)
            if ((uint)prompt.Ids[i] >= (uint)vocab)
                throw new ArgumentException(
                    $"prompt token {prompt.Ids[i]} at ({i / Math.Max(prompt.Length, 1)}, {i % Math.Max(prompt.Length, 1)}) lies outside the vocabulary [0, {vocab})",
                    nameof(prompt));

        int batch = prompt.Batch, promptLength = prompt.Length;
        int newTokens = options.ResolveNewTokens(promptLength);
        long total = (long)promptLength + newTokens;
        if (total < 1)
            throw new ArgumentException("the canvas is empty: the prompt has no tokens and no new tokens were asked for", nameof(prompt));
        if (total > config.MaxPositionEmbeddings)
            throw new ArgumentOutOfRangeException(nameof(options), total,
                $"prompt ({promptLength}) + new tokens ({newTokens}) = {total} exceeds max_position_embeddings {config.MaxPositionEmbeddings}");
        int length = (int)total;

        var input = new ForwardInput(batch, length, ExtendAttentionMask(prompt, length));
        int[] canvas = input.Ids;   // [B, T]; the forward input's ids are the canvas itself
        for (int b = 0; b < batch; b++)
        {
            prompt.Row(b).CopyTo(canvas.AsSpan(b * length, promptLength));
            canvas.AsSpan(b * length + promptLength, newTokens).Fill(maskId);
        }

        var schedule = new NoiseSchedule(options.Steps, options.Eps);
        var sampler = TokenSampler.Create(options, vocab);
        var selector = new PositionSelector(length, options.PositionTies);
        var rng = new SplitMix64(options.Seed);
        var history = options.OutputHistory ? new List<int[]>(options.Steps) : null;

        hooks?.Tokens?.Invoke(null, canvas);
        // Sampling on the model's device needs a model that offers it and nothing that needs the logits themselves.
        var device = _model as ISamplingForwardModel;
        var request = SamplingRequest.From(options);
        if (options.HostSampling || hooks?.Logits is not null) device = null;
        bool revealOnDevice = device is not null && options.Algorithm != DecodingAlgorithm.Origin && options.AlgTemp == 0
            && options.PositionTies == PositionTies.LowestPosition && options.RevealCounting == RevealCounting.PerRow;
        var work = new Workspace(batch, length, vocab, CountMasks(canvas, maskId), hostLogits: device is null);

        for (int step = 0; step < options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int masked = work.CollectMasks(canvas, length, maskId);
            int revealed;
            if (device is null)
            {
                var logits = work.Logits.AsSpan(0, masked * vocab);                 // [M, V]
                _model.Forward(input, work.Rows.AsSpan(0, masked), logits);
                hooks?.Logits?.Invoke(step, canvas, work.Positions.AsSpan(0, masked), logits);
                if (options.Algorithm == DecodingAlgorithm.Origin)
                {
                    revealed = RevealAtRandom(step, masked, canvas, schedule, sampler, rng, work);
                }
                else
                {
                    SampleOnHost(masked, sampler, rng, work);
                    revealed = RevealMostConfident(step, masked, canvas, maskId, schedule, selector, rng, options, work);
                }
            }
            else if (options.Algorithm == DecodingAlgorithm.Origin)
            {
                revealed = RevealAtRandomOnDevice(device, input, step, masked, canvas, schedule, request, rng, work);
            }
            else
            {
                var uniforms = DrawUniforms(masked, request, rng, work);
                var rows = work.Rows.AsSpan(0, masked);
                if (revealOnDevice)
                {
                    revealed = 0;
                    for (int b = 0; b < batch; b++)
                    {
                        int count = work.RowStart[b + 1] - work.RowStart[b];
                        work.RevealCounts[b] = Math.Min(schedule.RevealCount(step, count), count);
                        revealed += work.RevealCounts[b];
                    }
                    device.ForwardSampleReveal(input, work.Positions.AsSpan(0, masked), rows, work.RowStart, work.RevealCounts,
                        request, uniforms, canvas);
                }
                else
                {
                    device.ForwardSample(input, rows, request, uniforms, work.Tokens.AsSpan(0, masked), work.Confidence.AsSpan(0, masked));
                    revealed = RevealMostConfident(step, masked, canvas, maskId, schedule, selector, rng, options, work);
                }
            }

            hooks?.Tokens?.Invoke(step, canvas);
            history?.Add(canvas.ToArray());
            hooks?.Progress?.Invoke(new GenerationProgress(step + 1, options.Steps, revealed, CountMasks(canvas, maskId)));
        }
        return new GenerationResult(batch, length, promptLength, canvas, history);
    }

    /// <summary>The prompt's padding mask extended with ones over the new tokens [B, T]; null without padding.</summary>
    private static int[]? ExtendAttentionMask(PromptBatch prompt, int length)
    {
        if (!prompt.HasPadding) return null;
        var mask = new int[prompt.Batch * length];
        mask.AsSpan().Fill(1);
        for (int b = 0; b < prompt.Batch; b++)
            prompt.AttentionMask.Slice(b * prompt.Length, prompt.Length).CopyTo(mask.AsSpan(b * length, prompt.Length));
        return mask;
    }

    /// <summary>origin: a coin per masked position (all coins first, then the tokens of the revealed, as the
    /// official code draws them), so the draws depend only on the mask count, never on the logits.</summary>
    private static int RevealAtRandom(int step, int masked, int[] canvas, NoiseSchedule schedule, TokenSampler sampler,
        SplitMix64 rng, Workspace work)
    {
        float probability = schedule.RevealProbability(step);
        for (int m = 0; m < masked; m++) work.Chosen[m] = rng.NextFloat() < probability ? 1 : 0;
        int vocab = sampler.VocabSize, revealed = 0;
        for (int m = 0; m < masked; m++)
        {
            if (work.Chosen[m] == 0) continue;
            double uniform = sampler.IsRandom ? rng.NextDouble() : 0;
            canvas[work.Positions[m]] = sampler.Sample(work.Logits.AsSpan(m * vocab, vocab), uniform).Token;
            revealed++;
        }
        return revealed;
    }

    /// <summary>The host's `sample_tokens` for every masked position: a uniform per position when the sampler is
    /// random, drawn in position order (the device path draws the same stream up front).</summary>
    private static void SampleOnHost(int masked, TokenSampler sampler, SplitMix64 rng, Workspace work)
    {
        int vocab = sampler.VocabSize;
        for (int m = 0; m < masked; m++)
        {
            double uniform = sampler.IsRandom ? rng.NextDouble() : 0;
            var sampled = sampler.Sample(work.Logits.AsSpan(m * vocab, vocab), uniform);
            work.Tokens[m] = sampled.Token;
            work.Confidence[m] = sampled.Confidence;
        }
    }

    /// <summary>The uniforms the host path would draw for <paramref name="count"/> positions, in order (none when
    /// the request is deterministic).</summary>
    private static ReadOnlySpan<double> DrawUniforms(int count, SamplingRequest request, SplitMix64 rng, Workspace work)
    {
        if (!request.IsRandom) return [];
        for (int m = 0; m < count; m++) work.Uniforms[m] = rng.NextDouble();
        return work.Uniforms.AsSpan(0, count);
    }

    /// <summary>origin with device sampling: the same coins and uniforms as <see cref="RevealAtRandom"/>, and only
    /// the revealed positions' rows are sampled.</summary>
    private static int RevealAtRandomOnDevice(ISamplingForwardModel device, ForwardInput input, int step, int masked, int[] canvas,
        NoiseSchedule schedule, SamplingRequest request, SplitMix64 rng, Workspace work)
    {
        float probability = schedule.RevealProbability(step);
        for (int m = 0; m < masked; m++) work.Chosen[m] = rng.NextFloat() < probability ? 1 : 0;
        int revealed = 0;
        for (int m = 0; m < masked; m++)
        {
            if (work.Chosen[m] == 0) continue;
            work.Entries[revealed] = m;
            work.SubRows[revealed] = work.Rows[m];
            revealed++;
        }
        var uniforms = DrawUniforms(revealed, request, rng, work);
        device.ForwardSample(input, work.SubRows.AsSpan(0, revealed), request, uniforms,
            work.Tokens.AsSpan(0, revealed), work.Confidence.AsSpan(0, revealed));
        for (int i = 0; i < revealed; i++) canvas[work.Positions[work.Entries[i]]] = work.Tokens[i];
        return revealed;
    }

    /// <summary>Confidence algorithms, once every masked position has a token and a confidence: per row reveal the
    /// scheduled number of them (see the class summary for how that number is counted).</summary>
    private static int RevealMostConfident(int step, int masked, int[] canvas, int maskId, NoiseSchedule schedule,
        PositionSelector selector, SplitMix64 rng, GenerationOptions options, Workspace work)
    {
        int length = selector.Length;
        // The official k: the batch's mask count over B, as the float32 number torch divides out.
        int batchK = options.RevealCounting == RevealCounting.BatchAverage
            ? schedule.RevealCount(step, (float)masked / work.Batch)
            : 0;
        int revealed = 0;
        var row = work.RowConfidence.AsSpan(0, length);                  // [T] the official full_confidence
        for (int b = 0; b < work.Batch; b++)
        {
            int first = work.RowStart[b], count = work.RowStart[b + 1] - first;
            int k = options.RevealCounting == RevealCounting.BatchAverage
                ? Math.Min(batchK, length)
                : Math.Min(schedule.RevealCount(step, count), count);
            if (k <= 0) continue;

            row.Fill(double.NegativeInfinity);
            for (int m = first; m < first + count; m++) row[work.Positions[m] - b * length] = work.Confidence[m];
            var chosen = work.Chosen.AsSpan(0, k);
            if (options.AlgTemp > 0) selector.Sample(row, options.AlgTemp, k, rng, chosen);
            else selector.MostConfident(row, k, chosen);

            foreach (int p in chosen)
            {
                int m = work.EntryOf(b, p, first, count);
                // A chosen position that is not masked can only come from the batch-average count; the official
                // loop writes the mask id there.
                canvas[b * length + p] = m >= 0 ? work.Tokens[m] : maskId;
                if (m >= 0) revealed++;
            }
        }
        return revealed;
    }

    private static int CountMasks(ReadOnlySpan<int> canvas, int maskId) => canvas.Count(maskId);

    /// <summary>Per-call buffers, sized for the largest number of masked positions M seen so far.</summary>
    private sealed class Workspace(int batch, int length, int vocab, int capacity, bool hostLogits)
    {
        public int Batch { get; } = batch;
        public int Length { get; } = length;
        public int Vocab { get; } = vocab;
        public int[] Positions = new int[capacity];           // [M] flat b·T + p of each masked position, ascending
        public int[] Rows = new int[capacity];                // [M] flat row that decodes it: b·T + max(p − 1, 0)
        public float[] Logits = hostLogits ? new float[LogitsLength(capacity, vocab)] : [];   // [M, V], host sampling only
        public int[] Tokens = new int[capacity];              // [M] sampled token
        public double[] Confidence = new double[capacity];    // [M]
        public int[] Chosen = new int[Math.Max(capacity, length)];   // [max(M, T)] picked positions / origin's coins
        public double[] RowConfidence = new double[length];   // [T] one row's confidences, −∞ where not masked
        public int[] RowStart = new int[batch + 1];           // [B + 1] row b owns entries RowStart[b]..RowStart[b+1]
        public double[] Uniforms = new double[capacity];      // [M] device sampling: the draws, in entry order
        public int[] Entries = new int[capacity];             // [M] origin on the device: the entries revealed
        public int[] SubRows = new int[capacity];             // [M] ... and the rows that decode them
        public int[] RevealCounts = new int[batch];           // [B] k per row, for a reveal on the device

        /// <summary>Lists the masked positions of the canvas [B, T] row by row; returns M.</summary>
        public int CollectMasks(ReadOnlySpan<int> canvas, int length, int maskId)
        {
            int needed = canvas.Count(maskId);
            if (needed > Positions.Length) Grow(needed);
            int m = 0;
            for (int b = 0; b < Batch; b++)
            {
                RowStart[b] = m;
                for (int p = 0; p < length; p++)
                {
                    int flat = b * length + p;
                    if (canvas[flat] != maskId) continue;
                    Positions[m] = flat;
                    Rows[m] = b * length + Math.Max(p - 1, 0);   // the logits shift
                    m++;
                }
            }
            RowStart[Batch] = m;
            return m;
        }

        /// <summary>The entry m of position p in row b (entries first..first+count−1, ascending), or −1 when p is
        /// not masked.</summary>
        public int EntryOf(int b, int p, int first, int count)
        {
            int m = Array.BinarySearch(Positions, first, count, b * Length + p);
            return m >= 0 ? m : -1;
        }

        private void Grow(int capacity)
        {
            Positions = new int[capacity];
            Rows = new int[capacity];
            if (hostLogits) Logits = new float[LogitsLength(capacity, Vocab)];
            Tokens = new int[capacity];
            Confidence = new double[capacity];
            Chosen = new int[Math.Max(capacity, Length)];
            Uniforms = new double[capacity];
            Entries = new int[capacity];
            SubRows = new int[capacity];
        }

        private static int LogitsLength(int capacity, int vocab)
        {
            long length = (long)capacity * vocab;
            if (length > Array.MaxLength)
                throw new InvalidOperationException($"{capacity} masked positions × vocabulary {vocab} exceeds one array; generate fewer tokens per call");
            return (int)length;
        }
    }
}
