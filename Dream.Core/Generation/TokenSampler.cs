namespace Dream.Core.Generation;

/// <summary>A token chosen for one masked position and how sure the algorithm is of it (higher = surer).</summary>
public readonly record struct SampledToken(int Token, double Confidence);

/// <summary>
/// The official `sample_tokens` for one logits row [V]: filter (<see cref="TokenFilter"/>), p = softmax (max
/// subtracted), then the token — temperature &gt; 0: drawn from p; else argmax p, first index on ties (argmax of
/// p, not of the logits, as the official code takes it) — and the algorithm's confidence measure. Subclasses supply
/// only the measure.
///
/// Everything after the backend's float32 logits is computed in double. The golden files come from the official
/// loop run in float64, and float32 probabilities of a confident model saturate: many positions read exactly
/// 1.0 (or 0.99999994) where float64 still orders them, and the tie rule then decides instead of the model
/// (the golden tiny-b cases show it). Owns scratch for one row: one instance per sampling thread.
/// </summary>
public abstract class TokenSampler
{
    private readonly TokenFilter _filter;
    private readonly double[] _logits;   // [V] the row, widened and filtered
    private readonly double[] _probs;    // [V]

    protected TokenSampler(TokenFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        _filter = filter;
        _logits = new double[filter.VocabSize];
        _probs = new double[filter.VocabSize];
    }

    public int VocabSize => _filter.VocabSize;

    /// <summary>Whether <see cref="Sample"/> consumes its uniform draw (only when temperature &gt; 0).</summary>
    public bool IsRandom => _filter.Temperature > 0;

    /// <param name="logits">[V] one shifted logits row (not modified).</param>
    /// <param name="uniform">a draw from [0, 1), used only when <see cref="IsRandom"/>.</param>
    public SampledToken Sample(ReadOnlySpan<float> logits, double uniform)
    {
        if (logits.Length != VocabSize)
            throw new ArgumentException($"logits row has {logits.Length} entries, expected V = {VocabSize}", nameof(logits));
        for (int j = 0; j < logits.Length; j++) _logits[j] = logits[j];
        _filter.Apply(_logits);
        Softmax.Compute(_logits, _probs);
        int token = IsRandom ? Categorical(_probs, uniform) : ArgMax(_probs);
        return new SampledToken(token, Confidence(_probs, token));
    }

    /// <summary>The algorithm's confidence from the filtered probabilities [V] and the chosen token.</summary>
    protected abstract double Confidence(ReadOnlySpan<double> probs, int token);

    /// <summary>First index of the largest value (NaN never wins).</summary>
    public static int ArgMax(ReadOnlySpan<double> values)
    {
        int best = 0;
        for (int j = 1; j < values.Length; j++)
            if (values[j] > values[best] || double.IsNaN(values[best])) best = j;
        return best;
    }

    /// <summary>Inverse-CDF draw: the first token whose cumulative probability exceeds uniform · Σp.
    /// Zero-probability tokens are never drawn.</summary>
    public static int Categorical(ReadOnlySpan<double> probs, double uniform)
    {
        double total = 0;
        foreach (double p in probs) total += p;
        double target = uniform * total;
        double cumulative = 0;
        int last = -1;
        for (int j = 0; j < probs.Length; j++)
        {
            if (!(probs[j] > 0)) continue;
            cumulative += probs[j];
            last = j;
            if (cumulative > target) return j;
        }
        return last >= 0 ? last : ArgMax(probs);   // rounding left the target unreached, or no positive mass
    }

    /// <summary>The sampler <paramref name="options"/> ask for, over a vocabulary of <paramref name="vocabSize"/>.</summary>
    public static TokenSampler Create(GenerationOptions options, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(options);
        var filter = new TokenFilter(vocabSize, options.Temperature, options.TopP, options.TopK);
        return options.Algorithm switch
        {
            DecodingAlgorithm.Origin => new OriginSampler(filter),
            DecodingAlgorithm.MaskGitPlus => new MaskGitPlusSampler(filter),
            DecodingAlgorithm.TopKMargin => new TopKMarginSampler(filter),
            DecodingAlgorithm.Entropy => new EntropySampler(filter),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Algorithm, "unknown decoding algorithm"),
        };
    }
}
