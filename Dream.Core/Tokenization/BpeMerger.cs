using System.Buffers;
using System.Runtime.CompilerServices;

namespace Dream.Core.Tokenization;

/// <summary>
/// Byte-pair merging of one pre-tokenized piece: repeatedly merge the adjacent pair with the lowest rank (the
/// leftmost one among equal ranks) until no pair has a rule. This is Hugging Face's order exactly — its BPE keeps
/// a min-heap of (rank, position) and so does this; a position is the index of the pair's left symbol in the
/// original sequence, which a merge keeps.
///
/// Data layout (n = symbols in the piece): <c>symbols[n]</c> ids (a merged-away symbol becomes -1),
/// <c>next[n]</c>/<c>prev[n]</c> a doubly linked list over the live symbols, <c>heap[≤3n]</c> packed
/// <c>rank &lt;&lt; 32 | position</c> so that a plain integer comparison orders by rank, then position.
/// Entries go stale when a neighbour merges; a popped entry is applied only if the pair now at its position
/// still has that rank (ranks are unique per pair, so that means it is the same pair).
/// Cost O(n log n); a piece can be a long run of letters, so quadratic rescanning is not an option.
/// </summary>
public static class BpeMerger
{
    private const int StackLimit = 128;

    /// <summary>Merges <paramref name="symbols"/> in place; returns how many symbols remain (at the front).</summary>
    [SkipLocalsInit]   // the scratch is fully written before it is read; zeroing it cost more than the merging
    public static int Merge(MergeTable merges, Span<int> symbols)
    {
        int n = symbols.Length;
        if (n < 2) return n;

        int[]? rentedInts = null;
        long[]? rentedHeap = null;
        Span<int> links = n <= StackLimit ? stackalloc int[2 * n] : (rentedInts = ArrayPool<int>.Shared.Rent(2 * n));
        Span<long> heap = n <= StackLimit ? stackalloc long[3 * n] : (rentedHeap = ArrayPool<long>.Shared.Rent(3 * n));
        try
        {
            return Merge(merges, symbols, links[..n], links.Slice(n, n), heap);
        }
        finally
        {
            if (rentedInts is not null) ArrayPool<int>.Shared.Return(rentedInts);
            if (rentedHeap is not null) ArrayPool<long>.Shared.Return(rentedHeap);
        }
    }

    private static int Merge(MergeTable merges, Span<int> symbols, Span<int> next, Span<int> prev, Span<long> heap)
    {
        int n = symbols.Length;
        int heapCount = 0;
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1;      // n = end of list
            prev[i] = i - 1;      // -1 = start of list
        }
        for (int i = 0; i + 1 < n; i++)
            if (merges.TryGet(symbols[i], symbols[i + 1], out int rank, out _))
                Push(heap, ref heapCount, Pack(rank, i));

        while (heapCount > 0)
        {
            long top = Pop(heap, ref heapCount);
            int rank = (int)(top >> 32), pos = (int)top;
            int right = next[pos];
            if (symbols[pos] < 0 || right >= n) continue;
            if (!merges.TryGet(symbols[pos], symbols[right], out int currentRank, out int merged) || currentRank != rank)
                continue;   // stale: a neighbour merged since this entry was pushed

            symbols[pos] = merged;
            symbols[right] = -1;
            int after = next[right];
            next[pos] = after;
            if (after < n) prev[after] = pos;

            int before = prev[pos];
            if (before >= 0 && merges.TryGet(symbols[before], merged, out int leftRank, out _))
                Push(heap, ref heapCount, Pack(leftRank, before));
            if (after < n && merges.TryGet(merged, symbols[after], out int rightRank, out _))
                Push(heap, ref heapCount, Pack(rightRank, pos));
        }

        int count = 0;
        for (int i = 0; i < n; i++)
            if (symbols[i] >= 0) symbols[count++] = symbols[i];
        return count;
    }

    private static long Pack(int rank, int position) => (long)rank << 32 | (uint)position;

    private static void Push(Span<long> heap, ref int count, long value)
    {
        int i = count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (heap[parent] <= value) break;
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = value;
    }

    private static long Pop(Span<long> heap, ref int count)
    {
        long top = heap[0];
        long last = heap[--count];
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= count) break;
            if (child + 1 < count && heap[child + 1] < heap[child]) child++;
            if (heap[child] >= last) break;
            heap[i] = heap[child];
            i = child;
        }
        if (count > 0) heap[i] = last;
        return top;
    }
}
