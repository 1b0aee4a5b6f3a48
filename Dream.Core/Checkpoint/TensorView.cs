using Dream.Core.Numerics;

namespace Dream.Core.Checkpoint;

/// <summary>
/// One tensor inside a memory-mapped safetensors file: its name, dtype, shape and a pointer to its bytes.
/// The bytes are never copied; the view stays valid while the owning <see cref="SafetensorsFile"/> is open.
/// Data is row-major, little-endian, exactly as stored.
/// </summary>
public readonly unsafe struct TensorView
{
    public string Name { get; }
    public TensorDType DType { get; }
    public IReadOnlyList<long> Shape { get; }
    public string FilePath { get; }
    private readonly byte* _data;
    public long ByteLength { get; }

    internal TensorView(string filePath, string name, TensorDType dtype, long[] shape, byte* data, long byteLength)
    {
        FilePath = filePath;
        Name = name;
        DType = dtype;
        Shape = shape;
        _data = data;
        ByteLength = byteLength;
    }

    public long ElementCount => ByteLength / TensorDTypes.SizeOf(DType);

    /// <summary>Raw address of the first byte (for GPU uploads and SIMD kernels that read bf16 in place).</summary>
    public nint Address => (nint)_data;

    /// <summary>The raw bytes. A single span cannot exceed 2 GiB; Dream 7B's largest tensor is 1.09 GB.</summary>
    public ReadOnlySpan<byte> Bytes => ByteLength <= int.MaxValue
        ? new ReadOnlySpan<byte>(_data, (int)ByteLength)
        : throw new DreamFormatException(FilePath, Name, $"tensor of {ByteLength} bytes is too large for one span");

    /// <summary>The elements as <typeparamref name="T"/> (the caller picks the type matching <see cref="DType"/>).</summary>
    public ReadOnlySpan<T> As<T>() where T : unmanaged
    {
        long n = ByteLength / sizeof(T);
        if (n > int.MaxValue) throw new DreamFormatException(FilePath, Name, "tensor too large for one span");
        return new ReadOnlySpan<T>(_data, (int)n);
    }

    /// <summary>Checks rank and extents; the message names the file, the tensor and both shapes.</summary>
    public TensorView Expect(params long[] shape)
    {
        bool ok = Shape.Count == shape.Length;
        for (int i = 0; ok && i < shape.Length; i++) ok = Shape[i] == shape[i];
        if (!ok)
            throw new DreamFormatException(FilePath, Name,
                $"expected shape [{string.Join(", ", shape)}], found [{string.Join(", ", Shape)}]");
        return this;
    }

    /// <summary>Widens any floating dtype to float32 (a copy; for references, tests and small tensors).</summary>
    public float[] ToFloat32()
    {
        var result = new float[checked((int)ElementCount)];
        CopyToFloat32(result);
        return result;
    }

    /// <summary>Widens elements [start, start + destination.Length) to float32.</summary>
    public void CopyToFloat32(Span<float> destination, long start = 0)
    {
        if (start < 0 || start + destination.Length > ElementCount)
            throw new ArgumentOutOfRangeException(nameof(start), $"range outside tensor '{Name}' of {ElementCount} elements");
        byte* p = _data + start * TensorDTypes.SizeOf(DType);
        switch (DType)
        {
            case TensorDType.F32:
                new ReadOnlySpan<float>(p, destination.Length).CopyTo(destination);
                break;
            case TensorDType.BF16:
                for (int i = 0; i < destination.Length; i++) destination[i] = BFloat16.ToFloat(((ushort*)p)[i]);
                break;
            case TensorDType.F16:
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)((Half*)p)[i];
                break;
            case TensorDType.F64:
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)((double*)p)[i];
                break;
            default:
                throw new DreamFormatException(FilePath, Name, $"expected a floating dtype, found {TensorDTypes.Name(DType)}");
        }
    }

    /// <summary>Widens any floating dtype to float64 (a copy).</summary>
    public double[] ToFloat64()
    {
        var result = new double[checked((int)ElementCount)];
        byte* p = _data;
        switch (DType)
        {
            case TensorDType.F64: new ReadOnlySpan<double>(p, result.Length).CopyTo(result); break;
            case TensorDType.F32: for (int i = 0; i < result.Length; i++) result[i] = ((float*)p)[i]; break;
            case TensorDType.BF16: for (int i = 0; i < result.Length; i++) result[i] = BFloat16.ToFloat(((ushort*)p)[i]); break;
            case TensorDType.F16: for (int i = 0; i < result.Length; i++) result[i] = (double)((Half*)p)[i]; break;
            default: throw new DreamFormatException(FilePath, Name, $"expected a floating dtype, found {TensorDTypes.Name(DType)}");
        }
        return result;
    }

    /// <summary>Reads an integer tensor (I64, I32, I16, I8, U8, BOOL) as int64 values.</summary>
    public long[] ToInt64()
    {
        var result = new long[checked((int)ElementCount)];
        byte* p = _data;
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = DType switch
            {
                TensorDType.I64 => ((long*)p)[i],
                TensorDType.I32 => ((int*)p)[i],
                TensorDType.I16 => ((short*)p)[i],
                TensorDType.I8 => ((sbyte*)p)[i],
                TensorDType.U8 or TensorDType.Bool => p[i],
                _ => throw new DreamFormatException(FilePath, Name, $"expected an integer dtype, found {TensorDTypes.Name(DType)}"),
            };
        }
        return result;
    }
}
