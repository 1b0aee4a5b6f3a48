using Dream.Core.Checkpoint;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// A weight tensor on the device, row-major as stored: bf16 stays bf16 (raw bits as <see cref="ushort"/>),
/// f32 stays f32, f16 is widened to f32 once at upload (exact).
/// </summary>
public sealed class DeviceWeight : IDisposable
{
    private readonly MemoryBuffer1D<ushort, Stride1D.Dense>? _bf16;
    private readonly MemoryBuffer1D<float, Stride1D.Dense>? _f32;

    public bool IsBf16 => _bf16 is not null;
    public long Length { get; }
    public ArrayView<ushort> Bf16 => _bf16?.View ?? throw new InvalidOperationException("weight is stored as f32");
    public ArrayView<float> F32 => _f32?.View ?? throw new InvalidOperationException("weight is stored as bf16");

    private DeviceWeight(MemoryBuffer1D<ushort, Stride1D.Dense>? bf16, MemoryBuffer1D<float, Stride1D.Dense>? f32, long length)
    {
        _bf16 = bf16;
        _f32 = f32;
        Length = length;
    }

    /// <summary>Copies <paramref name="tensor"/> to <paramref name="accelerator"/> in its stored precision (f16 as f32).</summary>
    public static DeviceWeight Upload(Accelerator accelerator, TensorView tensor)
    {
        long n = tensor.ElementCount;
        if (tensor.DType == TensorDType.BF16)
        {
            var buffer = accelerator.Allocate1D<ushort>(n);
            buffer.View.CopyFromCPU(accelerator.DefaultStream, tensor.As<ushort>());
            return new DeviceWeight(buffer, null, n);
        }
        var f32 = accelerator.Allocate1D<float>(n);
        if (tensor.DType == TensorDType.F32) f32.View.CopyFromCPU(accelerator.DefaultStream, tensor.As<float>());
        else f32.View.CopyFromCPU(accelerator.DefaultStream, (ReadOnlySpan<float>)tensor.ToFloat32());
        return new DeviceWeight(null, f32, n);
    }

    /// <summary>An f32 weight from host values (tests, small tensors).</summary>
    public static DeviceWeight FromFloat32(Accelerator accelerator, ReadOnlySpan<float> values)
    {
        var f32 = accelerator.Allocate1D<float>(values.Length);
        f32.View.CopyFromCPU(accelerator.DefaultStream, values);
        return new DeviceWeight(null, f32, values.Length);
    }

    /// <summary>A bf16 weight from raw bf16 bits (tests).</summary>
    public static DeviceWeight FromBf16(Accelerator accelerator, ReadOnlySpan<ushort> bits)
    {
        var buffer = accelerator.Allocate1D<ushort>(bits.Length);
        buffer.View.CopyFromCPU(accelerator.DefaultStream, bits);
        return new DeviceWeight(buffer, null, bits.Length);
    }

    public void Dispose()
    {
        _bf16?.Dispose();
        _f32?.Dispose();
    }
}
