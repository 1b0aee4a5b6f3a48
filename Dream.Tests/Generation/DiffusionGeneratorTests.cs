using Dream.Tests.Support;
using Dream.Core.Generation;
using Xunit;

namespace Dream.Tests.Generation;

/// <summary>The loop's mechanics against <see cref="FakeForwardModel"/>: shift, hooks, history, padding, infilling.</summary>
public class DiffusionGeneratorTests
{
    private static GenerationOptions Options(int newTokens, int steps, DecodingAlgorithm algorithm = DecodingAlgorithm.Entropy) =>
        new() { MaxNewTokens = newTokens, Steps = steps, Algorithm = algorithm, OutputHistory = true };

    [Fact]
    public void Asks_the_backend_only_for_the_row_before_each_masked_position()
    {
        var model = new FakeForwardModel();
        int m = model.MaskId;
        // Masks at 0 and 1 (both decoded from row 0), at 3 (row 2), and the 3 new tokens at 5..7 (rows 4..6).
        var prompt = PromptBatch.Single([m, m, 4, m, 5]);
        new DiffusionGenerator(model).Generate(prompt, Options(3, 2));
        Assert.Equal([0, 0, 2, 4, 5, 6], model.RequestedRows[0]);
    }

    [Fact]
    public void Rows_are_flat_per_batch_row()
    {
        var model = new FakeForwardModel();
        var prompt = new PromptBatch([[1, 2], [3, 4]]);
        new DiffusionGenerator(model).Generate(prompt, Options(2, 1));
        Assert.Equal([1, 2, 5, 6], model.RequestedRows[0]);   // T = 4: rows b·4 + (p − 1) for p = 2, 3
    }

    [Fact]
    public void Runs_exactly_steps_forwards_even_after_everything_is_revealed()
    {
        var model = new FakeForwardModel();
        // The hook fills every mask after step 0: the remaining steps have nothing to decode but still run.
        var hooks = new GenerationHooks { Tokens = (step, canvas) => { if (step == 0) canvas.Replace(model.MaskId, 2); } };
        var result = new DiffusionGenerator(model).Generate(PromptBatch.Single([1, 2, 3]), Options(4, 9), hooks);
        Assert.Equal(9, model.Forwards);
        Assert.Equal(9, result.History!.Count);
        Assert.All(model.RequestedRows.Skip(1), rows => Assert.Empty(rows));
        Assert.DoesNotContain(model.MaskId, result.Tokens.ToArray());
    }

    [Fact]
    public void History_holds_the_canvas_after_each_step_and_ends_at_the_result()
    {
        var model = new FakeForwardModel();
        var result = new DiffusionGenerator(model).Generate(PromptBatch.Single([1, 2, 3]), Options(6, 4));
        for (int i = 0; i + 1 < model.SeenIds.Count; i++) Assert.Equal(result.History![i], model.SeenIds[i + 1]);
        Assert.Equal(result.History![^1], result.Tokens.ToArray());
        Assert.Equal([1, 2, 3], result.Row(0)[..3].ToArray());
        Assert.Equal(6, result.Generated(0).Length);
    }

    [Fact]
    public void Tokens_hook_runs_before_the_loop_and_after_every_step_and_may_edit_the_canvas()
    {
        var model = new FakeForwardModel();
        var steps = new List<int?>();
        var hooks = new GenerationHooks
        {
            Tokens = (step, canvas) =>
            {
                steps.Add(step);
                if (step is null) canvas[4] = 7;   // pin a generated position before the loop starts
            },
        };
        var result = new DiffusionGenerator(model).Generate(PromptBatch.Single([1, 2, 3]), Options(4, 3), hooks);
        Assert.Equal([null, 0, 1, 2], steps);
        Assert.Equal(7, result.Tokens[4]);
        Assert.DoesNotContain(4, model.RequestedRows[0].Select(r => r + 1));   // position 4 was never decoded
    }

    [Fact]
    public void Tokens_hook_that_adds_masks_gets_them_generated_again()
    {
        var model = new FakeForwardModel();
        var hooks = new GenerationHooks { Tokens = (step, canvas) => { if (step == 0) canvas[0] = model.MaskId; } };
        var result = new DiffusionGenerator(model).Generate(PromptBatch.Single([1]), Options(2, 3), hooks);
        Assert.Equal(3, model.RequestedRows[1].Length);   // the re-masked prompt token plus what step 0 left
        Assert.DoesNotContain(model.MaskId, result.Tokens.ToArray());
    }

    [Fact]
    public void Logits_hook_sees_masked_positions_after_the_shift_and_can_steer_the_choice()
    {
        var model = new FakeForwardModel();
        int v = model.Config.VocabSize;
        var seenPositions = new List<int[]>();
        var hooks = new GenerationHooks
        {
            Logits = (step, canvas, positions, logits) =>
            {
                seenPositions.Add(positions.ToArray());
                Assert.Equal(positions.Length * v, logits.Length);
                foreach (int p in positions) Assert.Equal(model.MaskId, canvas[p]);
                for (int r = 0; r < positions.Length; r++) logits[r * v + 3] = 100f;
            },
        };
        var result = new DiffusionGenerator(model).Generate(PromptBatch.Single([1, 2]), Options(5, 5), hooks);
        Assert.Equal([2, 3, 4, 5, 6], seenPositions[0]);
        Assert.Equal([1, 2, 3, 3, 3, 3, 3], result.Tokens.ToArray());
    }

