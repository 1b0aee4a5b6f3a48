using Dream.Core.Generation;
using FsCheck;
using FsCheck.Xunit;
using Xunit;

namespace Dream.Tests.Generation;

/// <summary>
/// Properties of the whole loop over <see cref="FakeForwardModel"/> (which never predicts the mask id), for
/// generated batches, prompt masks, step counts and sampling settings. Fixed replay seeds, bounded counts.
/// </summary>
public class GenerationProperties
{
    /// <summary>One generated setup: a batch of prompts with masks sprinkled in (equal counts per row when
    /// <paramref name="sameMasks"/>), and options drawn from the raw bytes.</summary>
    private static (PromptBatch Prompt, GenerationOptions Options, FakeForwardModel Model) Setup(
        byte[] raw, ulong seed, bool sameMasks, bool random)
    {
        byte At(int i) => raw.Length == 0 ? (byte)i : raw[i % raw.Length];
        var model = new FakeForwardModel(vocabSize: 16) { Salt = seed };
        int batch = 1 + At(0) % 3, promptLength = At(1) % 7, newTokens = At(2) % 10;
        if (promptLength + newTokens == 0) newTokens = 1;
        var rows = new int[batch][];
        for (int b = 0; b < batch; b++)
        {
            rows[b] = new int[promptLength];
            for (int t = 0; t < promptLength; t++)
            {
                bool mask = (At(3 + (sameMasks ? 0 : b) * 7 + t) & 3) == 0;
                rows[b][t] = mask ? model.MaskId : At(20 + b * 7 + t) % 13;
            }
        }
        var options = new GenerationOptions
        {
            MaxNewTokens = newTokens,
            Steps = 1 + At(4) % 14,
            Algorithm = (DecodingAlgorithm)(At(5) % 4),
            Temperature = random && At(6) % 2 == 0 ? 0.8f : 0f,
            AlgTemp = random && At(7) % 2 == 0 ? 0.5f : 0f,
            TopK = At(8) % 3 == 0 ? 1 + At(9) % 14 : null,
            TopP = At(10) % 3 == 0 ? 0.5f + At(11) % 5 / 10f : null,
            Seed = seed,
            OutputHistory = true,
        };
        return (new PromptBatch(rows), options, model);
    }

    [Property(MaxTest = 60, Replay = "(1001,2003)")]
    public void The_same_seed_reproduces_the_same_canvas(byte[] raw, ulong seed)
    {
        var (prompt, options, model) = Setup(raw, seed, sameMasks: false, random: true);
        var first = new DiffusionGenerator(model).Generate(prompt, options);
        var second = new DiffusionGenerator(model).Generate(prompt, options);
        Assert.Equal(first.Tokens.ToArray(), second.Tokens.ToArray());
        for (int i = 0; i < options.Steps; i++) Assert.Equal(first.History![i], second.History![i]);
    }

    [Property(MaxTest = 80, Replay = "(4049,6007)")]
    public void Every_step_reveals_exactly_the_scheduled_number_per_row(byte[] raw, ulong seed, bool sameMasks)
    {
        var (prompt, options, model) = Setup(raw, seed, sameMasks, random: true);
        if (options.Algorithm == DecodingAlgorithm.Origin) options = options with { Algorithm = DecodingAlgorithm.MaskGitPlus };
        var result = new DiffusionGenerator(model).Generate(prompt, options);
        var schedule = new NoiseSchedule(options.Steps, options.Eps);
        int t = result.Length, m = model.MaskId;
        int[] previous = model.SeenIds[0];
        for (int step = 0; step < options.Steps; step++)
        {
            int[] after = result.History![step];
            for (int b = 0; b < result.Batch; b++)
            {
                int before = previous.AsSpan(b * t, t).Count(m), left = after.AsSpan(b * t, t).Count(m);
                Assert.Equal(schedule.RevealCount(step, before), before - left);
            }
            previous = after;
        }
        Assert.DoesNotContain(m, result.Tokens.ToArray());
    }

    [Property(MaxTest = 80, Replay = "(7919,104729)")]
    public void A_revealed_token_is_never_masked_again_or_changed(byte[] raw, ulong seed, bool sameMasks)
    {
        var (prompt, options, model) = Setup(raw, seed, sameMasks, random: true);
        var result = new DiffusionGenerator(model).Generate(prompt, options);
        int[] previous = model.SeenIds[0];
        foreach (int[] after in result.History!)
        {
            for (int i = 0; i < after.Length; i++)
                if (previous[i] != model.MaskId) Assert.Equal(previous[i], after[i]);
            previous = after;
        }
    }

    [Property(MaxTest = 40, Replay = "(2718,3141)")]
    public void A_vanishing_alg_temp_decodes_like_alg_temp_zero(byte[] raw, ulong seed)
    {
        var (prompt, options, model) = Setup(raw, seed, sameMasks: true, random: false);
        if (options.Algorithm == DecodingAlgorithm.Origin) options = options with { Algorithm = DecodingAlgorithm.Entropy };
        options = options with { TopK = null, TopP = null };
        // As alg_temp → 0 the sample tends to topk only where the top confidences are distinct (among tied maxima
        // the limit is uniform). The fake's logits are quantised and tie often, so a logits hook spreads every
        // masked row apart by position.
        var hooks = new GenerationHooks
        {
            Logits = (step, canvas, positions, logits) =>
            {
                int v = model.Config.VocabSize;
                for (int r = 0; r < positions.Length; r++) logits[r * v + 1] += 0.37f * (positions[r] % 7) + 0.011f * positions[r];
            },
        };
        var deterministic = new DiffusionGenerator(model).Generate(prompt, options, hooks);
        var sampled = new DiffusionGenerator(model).Generate(prompt, options with { AlgTemp = 1e-30f }, hooks);
        Assert.Equal(deterministic.Tokens.ToArray(), sampled.Tokens.ToArray());
    }

    [Property(MaxTest = 60, Replay = "(5381,33)")]
    public void Per_row_counting_equals_the_official_batch_average_when_rows_hold_equal_masks(byte[] raw, ulong seed)
    {
        var (prompt, options, model) = Setup(raw, seed, sameMasks: true, random: true);
        var perRow = new DiffusionGenerator(model).Generate(prompt, options);
        var official = new DiffusionGenerator(model).Generate(prompt, options with { RevealCounting = RevealCounting.BatchAverage });
        Assert.Equal(official.Tokens.ToArray(), perRow.Tokens.ToArray());
        for (int i = 0; i < options.Steps; i++) Assert.Equal(official.History![i], perRow.History![i]);
    }
}
