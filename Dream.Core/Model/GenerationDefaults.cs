using System.Text.Json;

namespace Dream.Core.Model;

/// <summary>
/// What a checkpoint's optional `generation_config.json` suggests (steps, algorithm, temperatures...).
/// Every field is nullable: absent means "use the project's documented default", never a legacy fallback.
/// </summary>
public sealed record GenerationDefaults
{
    public int? MaxNewTokens { get; init; }
    public int? Steps { get; init; }
    public double? Eps { get; init; }
    public string? Alg { get; init; }
    public double? AlgTemp { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public int? MaskTokenId { get; init; }

    public static GenerationDefaults Load(string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new DreamFormatException(path, null, $"not valid JSON: {e.Message}", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new DreamFormatException(path, null, "must be a JSON object");
            var f = new JsonFields(doc.RootElement, path);
            return new GenerationDefaults
            {
                MaxNewTokens = f.OptionalInt("max_new_tokens"),
                Steps = f.OptionalInt("steps"),
                Eps = f.OptionalDouble("eps"),
                Alg = f.OptionalString("alg"),
                AlgTemp = f.OptionalDouble("alg_temp"),
                Temperature = f.OptionalDouble("temperature"),
                TopP = f.OptionalDouble("top_p"),
                TopK = f.OptionalInt("top_k"),
                MaskTokenId = f.OptionalInt("mask_token_id"),
            };
        }
    }
}
