namespace Dream.Core.Tokenization;

/// <summary>
/// GPT-2's byte-to-unicode table: every byte 0..255 gets a printable character so that byte-level BPE tokens can
/// be stored as JSON strings. Bytes that are already printable and not a space (33..126, 161..172, 174..255) map
/// to themselves; the other 68 bytes map, in byte order, to U+0100..U+0143 (so a space becomes 'Ġ' U+0120 and a
/// newline 'Ċ' U+010A).
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToCharTable = BuildByteToChar();
    private static readonly short[] CharToByteTable = BuildCharToByte(ByteToCharTable);

    /// <summary>The character that stands for <paramref name="b"/> in vocabulary strings.</summary>
    public static char ByteToChar(byte b) => ByteToCharTable[b];

    /// <summary>The byte that <paramref name="c"/> stands for, or -1 when <paramref name="c"/> is not in the alphabet.</summary>
    public static int CharToByte(char c) => c < CharToByteTable.Length ? CharToByteTable[c] : -1;

    /// <summary>
    /// The bytes a vocabulary string stands for, appended to <paramref name="output"/>; false (and nothing
    /// appended) when some character is outside the alphabet.
    /// </summary>
    public static bool TryDecode(string token, List<byte> output)
    {
        foreach (char c in token)
            if (CharToByte(c) < 0) return false;
        foreach (char c in token) output.Add((byte)CharToByte(c));
        return true;
    }

    /// <summary>The vocabulary string for a byte sequence (each byte replaced by its character).</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (chars, src) =>
        {
            for (int i = 0; i < src.Length; i++) chars[i] = ByteToCharTable[src[i]];
        });
    }

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }

    private static short[] BuildCharToByte(char[] byteToChar)
    {
        var table = new short[256 + 68];
        Array.Fill(table, (short)-1);
        for (int b = 0; b < 256; b++) table[byteToChar[b]] = (short)b;
        return table;
    }
}
