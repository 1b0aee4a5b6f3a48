using System.Numerics;

namespace Dream.Core.Tokenization;

/// <summary>
/// The BPE merge rules keyed by id pairs: (left id, right id) → (rank, merged id), rank = line number in the
/// merges list (lower merges first). An open-addressing hash over flat arrays — three arrays and a multiply-shift
/// hash, the same layout a GPU kernel can take as three buffers.
/// </summary>
public sealed class MergeTable
{
    private const ulong Empty = ulong.MaxValue;   // ids are non-negative, so no real key is all ones

    private readonly ulong[] _keys;    // [capacity] left << 32 | right, or Empty
    private readonly int[] _ranks;     // [capacity]
    private readonly int[] _merged;    // [capacity]
    private readonly int _shift;       // 64 - log2(capacity)

    public int Count { get; private set; }

    public MergeTable(int expectedCount)
    {
        // Load factor ≤ 0.5 keeps probe chains short.
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, expectedCount * 2));
        _keys = new ulong[capacity];
        Array.Fill(_keys, Empty);
        _ranks = new int[capacity];
        _merged = new int[capacity];
        _shift = 64 - BitOperations.Log2((uint)capacity);
    }

    /// <summary>
    /// Adds or replaces a rule. Replacing mirrors Hugging Face, which collects the merges into a hash map so a
    /// repeated pair keeps its last rank.
    /// </summary>
    public void Set(int left, int right, int rank, int merged)
    {
        if (Count * 2 >= _keys.Length) throw new InvalidOperationException("merge table is full; size it with the merge count");
        ulong key = Key(left, right);
        int slot = Slot(key);
        while (_keys[slot] != Empty && _keys[slot] != key) slot = (slot + 1) & (_keys.Length - 1);
        if (_keys[slot] == Empty) Count++;
        _keys[slot] = key;
        _ranks[slot] = rank;
        _merged[slot] = merged;
    }

    /// <summary>The rule for the adjacent pair (left, right), if there is one.</summary>
    public bool TryGet(int left, int right, out int rank, out int merged)
    {
        ulong key = Key(left, right);
        int slot = Slot(key);
        while (true)
        {
            ulong k = _keys[slot];
            if (k == key)
            {
                rank = _ranks[slot];
                merged = _merged[slot];
                return true;
            }
            if (k == Empty)
            {
                rank = merged = -1;
                return false;
            }
            slot = (slot + 1) & (_keys.Length - 1);
        }
    }

    private static ulong Key(int left, int right) => (ulong)(uint)left << 32 | (uint)right;

    private int Slot(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> _shift);
}
