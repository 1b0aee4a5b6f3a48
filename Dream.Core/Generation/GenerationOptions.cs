using Dream.Core.Model;

namespace Dream.Core.Generation;

/// <summary>
/// The knobs of one `diffusion_generate` call. Every default is explicit and documented here; none is inherited
/// from transformers' legacy `GenerationConfig` fallbacks (which would silently mean temperature 1.0 and top_k 50
/// when a checkpoint ships no generation config). The defaults are the deterministic decoding the Dream authors use
/// for evaluation: temperature 0, `entropy`, alg_temp 0, no top-p or top-k filtering, eps 1e-3.
/// Two choices go beyond the official loop and are documented defaults rather than copies of its sharp edges:
/// <see cref="RevealCounting"/> (per row, never overwriting a token) and <see cref="PositionTies"/> (lowest
/// position); <see cref="AsOfficialLoop"/> switches both to the official CPU behaviour, bit for bit.
/// Eps is float32 because the official time grid is a float32 linspace; the other numbers are doubles, like the
/// Python floats the official code takes.
/// </summary>
public sealed record GenerationOptions
{
    public const int DefaultMaxNewTokens = 256;
    public const int DefaultSteps = 256;
    public const float DefaultEps = 1e-3f;

    /// <summary>Masked positions appended after the prompt. Wins over <see cref="MaxLength"/> when both are set
    /// (as in Hugging Face); when neither is set, <see cref="DefaultMaxNewTokens"/>. Zero is allowed: the loop then
    /// only fills the masks already inside the prompt (pure infilling).</summary>
    public int? MaxNewTokens { get; init; }

    /// <summary>Total canvas length (prompt + new tokens); used only when <see cref="MaxNewTokens"/> is not set.</summary>
    public int? MaxLength { get; init; }

    /// <summary>Denoising steps; exactly this many forward passes run. Default <see cref="DefaultSteps"/>.</summary>
    public int Steps { get; init; } = DefaultSteps;

    /// <summary>The noise level the schedule ends at: timesteps = linspace(1, eps, steps + 1) in float32. Default 1e-3.</summary>
    public float Eps { get; init; } = DefaultEps;

    /// <summary>Which masked positions each step reveals. Default <see cref="DecodingAlgorithm.Entropy"/>.</summary>
    public DecodingAlgorithm Algorithm { get; init; } = DecodingAlgorithm.Entropy;

    /// <summary>0 (default): reveal the k most confident positions; &gt; 0: sample k positions without replacement
    /// from softmax(confidence / alg_temp). Ignored by <see cref="DecodingAlgorithm.Origin"/>.</summary>
    public double AlgTemp { get; init; }

    /// <summary>0 (default): take the most likely token (first index on ties); &gt; 0: divide the logits by it and
    /// sample.</summary>
    public double Temperature { get; init; }

    /// <summary>Nucleus filtering; null (default) or 1 keeps every token. Must lie in (0, 1].</summary>
    public double? TopP { get; init; }

    /// <summary>Keep only logits at least as large as the k-th largest; null (default) keeps every token.</summary>
    public int? TopK { get; init; }

    /// <summary>Seeds <see cref="SplitMix64"/> for every random choice (origin's reveals, temperature &gt; 0,
    /// alg_temp &gt; 0). The same seed and the same logits give the same canvas on every run.</summary>
    public ulong Seed { get; init; }

    /// <summary>Keep a copy of the canvas after every step in <see cref="GenerationResult.History"/>.</summary>
    public bool OutputHistory { get; init; }

    /// <summary>Overrides the model config's `mask_token_id` when set.</summary>
    public int? MaskTokenId { get; init; }

    /// <summary>How many positions each row reveals per step. Default <see cref="Generation.RevealCounting.PerRow"/>.</summary>
    public RevealCounting RevealCounting { get; init; } = RevealCounting.PerRow;

    /// <summary>Sample on the host even when the model can sample on its device (<see cref="Model.ISamplingForwardModel"/>):
    /// the double-precision path, for comparisons and debugging. Default false.</summary>
    public bool HostSampling { get; init; }

