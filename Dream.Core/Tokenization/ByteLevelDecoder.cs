using System.Buffers;
using System.Text;

namespace Dream.Core.Tokenization;

/// <summary>
/// Ids → text, as Hugging Face's ByteLevel decoder does it: each token's characters are mapped back to bytes
/// through <see cref="ByteLevelAlphabet"/> (a token with any character outside the alphabet contributes its own
/// UTF-8 bytes instead), the bytes of all tokens are concatenated, and the result is decoded as UTF-8 with one
/// U+FFFD per maximal invalid subsequence (Rust's <c>from_utf8_lossy</c> and .NET's decoder agree on this).
/// Added tokens go through the same mapping, so an added token's text comes back unchanged only when it is
/// printable ASCII — as in Hugging Face. Ids with no token (negative, past the vocabulary, or unused ids such as
/// 151667..152063 that the model can still emit) are skipped, as Hugging Face skips them.
///
/// Layout: the bytes of token <c>id</c> are <c>_bytes[_start[id] .. _start[id + 1])</c>.
/// </summary>
internal sealed class ByteLevelDecoder
{
    private readonly byte[] _bytes;
    private readonly int[] _start;      // [idCount + 1]
    private readonly bool[] _present;   // [idCount] some token has this id
    private readonly bool[] _special;   // [idCount] an added token flagged special has this id

    /// <param name="tokens">id → token string (byte-level form for vocabulary tokens, content for added tokens); null = no token.</param>
    /// <param name="special">ids of added tokens flagged special.</param>
    public ByteLevelDecoder(string?[] tokens, IEnumerable<int> special)
    {
        _start = new int[tokens.Length + 1];
        _present = new bool[tokens.Length];
        _special = new bool[tokens.Length];
        var bytes = new List<byte>(tokens.Length * 8);
        for (int id = 0; id < tokens.Length; id++)
        {
            _start[id] = bytes.Count;
            if (tokens[id] is not { } token) continue;
            _present[id] = true;
            if (!ByteLevelAlphabet.TryDecode(token, bytes)) bytes.AddRange(Encoding.UTF8.GetBytes(token));
        }
        _start[tokens.Length] = bytes.Count;
        _bytes = bytes.ToArray();
        foreach (int id in special) _special[id] = true;
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens)
    {
        int length = 0;
        foreach (int id in ids)
            if (Keeps(id, skipSpecialTokens)) length += _start[id + 1] - _start[id];

        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            int at = 0;
            foreach (int id in ids)
            {
                if (!Keeps(id, skipSpecialTokens)) continue;
                var tokenBytes = _bytes.AsSpan(_start[id], _start[id + 1] - _start[id]);
                tokenBytes.CopyTo(buffer.AsSpan(at));
                at += tokenBytes.Length;
            }
            return Encoding.UTF8.GetString(buffer, 0, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private bool Keeps(int id, bool skipSpecialTokens) =>
        (uint)id < (uint)_present.Length && _present[id] && !(skipSpecialTokens && _special[id]);
}
