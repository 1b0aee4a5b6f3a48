namespace Dream.Core.Generation;

/// <summary>
/// The one ordering the loop ranks by, wherever it ranks: largest value first, and among equal values the lowest
/// index first (torch's argmax and, as the golden files show, its topk). Packed into a 64-bit key so that a plain
/// ascending sort of a ulong span gives that order without a comparer or an allocation. NaN ranks above
/// everything (as in torch's sort and topk); −0 and +0 are equal.
/// </summary>
internal static class DescendingOrder
{
    public static ulong Key(float value, int index)
    {
        if ((uint)index > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(index), index, "index must not be negative");
        return (ulong)DescendingBits(value) << 32 | (uint)index;
    }

    public static int Index(ulong key) => (int)(uint)key;

    /// <summary>A uint whose ascending order is the float's descending order.</summary>
    private static uint DescendingBits(float value)
    {
        if (float.IsNaN(value)) return 0;
        if (value == 0f) value = 0f;   // −0 ties with +0
        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint ascending = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        return ~ascending;
    }
}
