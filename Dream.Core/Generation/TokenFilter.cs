namespace Dream.Core.Generation;

/// <summary>
/// The logits transforms of the official `sample_tokens`, applied in place to one row [V] in its order:
///   1. temperature &gt; 0:  l ← l / temperature
///   2. top_p &lt; 1:        sort descending, cumulative softmax; drop every token after the first whose cumulative
///                         probability exceeds top_p (the top token always stays)
///   3. top_k:             drop logits strictly below the k-th largest (ties with it stay)
/// Dropped logits become float.MinValue — the dtype's minimum, as `torch.finfo(dtype).min`, not −∞ — so a row
/// never turns into all −∞. Equal logits are ordered by lowest token id (torch's sort leaves that unspecified).
/// Owns scratch buffers sized for one row: one instance per sampling thread.
/// </summary>
public sealed class TokenFilter
{
    /// <summary>Logits this far below the maximum carry probability below e^-16 ≈ 1e-7 each; top-p first sorts
    /// only the tokens above that line (a prefix of the full descending order) and sorts the whole row only when
    /// that prefix does not reach top_p.</summary>
    private const float TopPWindow = 16f;

    private readonly float[] _probs;   // [V] softmax scratch for top-p
    private readonly ulong[] _order;    // [V] sort keys: descending logit, then ascending token id
    private readonly float[] _heap;    // [min(top_k, V)] min-heap of the largest logits

    public int VocabSize { get; }
    public float Temperature { get; }
    public float? TopP { get; }
    public int? TopK { get; }

    public TokenFilter(int vocabSize, float temperature, float? topP, int? topK)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        if (!(temperature >= 0f) || float.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be a finite number ≥ 0");
        if (topP is { } p && !(p > 0f && p <= 1f))
            throw new ArgumentOutOfRangeException(nameof(topP), p, "top_p must lie in (0, 1]");
        if (topK is < 1)
            throw new ArgumentOutOfRangeException(nameof(topK), topK, "top_k must be at least 1");
        VocabSize = vocabSize;
        Temperature = temperature;
        TopP = topP is < 1f ? topP : null;
        TopK = topK is { } k && k < vocabSize ? k : null;   // k ≥ V keeps every token
        _probs = TopP is null ? [] : new float[vocabSize];
        _order = TopP is null ? [] : new ulong[vocabSize];
        _heap = TopK is { } kk ? new float[kk] : [];
    }

    /// <param name="logits">[V], filtered in place.</param>
    public void Apply(Span<float> logits)
    {
        if (logits.Length != VocabSize)
            throw new ArgumentException($"logits row has {logits.Length} entries, expected V = {VocabSize}", nameof(logits));
        if (Temperature > 0f)
            for (int j = 0; j < logits.Length; j++) logits[j] /= Temperature;
        if (TopP is { } p) ApplyTopP(logits, p);
        if (TopK is { } k) ApplyTopK(logits, k);
    }

    private void ApplyTopP(Span<float> logits, float topP)
    {
        Softmax.Compute(logits, _probs);
        float max = float.MinValue;
        foreach (float l in logits) if (l > max) max = l;

        int sorted = SortPrefix(logits, max - TopPWindow);
        int kept = NucleusSize(sorted, topP);
        if (kept < 0 && sorted < logits.Length)
            kept = NucleusSize(SortPrefix(logits, float.NegativeInfinity), topP);
        if (kept < 0) return;   // the cumulative sum never exceeded top_p (rounding): nothing is dropped

        // Remember the nucleus, blank the row, put the nucleus back.
        for (int r = 0; r < kept; r++) _probs[r] = logits[DescendingOrder.Index(_order[r])];
        logits.Fill(float.MinValue);
        for (int r = 0; r < kept; r++) logits[DescendingOrder.Index(_order[r])] = _probs[r];
    }

    /// <summary>Sorts the tokens with logit ≥ <paramref name="floor"/> (a prefix of the full descending order)
    /// into <see cref="_order"/>; returns how many.</summary>
    private int SortPrefix(ReadOnlySpan<float> logits, float floor)
    {
        int n = 0;
        for (int j = 0; j < logits.Length; j++)
            if (logits[j] >= floor || float.IsNaN(logits[j])) _order[n++] = DescendingOrder.Key(logits[j], j);
        _order.AsSpan(0, n).Sort();
        return n;
    }

    /// <summary>
    /// How many of the first <paramref name="sorted"/> tokens the nucleus keeps, or −1 when their cumulative
    /// probability never exceeds top_p. The cumulative sum runs in double and is compared after rounding to
    /// float32, as torch's CPU cumsum does for float32 tensors; top_p is compared as float32, like any Python
    /// scalar meeting a float32 tensor.
    /// </summary>
    private int NucleusSize(int sorted, float topP)
    {
        double cumulative = 0;
        for (int r = 0; r < sorted; r++)
        {
            cumulative += _probs[DescendingOrder.Index(_order[r])];
            if ((float)cumulative > topP) return r + 1;   // tokens after the first that exceeds are dropped
        }
        return -1;
    }

    private void ApplyTopK(Span<float> logits, int k)
    {
        // The k-th largest value: a min-heap of the k largest seen so far, its root is the answer.
        var heap = _heap.AsSpan(0, k);
        for (int j = 0; j < k; j++) SiftUp(heap, j, logits[j]);
        for (int j = k; j < logits.Length; j++)
            if (logits[j] > heap[0]) SiftDown(heap, logits[j]);
        float kth = heap[0];
        for (int j = 0; j < logits.Length; j++)
            if (logits[j] < kth) logits[j] = float.MinValue;
    }

    private static void SiftUp(Span<float> heap, int index, float value)
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
    private static void SiftDown(Span<float> heap, float value)
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
