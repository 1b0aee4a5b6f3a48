using Dream.Core.Checkpoint;
using Dream.Core.Generation;
using Dream.Core.Model;
using Dream.Core.Tokenization;

namespace Dream.Cli;

/// <summary>
/// A loaded text model for `generate`, `chat` and `infill`: checkpoint, backend and (when the directory has one)
/// tokenizer. Owns all three.
/// </summary>
public sealed class TextModel : IDisposable
{
    private readonly DreamCheckpoint _checkpoint;
    public IForwardModel Model { get; }
    public BpeTokenizer? Tokenizer { get; }
    public DreamConfig Config => _checkpoint.Config;
    public GenerationDefaults? Defaults => _checkpoint.GenerationDefaults;
    public string Directory => _checkpoint.Directory;

    public TextModel(string directory, string backend, GpuKernels kernels = GpuKernels.Auto)
    {
        _checkpoint = DreamCheckpoint.Open(directory);
        try
        {
            Tokenizer = _checkpoint.TokenizerPath is { } t ? BpeTokenizer.Load(t) : null;
            Model = BackendFactory.Create(backend, _checkpoint.Weights, kernels);
        }
        catch
        {
            _checkpoint.Dispose();
            throw;
        }
    }

    public BpeTokenizer RequireTokenizer(string command) => Tokenizer
        ?? throw new UsageException($"dream {command}: {Directory} has no tokenizer.json; pass token ids with --prompt-ids instead");

    /// <summary>The generated ids up to (not including) the first end-of-text token, as the official demos cut them.</summary>
    public ReadOnlySpan<int> UntilEos(ReadOnlySpan<int> generated)
    {
        if (Config.EosTokenId is not { } eos) return generated;
        int at = generated.IndexOf(eos);
        return at < 0 ? generated : generated[..at];
    }

    /// <summary>
    /// The canvas as text for a live view: runs of known tokens decoded together (so multi-byte characters survive),
    /// each mask drawn as <paramref name="maskGlyph"/>.
    /// </summary>
    public string RenderCanvas(ReadOnlySpan<int> ids, string maskGlyph = "░")
    {
        var tokenizer = Tokenizer;
        if (tokenizer is null) return string.Join(' ', ids.ToArray().Select(id => id == Config.MaskTokenId ? maskGlyph : id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var sb = new System.Text.StringBuilder();
        int start = 0;
        for (int i = 0; i <= ids.Length; i++)
        {
            if (i < ids.Length && ids[i] != Config.MaskTokenId) continue;
            if (i > start) sb.Append(tokenizer.Decode(ids[start..i]));
            if (i < ids.Length) sb.Append(maskGlyph);
            start = i + 1;
        }
        return sb.ToString();
    }

    public GenerationResult Generate(IReadOnlyList<int> prompt, GenerationOptions options, GenerationHooks? hooks, CancellationToken cancel) =>
        new DiffusionGenerator(Model).Generate(PromptBatch.Single(prompt), options, hooks, cancel);

    public void Dispose()
    {
        Model.Dispose();
        _checkpoint.Dispose();
    }
}
