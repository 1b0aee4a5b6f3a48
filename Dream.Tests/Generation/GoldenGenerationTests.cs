using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Dream.Cli.Verify;
using Dream.Core.Checkpoint;
using Dream.Core.Model;
using Dream.Core.Generation;
using Dream.Reference;
using Dream.Tests.Support;

namespace Dream.Tests.Generation;

/// <summary>The float32 reference models, loaded once for every golden generation case.</summary>
public sealed class GoldenModels : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<(DreamCheckpoint Checkpoint, ReferenceModel Model)>> _models = new();

    public ReferenceModel Get(string name) => _models.GetOrAdd(name, n => new(() =>
    {
        // As the golden runs loaded them: Hugging Face rounds a bf16 checkpoint's RoPE inv_freq to bf16.
        var checkpoint = DreamCheckpoint.Open(TestData.GoldenModel(n), RopeFrequencies.AsTransformersLoads);
        return (checkpoint, new ReferenceModel(checkpoint.Weights));
    })).Value.Model;

    public void Dispose()
    {
        foreach (var entry in _models.Values.Where(l => l.IsValueCreated))
        {
            entry.Value.Model.Dispose();
            entry.Value.Checkpoint.Dispose();
        }
    }
}

/// <summary>
/// Every case of every golden `generate-*.json` (the official loop on a CPU, deterministic path): the loop on the
/// float32 reference, with <see cref="GenerationOptions.AsOfficialLoop"/>, must reproduce the final canvas and
/// every history step token for token. Files are read by format, so any directory of such files works.
/// </summary>
public class GoldenGenerationTests(GoldenModels models) : IClassFixture<GoldenModels>
{
    private static IEnumerable<(string File, GoldenGenerateCase Case)> AllCases() =>
        Directory.GetFiles(TestData.Golden, "generate-*.json").Order(StringComparer.Ordinal)
            .SelectMany(f => GoldenGenerateCase.Load(f).Select(c => (Path.GetFileName(f), c)));

    private static readonly ConcurrentDictionary<string, bool> StoredInBf16 = new();

    private static bool IsBf16(string model) => StoredInBf16.GetOrAdd(model, m =>
    {
        using var checkpoint = DreamCheckpoint.Open(TestData.GoldenModel(m));
        return checkpoint.Weights.Embedding.DType == TensorDType.BF16;
    });

    private static TheoryData<string, int> Select(Func<GoldenGenerateCase, bool> keep)
    {
        var data = new TheoryData<string, int>();
        foreach (var (file, c) in AllCases().Where(x => keep(x.Case))) data.Add(file, c.Index);
        return data;
    }

    public static TheoryData<string, int> Float32Cases() => Select(c => !IsBf16(c.Model));
    public static TheoryData<string, int> Bf16Cases() => Select(c => IsBf16(c.Model));
    public static TheoryData<string, int> BatchCases() => Select(c => !IsBf16(c.Model) && c.Prompt.Length > 1);

    private static GoldenGenerateCase Load(string file, int index) =>
        GoldenGenerateCase.Load(Path.Combine(TestData.Golden, file))[index];

    [Theory]
    [MemberData(nameof(Float32Cases))]
    public void Reference_loop_reproduces_the_official_tokens(string file, int index)
    {
        var c = Load(file, index);
        string? difference = c.Check(new DiffusionGenerator(models.Get(c.Model)));
        Assert.True(difference is null, $"{c.Label}: {difference}");
    }

    [Theory]
    [MemberData(nameof(Bf16Cases))]
    public void Reference_loop_reproduces_the_official_tokens_of_bf16_checkpoints(string file, int index)
    {
        var c = Load(file, index);
        string? difference = c.Check(new DiffusionGenerator(models.Get(c.Model)));
        Assert.True(difference is null, $"{c.Label}: {difference}");
    }

