namespace Dream.Core.Generation;

/// <summary>
/// How each denoising step decides which masked positions to reveal (the official `alg` argument).
/// </summary>
public enum DecodingAlgorithm
{
    /// <summary>`origin`: every masked position is revealed independently with probability 1 − s/t (random even at
    /// temperature 0; all of them on the last step).</summary>
    Origin,

    /// <summary>`maskgit_plus`: reveal the k masked positions whose chosen token has the highest probability.</summary>
    MaskGitPlus,

    /// <summary>`topk_margin`: reveal the k positions with the largest gap p₁ − p₂ between the two most likely tokens.</summary>
    TopKMargin,

    /// <summary>`entropy`: reveal the k positions with the highest Σ p·log p (lowest entropy, i.e. the surest).</summary>
    Entropy,
}

/// <summary>The names the official code and `generation_config.json` use for <see cref="DecodingAlgorithm"/>.</summary>
public static class DecodingAlgorithmNames
{
    public static string ToOfficialName(this DecodingAlgorithm algorithm) => algorithm switch
    {
        DecodingAlgorithm.Origin => "origin",
        DecodingAlgorithm.MaskGitPlus => "maskgit_plus",
        DecodingAlgorithm.TopKMargin => "topk_margin",
        DecodingAlgorithm.Entropy => "entropy",
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "unknown decoding algorithm"),
    };

    /// <summary>Parses `origin`, `maskgit_plus`, `topk_margin` or `entropy` (case-insensitive).</summary>
    public static DecodingAlgorithm Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "origin" => DecodingAlgorithm.Origin,
            "maskgit_plus" => DecodingAlgorithm.MaskGitPlus,
            "topk_margin" => DecodingAlgorithm.TopKMargin,
            "entropy" => DecodingAlgorithm.Entropy,
            _ => throw new ArgumentException(
                $"unknown decoding algorithm '{name}' (expected origin, maskgit_plus, topk_margin or entropy)", nameof(name)),
        };
    }
}