    /// <summary>How equally confident positions are ordered. Default <see cref="Generation.PositionTies.LowestPosition"/>.</summary>
    public PositionTies PositionTies { get; init; } = PositionTies.LowestPosition;

    /// <summary>These options with the official loop's own behaviour where ours differs: the batch-average reveal
    /// count and torch's CPU topk order for ties. The golden files are reproduced exactly this way.</summary>
    public GenerationOptions AsOfficialLoop() =>
        this with { RevealCounting = RevealCounting.BatchAverage, PositionTies = PositionTies.TorchCpu };

    /// <summary>
    /// These options with every field that a checkpoint's `generation_config.json` sets replaced by its value.
    /// Apply it first and set the caller's explicit choices afterwards with `with { ... }`.
    /// </summary>
    public GenerationOptions Overlay(GenerationDefaults? defaults)
    {
        if (defaults is null) return this;
        return this with
        {
            MaxNewTokens = defaults.MaxNewTokens ?? MaxNewTokens,
            Steps = defaults.Steps ?? Steps,
            Eps = defaults.Eps is { } eps ? (float)eps : Eps,
            Algorithm = defaults.Alg is { } alg ? DecodingAlgorithmNames.Parse(alg) : Algorithm,
            AlgTemp = defaults.AlgTemp ?? AlgTemp,
            Temperature = defaults.Temperature ?? Temperature,
            TopP = defaults.TopP ?? TopP,
            TopK = defaults.TopK ?? TopK,
            MaskTokenId = defaults.MaskTokenId ?? MaskTokenId,
        };
    }

    /// <summary>The documented defaults overlaid with a checkpoint's generation config (when it has one).</summary>
    public static GenerationOptions FromDefaults(GenerationDefaults? defaults) => new GenerationOptions().Overlay(defaults);

    /// <summary>How many masked positions to append after a prompt of <paramref name="promptLength"/> tokens.</summary>
    public int ResolveNewTokens(int promptLength)
    {
        if (MaxNewTokens is { } n) return n;
        if (MaxLength is { } total)
        {
            if (total < promptLength)
                throw new ArgumentOutOfRangeException(nameof(MaxLength), total,
                    $"MaxLength {total} is shorter than the prompt ({promptLength} tokens)");
            return total - promptLength;
        }
        return DefaultMaxNewTokens;
    }

    /// <summary>Checks every field against its documented range; the message names the option.</summary>
    public void Validate()
    {
        if (Steps < 1)
            throw new ArgumentOutOfRangeException(nameof(Steps), Steps, $"Steps must be at least 1, got {Steps}");
        if (MaxNewTokens is < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, $"MaxNewTokens must not be negative, got {MaxNewTokens}");
        if (MaxLength is < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, $"MaxLength must not be negative, got {MaxLength}");
        if (!(Eps >= 0f && Eps < 1f))
            throw new ArgumentOutOfRangeException(nameof(Eps), Eps, $"Eps must lie in [0, 1), got {Eps}");
        if (!(Temperature >= 0) || double.IsInfinity(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, $"Temperature must be a finite number ≥ 0, got {Temperature}");
        if (!(AlgTemp >= 0) || double.IsInfinity(AlgTemp))
            throw new ArgumentOutOfRangeException(nameof(AlgTemp), AlgTemp, $"AlgTemp must be a finite number ≥ 0, got {AlgTemp}");
        if (TopP is { } p && !(p > 0 && p <= 1))
            throw new ArgumentOutOfRangeException(nameof(TopP), p, $"TopP must lie in (0, 1], got {p}");
        if (TopK is < 1)
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, $"TopK must be at least 1, got {TopK}");
        if (!Enum.IsDefined(Algorithm))
            throw new ArgumentOutOfRangeException(nameof(Algorithm), Algorithm, "unknown decoding algorithm");
        if (!Enum.IsDefined(RevealCounting))
            throw new ArgumentOutOfRangeException(nameof(RevealCounting), RevealCounting, "unknown reveal counting");
        if (!Enum.IsDefined(PositionTies))
            throw new ArgumentOutOfRangeException(nameof(PositionTies), PositionTies, "unknown tie rule");
    }
}
