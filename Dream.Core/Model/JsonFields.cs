using System.Text.Json;

namespace Dream.Core.Model;

/// <summary>Typed reads of a JSON object's fields, with errors that name the file and the field.</summary>
internal readonly struct JsonFields(JsonElement obj, string path)
{
    private JsonElement? Get(string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public int RequiredInt(string name) =>
        OptionalInt(name) ?? throw new DreamFormatException(path, name, "required integer field is missing");

    public int? OptionalInt(string name)
    {
        if (Get(name) is not { } v) return null;
        // eos_token_id may be a list in some Hugging Face configs: the first entry is the primary id.
        if (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0) v = v[0];
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i)) return i;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue) return (int)d;
        throw new DreamFormatException(path, name, $"expected an integer, found {Describe(v)}");
    }

    public double? OptionalDouble(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d)) return d;
        throw new DreamFormatException(path, name, $"expected a number, found {Describe(v)}");
    }

    public bool? OptionalBool(string name)
    {
        if (Get(name) is not { } v) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new DreamFormatException(path, name, $"expected true or false, found {Describe(v)}"),
        };
    }

    public string? OptionalString(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        throw new DreamFormatException(path, name, $"expected a string, found {Describe(v)}");
    }

    private static string Describe(JsonElement v)
    {
        string raw = v.GetRawText();
        return raw.Length > 40 ? raw[..40] + "…" : raw;
    }
}
