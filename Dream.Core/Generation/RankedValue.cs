namespace Dream.Core.Generation;

/// <summary>
/// A value and the index it came from. Sorting ascending puts them in the order the loop ranks by wherever it
/// ranks with <see cref="PositionTies.LowestPosition"/>: largest value first, NaN above everything (as torch sorts
/// it), equal values by lowest index (−0 and +0 are equal).
/// </summary>
internal struct RankedValue(double value, int index) : IComparable<RankedValue>
{
    public double Value = value;
    public int Index = index;

    public readonly int CompareTo(RankedValue other)
    {
        bool nan = double.IsNaN(Value), otherNan = double.IsNaN(other.Value);
        if (nan != otherNan) return nan ? -1 : 1;
        if (!nan && Value != other.Value) return Value > other.Value ? -1 : 1;
        return Index.CompareTo(other.Index);
    }
}
