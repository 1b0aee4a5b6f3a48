using ILGPU;

namespace Dream.Kernels.Ilgpu;

/// <summary>Which tokens of one row survive temperature, top-p and top-k, as value thresholds (see <see cref="TokenFilter"/>).</summary>
internal struct FilterThresholds
{
    /// <summary>Top-p keeps key &gt; TopPKey, and key == TopPKey up to token id TopPLastId (0 / int.MaxValue: off).</summary>
    public uint TopPKey;
    public int TopPLastId;
    /// <summary>Top-k keeps key ≥ TopKKey (0: off).</summary>
    public uint TopKKey;

    public readonly bool Keeps(uint key, int token) =>
        (key > TopPKey || (key == TopPKey && token <= TopPLastId)) && key >= TopKKey;
}

/// <summary>
/// The device twin of Dream.Core.Generation.TokenFilter for one logits row [V], without sorting: the filters are
/// found as thresholds by bisection, each step one pass over the row and one group reduction
/// (<see cref="GroupReduce"/>), run by every thread of the row's group alike.
///
/// Thresholds are searched on the raw float32 logits, mapped to order-preserving 32-bit keys (<see cref="Key"/>;
/// −0 and +0 are one key). Dividing by a temperature &gt; 0 preserves the order, and the host's double division of
/// float32 logits keeps distinct logits distinct, so the kept sets are the host's exactly, ties included — only
/// the top-p sums are float32 here (double on the host), so a cut whose cumulative probability lies within
/// rounding of top_p may fall one token the other way.
///   top_p &lt; 1 — the host sorts by descending logit, equal logits by ascending token id, and keeps the prefix up
///     to the first token whose cumulative probability exceeds top_p. Here: the largest key t with
///     mass(key ≥ t) &gt; top_p (32 bisection steps over the key bits; mass is Σ exp((l − max)/T) over the keys,
///     compared with top_p · Σ over the row); then m = the fewest tokens of key t that push mass(key &gt; t) over
///     top_p, and when m is less than the tokens tied at t, the m lowest ids among them (bisection over ids). So
///     ties at the boundary are kept lowest id first, as on the host. Total mass not above top_p (rounding):
///     nothing dropped, as on the host.
///   top_k &lt; V — the k-th largest key t (32 counting steps), keep key ≥ t: every token tied with the k-th stays.
///     After top-p it applies only when k is below top-p's kept count (otherwise the host's k-th largest is a
///     dropped value and nothing more goes), and the k-th largest of the kept prefix is the row's own.
/// NaN logits are not supported (the host orders them first; here they sort by their bits).
/// </summary>
internal static class TokenFilter
{
    /// <summary>An order-preserving map from float32 to uint32 (−0 → +0's key): a &lt; b ⇔ Key(a) &lt; Key(b).</summary>
    public static uint Key(float value)
    {
        uint bits = Interop.FloatAsInt(value);
        if (bits == 0x80000000u) bits = 0u;   // −0 is +0
        return (bits & 0x80000000u) == 0 ? bits | 0x80000000u : ~bits;
    }

    /// <summary>The float32 whose key this is (inverse of <see cref="Key"/>).</summary>
    public static float Value(uint key)
    {
        uint bits = (key & 0x80000000u) != 0 ? key & 0x7FFFFFFFu : ~key;
        return Interop.IntAsFloat(bits);
    }

    /// <summary>exp of a logit's distance from the row's maximum, after the temperature: the unnormalised softmax.</summary>
    public static float Weight(float logit, float max, float temperature) => MathF.Exp(Scaled(logit, max, temperature));

    /// <summary>(logit − max) / temperature, or logit − max at temperature 0 (the argmax path divides by nothing).</summary>
    public static float Scaled(float logit, float max, float temperature) =>
        temperature > 0 ? (logit - max) / temperature : logit - max;

    /// <summary>Finds the thresholds for one row; every thread of the group gets the same result.</summary>
    /// <param name="logits">[R, V]; this row starts at <paramref name="rowBase"/>.</param>
    /// <param name="max">the row's largest logit.</param>
    /// <param name="topP">&lt; 1 to filter.</param>
    /// <param name="topK">in [1, V) to filter, else 0.</param>
    /// <param name="floats">[G] shared scratch.</param>
    /// <param name="ints">[G] shared scratch.</param>
    public static FilterThresholds Find(ArrayView<float> logits, long rowBase, int vocab, float max, float temperature,
        float topP, int topK, ArrayView<float> floats, ArrayView<int> ints)
    {
        int tid = Group.IdxX, groupSize = Group.DimX;
        var result = new FilterThresholds { TopPKey = 0u, TopPLastId = int.MaxValue, TopKKey = 0u };
        int keptByTopP = vocab;

        if (topP < 1f)
        {
            float local = 0f;
            for (int j = tid; j < vocab; j += groupSize) local += Weight(logits[rowBase + j], max, temperature);
            float total = GroupReduce.Sum(floats, local);
            float budget = topP * total;
            if (total > budget)   // mass(key ≥ 0) is the whole row: only when it exceeds top_p is anything cut
            {
                uint t = 0u;
                for (int bit = 31; bit >= 0; bit--)
                {
                    uint candidate = t | (1u << bit);
                    float mass = 0f;
                    for (int j = tid; j < vocab; j += groupSize)
                    {
                        float l = logits[rowBase + j];
                        if (Key(l) >= candidate) mass += Weight(l, max, temperature);
                    }
                    if (GroupReduce.Sum(floats, mass) > budget) t = candidate;
                }

                float above = 0f;
                int countAbove = 0, tied = 0;
                for (int j = tid; j < vocab; j += groupSize)
                {
                    float l = logits[rowBase + j];
                    uint key = Key(l);
                    if (key > t)
                    {
                        above += Weight(l, max, temperature);
                        countAbove++;
                    }
                    else if (key == t)
                    {
                        tied++;
                    }
                }
                above = GroupReduce.Sum(floats, above);
                countAbove = GroupReduce.Sum(ints, countAbove);
                tied = GroupReduce.Sum(ints, tied);

                // The fewest tied tokens m ≥ 1 with above + m·w > budget (all of them if rounding says none).
                float w = Weight(Value(t), max, temperature);
                int m = tied;
                if (w > 0f)
                {
                    float room = budget - above;
                    float need = room < 0f ? 1f : MathF.Floor(room / w) + 1f;
                    if (need < tied) m = need < 1f ? 1 : (int)need;
                }
                result.TopPKey = t;
                if (m < tied)
                {
                    // The m-th lowest id among the tied tokens: the smallest id with m tied tokens at or below it.
                    int lo = 0, hi = vocab - 1;
                    while (lo < hi)
                    {
                        int mid = (lo + hi) >> 1;
                        int count = 0;
                        for (int j = tid; j <= mid; j += groupSize)
                            if (Key(logits[rowBase + j]) == t) count++;
                        if (GroupReduce.Sum(ints, count) >= m) hi = mid;
                        else lo = mid + 1;
                    }
                    result.TopPLastId = lo;
                }
                keptByTopP = countAbove + m;
            }
        }

        if (topK > 0 && topK < keptByTopP)
        {
            uint t = 0u;
            for (int bit = 31; bit >= 0; bit--)
            {
                uint candidate = t | (1u << bit);
                int count = 0;
                for (int j = tid; j < vocab; j += groupSize)
                    if (Key(logits[rowBase + j]) >= candidate) count++;
                if (GroupReduce.Sum(ints, count) >= topK) t = candidate;
            }
            result.TopKKey = t;
        }
        return result;
    }
}
