namespace Dream.Core.Generation;

/// <summary>
/// Which k entries torch.topk(values, k) returns on the CPU, reproduced exactly so that exact ties break the way
/// the golden files (made on a CPU) show. torch's CPU kernel (ATen TopKImpl.h) pairs each value with its index and
/// runs libstdc++'s std::partial_sort over them when k·64 ≤ n, else std::nth_element at k − 1, with the comparator
///   comp(a, b) = (isnan(a) ∧ ¬isnan(b)) ∨ a &gt; b
/// which ignores the index: among equal values the winners are wherever those algorithms happen to leave them.
/// The functions below are libstdc++'s (bits/stl_algo.h, bits/stl_heap.h) line for line; only the resulting set
/// matters to the loop, so the final sort of the first k − 1 that torch does is left out.
/// </summary>
internal static class TorchCpuTopK
{
    /// <summary>Rearranges <paramref name="queue"/> so that its first <paramref name="k"/> entries are those
    /// torch.topk returns (their order among themselves is not torch's).</summary>
    public static void Select(Span<RankedValue> queue, int k)
    {
        if ((uint)k > (uint)queue.Length) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must lie in [0, {queue.Length}]");
        if (k == 0) return;
        if ((long)k * 64 <= queue.Length) PartialSort(queue, k);
        else NthElement(queue, k - 1);
    }

    private static bool Comp(in RankedValue a, in RankedValue b) =>
        (double.IsNaN(a.Value) && !double.IsNaN(b.Value)) || a.Value > b.Value;

    private static void Swap(Span<RankedValue> q, int a, int b) => (q[a], q[b]) = (q[b], q[a]);

    // std::partial_sort(first, middle, last): heap-select then sort the heap.
    private static void PartialSort(Span<RankedValue> q, int middle)
    {
        HeapSelect(q, 0, middle, q.Length);
        for (int last = middle; last - 0 > 1;)
        {
            --last;
            PopHeap(q, 0, last, last);
        }
    }

    // std::nth_element → std::__introselect with depth limit 2·lg(n).
    private static void NthElement(Span<RankedValue> q, int nth)
    {
        int first = 0, last = q.Length;
        if (first == last || nth == last) return;
        int depthLimit = 2 * (31 - int.LeadingZeroCount(last - first));
        while (last - first > 3)
        {
            if (depthLimit == 0)
            {
                HeapSelect(q, first, nth + 1, last);
                Swap(q, first, nth);
                return;
            }
            --depthLimit;
            int cut = UnguardedPartitionPivot(q, first, last);
            if (cut <= nth) first = cut;
            else last = cut;
        }
        InsertionSort(q, first, last);
    }

    private static int UnguardedPartitionPivot(Span<RankedValue> q, int first, int last)
    {
        int mid = first + (last - first) / 2;
        MoveMedianToFirst(q, first, first + 1, mid, last - 1);
        return UnguardedPartition(q, first + 1, last, first);
    }

    private static void MoveMedianToFirst(Span<RankedValue> q, int result, int a, int b, int c)
    {
        if (Comp(q[a], q[b]))
        {
            if (Comp(q[b], q[c])) Swap(q, result, b);
            else if (Comp(q[a], q[c])) Swap(q, result, c);
            else Swap(q, result, a);
        }
        else if (Comp(q[a], q[c])) Swap(q, result, a);
        else if (Comp(q[b], q[c])) Swap(q, result, c);
        else Swap(q, result, b);
    }

    private static int UnguardedPartition(Span<RankedValue> q, int first, int last, int pivot)
    {
        while (true)
        {
            while (Comp(q[first], q[pivot])) ++first;
            --last;
            while (Comp(q[pivot], q[last])) --last;
            if (!(first < last)) return first;
            Swap(q, first, last);
            ++first;
        }
    }

    private static void InsertionSort(Span<RankedValue> q, int first, int last)
    {
        if (first == last) return;
        for (int i = first + 1; i != last; ++i)
        {
            var value = q[i];
            if (Comp(value, q[first]))
            {
                q.Slice(first, i - first).CopyTo(q.Slice(first + 1, i - first));   // move_backward
                q[first] = value;
            }
            else
            {
                int hole = i, next = i - 1;   // __unguarded_linear_insert
                while (Comp(value, q[next]))
                {
                    q[hole] = q[next];
                    hole = next;
                    --next;
                }
                q[hole] = value;
            }
        }
    }

    private static void HeapSelect(Span<RankedValue> q, int first, int middle, int last)
    {
        MakeHeap(q, first, middle);
        for (int i = middle; i < last; ++i)
            if (Comp(q[i], q[first])) PopHeap(q, first, middle, i);
    }

    private static void MakeHeap(Span<RankedValue> q, int first, int last)
    {
        int length = last - first;
        if (length < 2) return;
        for (int parent = (length - 2) / 2; ; parent--)
        {
            AdjustHeap(q, first, parent, length, q[first + parent]);
            if (parent == 0) return;
        }
    }

    private static void PopHeap(Span<RankedValue> q, int first, int last, int result)
    {
        var value = q[result];
        q[result] = q[first];
        AdjustHeap(q, first, 0, last - first, value);
    }

    private static void AdjustHeap(Span<RankedValue> q, int first, int hole, int length, RankedValue value)
    {
        int top = hole, second = hole;
        while (second < (length - 1) / 2)
        {
            second = 2 * (second + 1);
            if (Comp(q[first + second], q[first + second - 1])) second--;
            q[first + hole] = q[first + second];
            hole = second;
        }
        if ((length & 1) == 0 && second == (length - 2) / 2)
        {
            second = 2 * (second + 1);
            q[first + hole] = q[first + second - 1];
            hole = second - 1;
        }
        // __push_heap
        int parent = (hole - 1) / 2;
        while (hole > top && Comp(q[first + parent], value))
        {
            q[first + hole] = q[first + parent];
            hole = parent;
            parent = (hole - 1) / 2;
        }
        q[first + hole] = value;
    }
}
