namespace Dream.Core.Generation;

/// <summary>
/// The logits transforms of the official `sample_tokens`, applied in place to one row [V] in its order:
///   1. temperature &gt; 0:  l ← l / temperature
///   2. top_p &lt; 1:        sort descending, cumulative softmax; drop every token after the first whose cumulative
///                         probability exceeds top_p (the top token always stays)
///   3. top_k:             drop logits strictly below the k-th largest (ties with it stay)
/// Dropped logits become double.MinValue — the minimum of the dtype the filter computes in, as the official code
/// uses `torch.finfo(dtype).min`, not −∞ — so a row never turns into all −∞. Rows are filtered in double, like
/// the official loop run in float64 that produced the golden files. Equal logits are ordered by lowest token id
/// (torch's sort leaves that unspecified). Owns scratch sized for one row: one instance per sampling thread.
/// </summary>
public sealed class TokenFilter
{
    /// <summary>Logits this far below the maximum carry probability below e^-16 ≈ 1e-7 each; top-p first sorts
    /// only the tokens above that line (a prefix of the full descending order, so the cut is the same) and sorts
    /// the whole row only when that prefix does not reach top_p.</summary>
    private const double TopPWindow = 16;

    private readonly double[] _probs;         // [V] softmax scratch for top-p
    private readonly RankedValue[] _order;    // [V] tokens by descending logit, then ascending id
    private readonly double[] _heap;          // [k] min-heap of the k largest logits

    public int VocabSize { get; }
    public double Temperature { get; }
    public double? TopP { get; }
    public int? TopK { get; }

    public TokenFilter(int vocabSize, double temperature, double? topP, int? topK)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        if (!(temperature >= 0) || double.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be a finite number ≥ 0");
        if (topP is { } p && !(p > 0 && p <= 1))
            throw new ArgumentOutOfRangeException(nameof(topP), p, "top_p must lie in (0, 1]");
        if (topK is < 1)
            throw new ArgumentOutOfRangeException(nameof(topK), topK, "top_k must be at least 1");
        VocabSize = vocabSize;
        Temperature = temperature;
        TopP = topP is < 1 ? topP : null;
        TopK = topK is { } k && k < vocabSize ? k : null;   // k ≥ V keeps every token
        _probs = TopP is null ? [] : new double[vocabSize];
        _order = TopP is null ? [] : new RankedValue[vocabSize];
        _heap = TopK is { } kk ? new double[kk] : [];
    }

    /// <param name="logits">[V], filtered in place.</param>
    public void Apply(Span<double> logits)
    {
        if (logits.Length != VocabSize)
            throw new ArgumentException($"logits row has {logits.Length} entries, expected V = {VocabSize}", nameof(logits));
        if (Temperature > 0)
            for (int j = 0; j < logits.Length; j++) logits[j] /= Temperature;
        if (TopP is { } p) ApplyTopP(logits, p);
        if (TopK is { } k) ApplyTopK(logits, k);
    }

    private void ApplyTopP(Span<double> logits, double topP)
    {
        Softmax.Compute(logits, _probs);
        double max = double.MinValue;
        foreach (double l in logits) if (l > max) max = l;

        int sorted = SortPrefix(logits, max - TopPWindow);
        int kept = NucleusSize(sorted, topP);
        if (kept < 0 && sorted < logits.Length)
            kept = NucleusSize(SortPrefix(logits, double.NegativeInfinity), topP);
        if (kept < 0) return;   // the cumulative sum never exceeded top_p (rounding): nothing is dropped

        // Remember the nucleus, blank the row, put the nucleus back.
        for (int r = 0; r < kept; r++) _probs[r] = logits[_order[r].Index];
        logits.Fill(double.MinValue);
        for (int r = 0; r < kept; r++) logits[_order[r].Index] = _probs[r];
    }

    /// <summary>Sorts the tokens with logit ≥ <paramref name="floor"/> (a prefix of the full descending order)
    /// into <see cref="_order"/>; returns how many.</summary>
    private int SortPrefix(ReadOnlySpan<double> logits, double floor)
    {
        int n = 0;
        for (int j = 0; j < logits.Length; j++)
            if (logits[j] >= floor || double.IsNaN(logits[j])) _order[n++] = new RankedValue(logits[j], j);
        _order.AsSpan(0, n).Sort();
        return n;
    }

    /// <summary>How many of the first <paramref name="sorted"/> tokens the nucleus keeps (those up to and including
    /// the first whose cumulative probability exceeds top_p), or −1 when none exceeds it.</summary>
    private int NucleusSize(int sorted, double topP)
    {
        double cumulative = 0;
        for (int r = 0; r < sorted; r++)
        {
            cumulative += _probs[_order[r].Index];
            if (cumulative > topP) return r + 1;
        }
        return -1;
    }

    private void ApplyTopK(Span<double> logits, int k)
    {
        // The k-th largest value: a min-heap of the k largest seen so far, its root is the answer.
        var heap = _heap.AsSpan(0, k);
        for (int j = 0; j < k; j++) SiftUp(heap, j, logits[j]);
        for (int j = k; j < logits.Length; j++)
            if (logits[j] > heap[0]) SiftDown(heap, logits[j]);
        double kth = heap[0];
        for (int j = 0; j < logits.Length; j++)
            if (logits[j] < kth) logits[j] = double.MinValue;
    }

    private static void SiftUp(Span<double> heap, int index, double value)
    {
        while (index > 0)
        {
            int parent = (index - 1) / 2;
            if (heap[parent] <= value) break;
            heap[index] = heap[parent];
            index = parent;
        }
        heap[index] = value;
    }

    /// <summary>Replaces the root (the smallest of the k) with <paramref name="value"/> and restores the heap.</summary>
    private static void SiftDown(Span<double> heap, double value)
    {
        int index = 0;
        while (true)
        {
            int child = 2 * index + 1;
            if (child >= heap.Length) break;
            if (child + 1 < heap.Length && heap[child + 1] < heap[child]) child++;
            if (heap[child] >= value) break;
            heap[index] = heap[child];
            index = child;
        }
        heap[index] = value;
    }
}
