using Dream.Core.Checkpoint;

namespace Dream.Kernels.Cpu;

/// <summary>
/// A row-major matrix in any storage dtype the kernels read in place (bf16, f16, f32), addressed by pointer:
/// a Linear weight [Out, In] inside the memory-mapped checkpoint, or an f32 activation (attention's K and V).
/// Nothing is copied; the owner keeps the memory alive and pinned.
/// </summary>
public readonly unsafe struct WeightMatrix
{
    public nint Address { get; }
    public TensorDType DType { get; }
    public int Rows { get; }
    public int Columns { get; }
    /// <summary>Elements between the starts of consecutive rows (≥ Columns).</summary>
    public long RowStride { get; }

    public WeightMatrix(nint address, TensorDType dtype, int rows, int columns, long rowStride)
    {
        if (dtype is not (TensorDType.F32 or TensorDType.BF16 or TensorDType.F16))
            throw new ArgumentException($"the CPU kernels read F32, BF16 or F16 matrices, not {TensorDTypes.Name(dtype)}", nameof(dtype));
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowStride, columns);
        Address = address;
        DType = dtype;
        Rows = rows;
        Columns = columns;
        RowStride = rowStride;
    }

    /// <summary>A 2-D checkpoint tensor [rows, columns], read in place.</summary>
    public static WeightMatrix From(TensorView view)
    {
        if (view.Shape.Count != 2)
            throw new ArgumentException($"tensor '{view.Name}' has rank {view.Shape.Count}, expected a matrix", nameof(view));
        return new WeightMatrix(view.Address, view.DType, checked((int)view.Shape[0]), checked((int)view.Shape[1]), view.Shape[1]);
    }

    /// <summary>An f32 matrix at <paramref name="data"/>.</summary>
    public static WeightMatrix F32(float* data, int rows, int columns, long rowStride) =>
        new((nint)data, TensorDType.F32, rows, columns, rowStride);

    public int ElementSize => DType == TensorDType.F32 ? 4 : 2;

    /// <summary>Address of element (row, column).</summary>
    public byte* At(int row, int column) => (byte*)Address + (row * RowStride + column) * ElementSize;
}