    [Fact]
    public void Padded_batch_extends_the_attention_mask_with_ones_and_positions_skip_the_pads()
    {
        var model = new FakeForwardModel();
        int pad = model.PadId;
        var prompt = PromptBatch.LeftPadded([[5, 6, 7], [8]], pad);
        Assert.Equal([5, 6, 7, pad, pad, 8], prompt.Ids.ToArray());
        var result = new DiffusionGenerator(model).Generate(prompt, Options(2, 2));
        Assert.Equal([1, 1, 1, 1, 1, 0, 0, 1, 1, 1], model.FirstAttentionMask!);
        Assert.Equal([0, 1, 2, 3, 4, 1, 1, 0, 1, 2], model.FirstPositions!);
        Assert.Equal([pad, pad, 8], result.Row(1)[..3].ToArray());
    }

    [Fact]
    public void An_attention_mask_without_padding_is_no_mask()
    {
        var model = new FakeForwardModel();
        var prompt = new PromptBatch([[5, 6], [7, 8]], [[1, 1], [1, 1]]);
        Assert.False(prompt.HasPadding);
        new DiffusionGenerator(model).Generate(prompt, Options(1, 1));
        Assert.Null(model.FirstAttentionMask!);
    }

    [Fact]
    public void Pure_infilling_with_zero_new_tokens_fills_only_the_masks()
    {
        var model = new FakeForwardModel();
        int m = model.MaskId;
        int[] prompt = [1, m, 2, m, m, 3];
        var result = new DiffusionGenerator(model).Generate(PromptBatch.Single(prompt), Options(0, 2));
        Assert.Equal(6, result.Length);
        Assert.DoesNotContain(m, result.Tokens.ToArray());
        foreach (int p in new[] { 0, 2, 5 }) Assert.Equal(prompt[p], result.Tokens[p]);
    }

    [Fact]
    public void Rows_with_different_mask_counts_are_scheduled_per_row_and_never_lose_a_token()
    {
        var model = new FakeForwardModel();
        int m = model.MaskId;
        // Row 0 has 2 masks inside its prompt, row 1 none: 6 and 4 masks in all.
        var prompt = new PromptBatch([[1, m, m, 2], [3, 4, 5, 6]]);
        var result = new DiffusionGenerator(model).Generate(prompt, Options(4, 3));
        var schedule = new NoiseSchedule(3, 1e-3f);
        int[] previous = model.SeenIds[0];
        for (int step = 0; step < 3; step++)
        {
            int[] after = result.History![step];
            for (int b = 0; b < 2; b++)
            {
                var before = previous.AsSpan(b * 8, 8);
                int masks = before.Count(m), revealed = masks - after.AsSpan(b * 8, 8).Count(m);
                Assert.Equal(schedule.RevealCount(step, masks), revealed);
            }
            for (int i = 0; i < after.Length; i++)
                if (previous[i] != m) Assert.Equal(previous[i], after[i]);
            previous = after;
        }
        Assert.DoesNotContain(m, result.Tokens.ToArray());
    }

    [Fact]
    public void Progress_reports_every_step()
    {
        var model = new FakeForwardModel();
        var reports = new List<GenerationProgress>();
        new DiffusionGenerator(model).Generate(PromptBatch.Single([1]), Options(6, 3), new GenerationHooks { Progress = reports.Add });
        Assert.Equal([1, 2, 3], reports.Select(r => r.Step));
        Assert.All(reports, r => Assert.Equal(3, r.Steps));
        Assert.Equal(6, reports.Sum(r => r.Revealed));
        Assert.Equal(0, reports[^1].MasksLeft);
    }

    [Fact]
    public void Cancellation_stops_between_steps()
    {
        var model = new FakeForwardModel();
        using var cancel = new CancellationTokenSource();
        var hooks = new GenerationHooks { Progress = p => { if (p.Step == 2) cancel.Cancel(); } };
        Assert.ThrowsAny<OperationCanceledException>(() =>
            new DiffusionGenerator(model).Generate(PromptBatch.Single([1]), Options(8, 8), hooks, cancel.Token));
        Assert.Equal(2, model.Forwards);
    }

    [Fact]
    public void Origin_reveals_everything_by_the_last_step()
    {
        var model = new FakeForwardModel();
        var result = new DiffusionGenerator(model).Generate(PromptBatch.Single([1, 2]), Options(10, 4, DecodingAlgorithm.Origin) with { Seed = 5 });
        Assert.DoesNotContain(model.MaskId, result.Tokens.ToArray());
    }

    [Fact]
    public void Steps_allocate_nothing_once_the_call_is_set_up()
    {
        var model = new FakeForwardModel(vocabSize: 64) { Record = false };
        var generator = new DiffusionGenerator(model);
        var prompt = PromptBatch.Single([1, 2, 3]);
        foreach (var algorithm in Enum.GetValues<DecodingAlgorithm>())
        {
            var options = new GenerationOptions { MaxNewTokens = 40, Algorithm = algorithm, Temperature = 0.5f, TopP = 0.9f, TopK = 20, Seed = 1 };
            long extra = Allocations.ForSixtyMoreSteps(steps => generator.Generate(prompt, options with { Steps = steps }));
            Assert.True(extra < Allocations.SixtyStepBound, $"{algorithm}: 60 more steps allocated {extra} more bytes");
        }
    }
}
