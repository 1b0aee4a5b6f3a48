using Dream.Core.Generation;

namespace Dream.Core.Model;

/// <summary>
/// The official `sample_tokens` knobs a model that samples on its own device is asked for: temperature, top-p,
/// top-k (the <see cref="TokenFilter"/> transforms, in that order) and which confidence the algorithm ranks by
/// (`maskgit_plus` and `origin`: p[token]; `topk_margin`: p₁ − p₂; `entropy`: Σ p·log(p + 1e-10)).
/// </summary>
/// <param name="TopP">null or ≥ 1: no nucleus filtering.</param>
/// <param name="TopK">null or ≥ V: no top-k filtering.</param>
public readonly record struct SamplingRequest(DecodingAlgorithm Algorithm, double Temperature, double? TopP, int? TopK)
{
    public static SamplingRequest From(GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new SamplingRequest(options.Algorithm, options.Temperature, options.TopP, options.TopK);
    }

    /// <summary>Whether a token is drawn (temperature &gt; 0) and so one uniform per row is consumed.</summary>
    public bool IsRandom => Temperature > 0;
}

/// <summary>
/// An optional capability of a forward model: run the forward pass, then sample the requested rows where the
/// logits already are (on the device), so that only a token and a confidence per row come back instead of V
/// logits. <see cref="DiffusionGenerator"/> uses it when the model implements it, nothing needs the logits
/// themselves (no logits hook) and <see cref="GenerationOptions.HostSampling"/> is off; otherwise it calls
/// <see cref="IForwardModel.Forward"/> and samples on the host.
///
/// The arithmetic after the logits is float32 on the device where the host path is double: tokens agree up to
/// float rounding (a near-tie of two probabilities, a top-p cut or a drawn uniform within rounding of a
/// cumulative boundary may go the other way). Confidences are returned as doubles assembled from float32 parts
/// so that probabilities near 1 keep their order (see the implementation's notes).
/// </summary>
public interface ISamplingForwardModel : IForwardModel
{
    /// <summary>Forward, then for every requested row the official `sample_tokens` (the twin of
    /// <see cref="TokenSampler.Sample"/>).</summary>
    /// <param name="input">ids, optional padding mask and positions, [B, T].</param>
    /// <param name="rows">[R] flat rows b·T + t whose logits decide a token (the logits shift is the caller's).</param>
    /// <param name="uniforms">[R] draws from [0, 1) when <see cref="SamplingRequest.IsRandom"/>, else empty.</param>
    /// <param name="tokens">[R] receives the chosen tokens.</param>
    /// <param name="confidence">[R] receives the algorithm's confidence (higher = surer).</param>
    void ForwardSample(ForwardInput input, ReadOnlySpan<int> rows, SamplingRequest request, ReadOnlySpan<double> uniforms,
        Span<int> tokens, Span<double> confidence);

    /// <summary>
    /// Forward, sample every masked position, and reveal: in each canvas row b the <paramref name="revealCounts"/>[b]
    /// most confident of its masked positions receive their tokens, equal confidences going to the lowest position
    /// (the twin of <see cref="PositionSelector.MostConfident"/> with <see cref="PositionTies.LowestPosition"/>).
    /// </summary>
    /// <param name="positions">[M] flat b·T + p of the masked positions, ascending.</param>
    /// <param name="rows">[M] the row that decodes each, b·T + max(p − 1, 0).</param>
    /// <param name="rowStart">[B + 1] row b owns entries rowStart[b] .. rowStart[b + 1] − 1.</param>
    /// <param name="revealCounts">[B] how many to reveal per row, 0 ≤ k ≤ the row's masks.</param>
    /// <param name="uniforms">[M] as in <see cref="ForwardSample"/>.</param>
    /// <param name="canvas">[B, T] the ids that were forwarded (usually <paramref name="input"/>.Ids itself),
    /// updated in place.</param>
    void ForwardSampleReveal(ForwardInput input, ReadOnlySpan<int> positions, ReadOnlySpan<int> rows, ReadOnlySpan<int> rowStart,
        ReadOnlySpan<int> revealCounts, SamplingRequest request, ReadOnlySpan<double> uniforms, Span<int> canvas);
}