    /// <summary>Our default per-row counting gives the official tokens whenever the official rows keep equal mask
    /// counts, and never overwrites a token when they do not (where the official loop does).</summary>
    [Theory]
    [MemberData(nameof(BatchCases))]
    public void Per_row_counting_matches_the_official_loop_while_rows_keep_equal_mask_counts(string file, int index)
    {
        var c = Load(file, index);
        var model = models.Get(c.Model);
        var options = c.Options with { RevealCounting = RevealCounting.PerRow };
        if (!c.RowsEverDifferInMaskCount(model.Config.MaskTokenId))
        {
            string? difference = c.Check(new DiffusionGenerator(model), options);
            Assert.True(difference is null, $"{c.Label} per row: {difference}");
            return;
        }
        // Rows diverge here because the model "reveals" the mask id itself; per row, no token is overwritten.
        var result = new DiffusionGenerator(model).Generate(c.PromptBatch, options);
        int mask = model.Config.MaskTokenId, length = result.Length;
        int[] previous = c.Prompt.SelectMany(r => r.Concat(Enumerable.Repeat(mask, length - r.Length))).ToArray();
        foreach (int[] after in result.History!)
        {
            for (int i = 0; i < after.Length; i++)
                if (previous[i] != mask) Assert.Equal(previous[i], after[i]);
            previous = after;
        }
    }

    [Fact]
    public void Conformance_entry_point_counts_passes_and_reports_each_failure_on_one_line()
    {
        string dir = Path.Combine(Path.GetTempPath(), "dream-generate-conformance-" + Guid.NewGuid().ToString("N"));
        try
        {
            // Two real tiny-a cases and a third whose last history step and final canvas were tampered with.
            var source = JsonNode.Parse(File.ReadAllText(Path.Combine(TestData.Golden, "generate-tiny-a.json")))!;
            var cases = source["cases"]!.AsArray();
            var tampered = JsonNode.Parse(cases[0]!.ToJsonString())!;
            var lastRow = tampered["history"]!.AsArray()[^1]![0]!.AsArray();
            int original = lastRow[^1]!.GetValue<int>();
            lastRow[lastRow.Count - 1] = original == 5 ? 6 : 5;
            var finalRow = tampered["expected"]![0]!.AsArray();
            finalRow[finalRow.Count - 1] = original == 5 ? 6 : 5;
            var trimmed = new JsonObject
            {
                ["cases"] = new JsonArray(JsonNode.Parse(cases[0]!.ToJsonString()), JsonNode.Parse(cases[1]!.ToJsonString()), tampered),
            };
            Directory.CreateDirectory(Path.Combine(dir, "models", "tiny-a"));
            foreach (string f in Directory.GetFiles(TestData.GoldenModel("tiny-a")))
                File.Copy(f, Path.Combine(dir, "models", "tiny-a", Path.GetFileName(f)));
            File.WriteAllText(Path.Combine(dir, "generate-tiny-a.json"), trimmed.ToJsonString());

            var output = new StringWriter();
            var (passed, failed) = GenerateConformance.Run(dir, c => new ReferenceModel(c.Weights), output);
            Assert.Equal((2, 1), (passed, failed));
            string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.StartsWith("FAIL generate generate-tiny-a.json#2", lines[0]);
            Assert.Contains($"step {cases[0]!["steps"]!.GetValue<int>() - 1}", lines[0]);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Conformance_entry_point_reports_a_missing_model_as_a_failure()
    {
        string dir = Path.Combine(Path.GetTempPath(), "dream-generate-conformance-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(dir);
            File.Copy(Path.Combine(TestData.Golden, "generate-tiny-a.json"), Path.Combine(dir, "generate-tiny-a.json"));
            var output = new StringWriter();
            var (passed, failed) = GenerateConformance.Run(dir, c => new ReferenceModel(c.Weights), output);
            Assert.Equal(0, passed);
            Assert.Equal(GoldenGenerateCase.Load(Path.Combine(dir, "generate-tiny-a.json")).Count, failed);
            Assert.Contains("model directory not found", output.ToString());
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
