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
///     else:   reveal the k = (int)(n · (1 − s/t)) most confident per row (all n on the last step)
///     tokens hook; history copy; progress
/// With a padded batch the attention mask is extended with ones over the new tokens and positions are
/// cumsum(mask) − 1 with pads at 1 (<see cref="ForwardInput"/>).
///
/// Deviations from the official loop, none of which changes a result the official loop gets right:
/// <list type="bullet">
/// <item>k is computed per row from that row's own mask count n, where the official loop uses the batch average
/// `maskCount / B`. With equal counts (every unpadded or left-padded batch without masks inside the prompts) the
/// two are the same float32 number and the results are identical. With unequal counts the official loop leaves
/// masks in the shorter rows at the end and, in a row with fewer masks than k, selects non-mask positions and
/// overwrites them with the mask id; here a non-mask token is never overwritten and every mask is filled.</item>
/// <item>Zero new tokens is allowed (pure infilling of the masks inside the prompt).</item>
/// <item>Randomness (origin, temperature &gt; 0, alg_temp &gt; 0) comes from <see cref="SplitMix64"/> seeded by
/// <see cref="GenerationOptions.Seed"/>, not torch's generator: reproducible everywhere, not torch's numbers.</item>
/// <item>The hooks see only masked positions' logits and the tokens hook gets no logits (see
/// <see cref="LogitsHook"/>).</item>
/// </list>
/// Buffers (canvas, forward input, masked-position rows, logits [M, V], sampler scratch) are allocated once per
/// call, sized for the masks present after the initial tokens hook; only a tokens hook that adds masks beyond that
/// makes them grow. Nothing else is allocated per step except history copies.
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
        var rng = new SplitMix64(options.Seed);
        var history = options.OutputHistory ? new List<int[]>(options.Steps) : null;

        hooks?.Tokens?.Invoke(null, canvas);
        var work = new Workspace(batch, vocab, CountMasks(canvas, maskId));

        for (int step = 0; step < options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int masked = work.CollectMasks(canvas, length, maskId);
            var logits = work.Logits.AsSpan(0, masked * vocab);                 // [M, V]
            _model.Forward(input, work.Rows.AsSpan(0, masked), logits);
            hooks?.Logits?.Invoke(step, canvas, work.Positions.AsSpan(0, masked), logits);

            int revealed = options.Algorithm == DecodingAlgorithm.Origin
                ? RevealAtRandom(step, masked, canvas, schedule, sampler, rng, work)
                : RevealMostConfident(step, masked, canvas, schedule, sampler, rng, options.AlgTemp, work);

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

    /// <summary>Confidence algorithms: sample every masked position, then per row reveal the scheduled number of
    /// them, counted from the row's own masks (see the class summary).</summary>
    private static int RevealMostConfident(int step, int masked, int[] canvas, NoiseSchedule schedule, TokenSampler sampler,
        SplitMix64 rng, float algTemp, Workspace work)
    {
        int vocab = sampler.VocabSize;
        for (int m = 0; m < masked; m++)
        {
            double uniform = sampler.IsRandom ? rng.NextDouble() : 0;
            var sampled = sampler.Sample(work.Logits.AsSpan(m * vocab, vocab), uniform);
            work.Tokens[m] = sampled.Token;
            work.Confidence[m] = sampled.Confidence;
        }

        int revealed = 0;
        for (int b = 0; b < work.Batch; b++)
        {
            int first = work.RowStart[b], count = work.RowStart[b + 1] - first;
            if (count == 0) continue;
            int k = Math.Min(schedule.RevealCount(step, count), count);
            if (k <= 0) continue;
            var confidence = work.Confidence.AsSpan(first, count);
            var chosen = work.Chosen.AsSpan(0, k);
            if (algTemp > 0f) PositionSelector.Sample(confidence, algTemp, k, rng, work.Keys, chosen);
            else PositionSelector.MostConfident(confidence, k, work.Keys, chosen);
            foreach (int c in chosen) canvas[work.Positions[first + c]] = work.Tokens[first + c];
            revealed += k;
        }
        return revealed;
    }

    private static int CountMasks(ReadOnlySpan<int> canvas, int maskId) => canvas.Count(maskId);

    /// <summary>Per-call buffers, sized for the largest number of masked positions M seen so far.</summary>
    private sealed class Workspace(int batch, int vocab, int capacity)
    {
        public int Batch { get; } = batch;
        public int Vocab { get; } = vocab;
        public int[] Positions = new int[capacity];           // [M] flat b·T + p of each masked position, ascending
        public int[] Rows = new int[capacity];                // [M] flat row that decodes it: b·T + max(p − 1, 0)
        public float[] Logits = new float[LogitsLength(capacity, vocab)];   // [M, V]
        public int[] Tokens = new int[capacity];              // [M] sampled token
        public float[] Confidence = new float[capacity];      // [M]
        public ulong[] Keys = new ulong[capacity];            // [M] ranking scratch
        public int[] Chosen = new int[capacity];              // [M] picked candidates / origin's coins
        public int[] RowStart = new int[batch + 1];           // [B + 1] row b owns entries RowStart[b]..RowStart[b+1]

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

        private void Grow(int capacity)
        {
            Positions = new int[capacity];
            Rows = new int[capacity];
            Logits = new float[LogitsLength(capacity, Vocab)];
            Tokens = new int[capacity];
            Confidence = new float[capacity];
            Keys = new ulong[capacity];
            Chosen = new int[capacity];
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
