using System.Text.Json;
using Dream.Core;
using Dream.Core.Generation;

namespace Dream.Cli.Verify;

/// <summary>
/// One case of a golden `generate-NAME.json` (`{"cases": [...]}`) from the official `diffusion_generate`:
///   model           name of the model directory under `models/`
///   prompt          [B][P] token ids (mask ids inside are infilled)
///   attention_mask  optional [B][P] 0/1 (left padding)
///   max_new_tokens, steps, alg, optional top_p, top_k, eps (default 1e-3)
///   expected        [B][T] final canvas; history [steps][B][T] the canvas after each step
/// Only the deterministic path is comparable (temperature 0, alg_temp 0); a case that says otherwise is refused.
/// The files record the official loop run on a CPU, so cases run with <see cref="GenerationOptions.AsOfficialLoop"/>
/// (batch-average reveal counts, torch's CPU order for exact ties).
/// </summary>
public sealed class GoldenGenerateCase
{
    public required string File { get; init; }
    public required int Index { get; init; }
    public required string Model { get; init; }
    public required int[][] Prompt { get; init; }
    public int[][]? AttentionMask { get; init; }
    public required int MaxNewTokens { get; init; }
    public required int Steps { get; init; }
    public required DecodingAlgorithm Algorithm { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public float Eps { get; init; } = GenerationOptions.DefaultEps;
    public required int[][] Expected { get; init; }
    public required int[][][] History { get; init; }

    public string Label =>
        $"{Path.GetFileName(File)}#{Index} ({Model}, {Algorithm.ToOfficialName()}, {Prompt.Length}×{Prompt[0].Length} prompt, {MaxNewTokens} new, {Steps} steps"
        + (TopP is { } p ? $", top_p {p}" : "") + (TopK is { } k ? $", top_k {k}" : "") + ")";

    public PromptBatch PromptBatch => new(Prompt, AttentionMask);

    public GenerationOptions Options => new GenerationOptions
    {
        MaxNewTokens = MaxNewTokens,
        Steps = Steps,
        Eps = Eps,
        Algorithm = Algorithm,
        TopP = TopP,
        TopK = TopK,
        OutputHistory = true,
    }.AsOfficialLoop();

    /// <summary>Runs the case on <paramref name="generator"/> and returns null when the final canvas and every
    /// history step match, else where the first difference is.</summary>
    public string? Check(DiffusionGenerator generator) => Check(generator, Options);

    /// <summary>The same with other options (e.g. the project's defaults instead of the official loop's).</summary>
    public string? Check(DiffusionGenerator generator, GenerationOptions options) =>
        Compare(generator.Generate(PromptBatch, options));

    /// <summary>Whether the official history ever holds rows with different numbers of masks — the only case in
    /// which <see cref="RevealCounting.PerRow"/> and the official batch average can differ.</summary>
    public bool RowsEverDifferInMaskCount(int maskId)
    {
        bool Differ(int[][] canvas) => canvas.Select(r => r.Count(t => t == maskId)).Distinct().Count() > 1;
        var start = Prompt.Select(r => r.Concat(Enumerable.Repeat(maskId, MaxNewTokens)).ToArray()).ToArray();
        return Differ(start) || History.Any(Differ);
    }

    /// <summary>Null when <paramref name="result"/> matches (history first, so the first differing step is
    /// named), else a description of the first difference.</summary>
    public string? Compare(GenerationResult result)
    {
        int batch = Expected.Length, length = Expected[0].Length;
        if (result.Batch != batch || result.Length != length)
            return $"canvas is {result.Batch}×{result.Length}, expected {batch}×{length}";
        var history = result.History ?? [];
        if (history.Count != History.Length) return $"{history.Count} history steps, expected {History.Length}";
        for (int step = 0; step < History.Length; step++)
            if (FirstDifference(History[step], history[step], length) is { } d) return $"step {step}: {d}";
        return FirstDifference(Expected, result.Tokens.ToArray(), length) is { } final ? $"final canvas: {final}" : null;
    }

    private static string? FirstDifference(int[][] expected, int[] actual, int length)
    {
        for (int b = 0; b < expected.Length; b++)
        for (int t = 0; t < length; t++)
            if (actual[b * length + t] != expected[b][t])
                return $"row {b}, position {t}: expected {expected[b][t]}, got {actual[b * length + t]}";
        return null;
    }

    /// <summary>Every case of one golden file; format errors name the file, the case and the field.</summary>
    public static IReadOnlyList<GoldenGenerateCase> Load(string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(System.IO.File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new DreamFormatException(path, null, $"not valid JSON: {e.Message}", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("cases", out var cases) || cases.ValueKind != JsonValueKind.Array)
                throw new DreamFormatException(path, "cases", "expected an object with a \"cases\" array");
            var result = new List<GoldenGenerateCase>();
            int index = 0;
            foreach (var c in cases.EnumerateArray()) result.Add(Parse(path, index++, c));
            return result;
        }
    }

    private static GoldenGenerateCase Parse(string path, int index, JsonElement c)
    {
        string Where(string field) => $"cases[{index}].{field}";
        JsonElement Required(string field) =>
            c.ValueKind == JsonValueKind.Object && c.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null
                ? v : throw new DreamFormatException(path, Where(field), "required field is missing");
        JsonElement? Optional(string field) =>
            c.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;
        int Int(JsonElement v, string field) =>
            v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw new DreamFormatException(path, Where(field), $"expected an integer, found {v.GetRawText()}");
        double Number(JsonElement v, string field) =>
            v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw new DreamFormatException(path, Where(field), $"expected a number, found {v.GetRawText()}");
        int[][] Matrix(JsonElement v, string field)
        {
            if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() == 0)
                throw new DreamFormatException(path, Where(field), "expected a non-empty list of rows");
            var rows = v.EnumerateArray().Select(r => r.ValueKind == JsonValueKind.Array
                ? r.EnumerateArray().Select(x => Int(x, field)).ToArray()
                : throw new DreamFormatException(path, Where(field), "every row must be a list of ids")).ToArray();
            if (rows.Any(r => r.Length != rows[0].Length))
                throw new DreamFormatException(path, Where(field), "rows differ in length");
            return rows;
        }

        foreach (string field in new[] { "temperature", "alg_temp" })
            if (Optional(field) is { } v && Number(v, field) != 0)
                throw new DreamFormatException(path, Where(field), "only deterministic cases (temperature 0, alg_temp 0) can be compared");

        string alg = Required("alg").GetString() ?? "";
        DecodingAlgorithm algorithm;
        try { algorithm = DecodingAlgorithmNames.Parse(alg); }
        catch (ArgumentException e) { throw new DreamFormatException(path, Where("alg"), e.Message, e); }
        if (algorithm == DecodingAlgorithm.Origin)
            throw new DreamFormatException(path, Where("alg"), "origin is random even at temperature 0: not comparable");

        var prompt = Matrix(Required("prompt"), "prompt");
        var expected = Matrix(Required("expected"), "expected");
        var historyJson = Required("history");
        if (historyJson.ValueKind != JsonValueKind.Array)
            throw new DreamFormatException(path, Where("history"), "expected a list of canvases");
        var history = historyJson.EnumerateArray().Select(h => Matrix(h, "history")).ToArray();
        int steps = Int(Required("steps"), "steps");
        if (history.Length != steps)
            throw new DreamFormatException(path, Where("history"), $"{history.Length} canvases for {steps} steps");
        if (expected.Length != prompt.Length || history.Any(h => h.Length != prompt.Length || h[0].Length != expected[0].Length))
            throw new DreamFormatException(path, Where("expected"), "expected and history must have the prompt's rows and one canvas length");

        return new GoldenGenerateCase
        {
            File = path,
            Index = index,
            Model = Required("model").GetString() ?? throw new DreamFormatException(path, Where("model"), "expected a string"),
            Prompt = prompt,
            AttentionMask = Optional("attention_mask") is { } mask ? Matrix(mask, "attention_mask") : null,
            MaxNewTokens = Int(Required("max_new_tokens"), "max_new_tokens"),
            Steps = steps,
            Algorithm = algorithm,
            TopP = Optional("top_p") is { } p ? Number(p, "top_p") : null,
            TopK = Optional("top_k") is { } k ? Int(k, "top_k") : null,
            Eps = Optional("eps") is { } eps ? (float)Number(eps, "eps") : GenerationOptions.DefaultEps,
            Expected = expected,
            History = history,
        };
    }
}
