using System.Collections.Concurrent;

namespace Dream.Core.Tokenization;

/// <summary>
/// Pre-tokenized piece → its BPE ids. Natural text repeats a small set of pieces (" the", "\n", "    "), so most
/// pieces skip byte mapping and merging. Safe for concurrent readers and writers; bounded by clearing itself when
/// full (a long-running process meets new text, so forgetting everything occasionally beats never admitting
/// anything new). Looked up by span, so a hit allocates nothing.
/// </summary>
internal sealed class PieceCache
{
    /// <summary>Longer pieces are rare and unlikely to repeat; they are merged every time.</summary>
    public const int MaxPieceLength = 256;

    private readonly ConcurrentDictionary<string, int[]> _map = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly int _capacity;
    private int _count;   // approximate (ConcurrentDictionary.Count takes every lock)

    public PieceCache(int capacity)
    {
        _capacity = capacity;
        _bySpan = _map.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool TryGet(ReadOnlySpan<char> piece, out int[] ids) => _bySpan.TryGetValue(piece, out ids!);

    public void Add(ReadOnlySpan<char> piece, int[] ids)
    {
        if (_capacity == 0 || piece.Length > MaxPieceLength) return;
        if (Interlocked.Increment(ref _count) > _capacity)
        {
            _map.Clear();
            Interlocked.Exchange(ref _count, 1);
        }
        _bySpan.TryAdd(piece, ids);
    }
}
