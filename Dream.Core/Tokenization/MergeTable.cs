using System.Numerics;
using System.Runtime.InteropServices;

namespace Dream.Core.Tokenization;

/// <summary>
/// The BPE merge rules keyed by id pairs: (left id, right id) → (rank, merged id), rank = line number in the
/// merges list (lower merges first). An open-addressing hash (linear probing, multiply-shift hash) over one flat
/// array of 16-byte entries, so a probe touches one cache line — the table for 151k merges is 8 MiB, and
/// separate key/rank/merged arrays cost three cache misses per lookup instead of one. A GPU kernel can take the
/// array as one buffer.
/// </summary>
public sealed class MergeTable
{
    private const ulong Empty = ulong.MaxValue;   // ids are non-negative, so no real key is all ones

    /// <summary>One slot: <c>Key = left &lt;&lt; 32 | right</c> (or all ones when empty), its rank and merged id.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Entry
    {
        public ulong Key;
        public int Rank;
        public int Merged;
    }

    private readonly Entry[] _entries;  // [capacity], a power of two
    private readonly int _shift;        // 64 - log2(capacity)

    public int Count { get; private set; }

    public MergeTable(int expectedCount)
    {
        // Load factor ≤ 0.5 keeps probe chains short.
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, expectedCount * 2));
        _entries = new Entry[capacity];
        Array.Fill(_entries, new Entry { Key = Empty });
        _shift = 64 - BitOperations.Log2((uint)capacity);
    }

    /// <summary>
    /// Adds or replaces a rule. Replacing mirrors Hugging Face, which collects the merges into a hash map so a
    /// repeated pair keeps its last rank.
    /// </summary>
    public void Set(int left, int right, int rank, int merged)
    {
        if (Count * 2 >= _entries.Length) throw new InvalidOperationException("merge table is full; size it with the merge count");
        ulong key = Key(left, right);
        int slot = Slot(key);
        while (_entries[slot].Key != Empty && _entries[slot].Key != key) slot = (slot + 1) & (_entries.Length - 1);
        if (_entries[slot].Key == Empty) Count++;
        _entries[slot] = new Entry { Key = key, Rank = rank, Merged = merged };
    }

    /// <summary>The rule for the adjacent pair (left, right), if there is one.</summary>
    public bool TryGet(int left, int right, out int rank, out int merged)
    {
        ulong key = Key(left, right);
        int slot = Slot(key);
        while (true)
        {
            ref readonly Entry e = ref _entries[slot];
            if (e.Key == key)
            {
                rank = e.Rank;
                merged = e.Merged;
                return true;
            }
            if (e.Key == Empty)
            {
                rank = merged = -1;
                return false;
            }
            slot = (slot + 1) & (_entries.Length - 1);
        }
    }

    private static ulong Key(int left, int right) => (ulong)(uint)left << 32 | (uint)right;

    private int Slot(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> _shift);
}
