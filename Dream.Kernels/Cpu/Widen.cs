using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Dream.Core.Checkpoint;

namespace Dream.Kernels.Cpu;

/// <summary>
/// Widening stored weights to float32: bf16 is the top half of a float32, so widening is a 16-bit left shift of
/// each zero-extended element (exact); f16 goes through TensorPrimitives; f32 is a copy.
/// </summary>
public static unsafe class Widen
{
    /// <param name="source">count elements of <paramref name="dtype"/>.</param>
    /// <param name="destination">count float32.</param>
    public static void ToFloat32(void* source, TensorDType dtype, float* destination, int count)
    {
        switch (dtype)
        {
            case TensorDType.F32:
                new ReadOnlySpan<float>(source, count).CopyTo(new Span<float>(destination, count));
                break;
            case TensorDType.F16:
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(source, count), new Span<float>(destination, count));
                break;
            case TensorDType.BF16:
                Bf16ToFloat32((ushort*)source, destination, count);
                break;
            default:
                throw new ArgumentException($"cannot widen {TensorDTypes.Name(dtype)} to float32", nameof(dtype));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Bf16ToFloat32(ushort* source, float* destination, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= count - 32; i += 32)
            {
                var bits = Vector512.Load(source + i);                     // 32 × bf16
                var (lo, hi) = Vector512.Widen(bits);                      // 2 × 16 × uint32
                Vector512.ShiftLeft(lo, 16).AsSingle().Store(destination + i);
                Vector512.ShiftLeft(hi, 16).AsSingle().Store(destination + i + 16);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= count - 16; i += 16)
            {
                var bits = Vector256.Load(source + i);
                var (lo, hi) = Vector256.Widen(bits);
                Vector256.ShiftLeft(lo, 16).AsSingle().Store(destination + i);
                Vector256.ShiftLeft(hi, 16).AsSingle().Store(destination + i + 8);
            }
        }
        for (; i < count; i++) destination[i] = BitConverter.Int32BitsToSingle(source[i] << 16);
    }

    /// <summary>A small tensor (norm weight, bias) widened once into a managed array.</summary>
    public static float[] Vector(TensorView view)
    {
        var result = new float[checked((int)view.ElementCount)];
        fixed (float* p = result) ToFloat32((void*)view.Address, view.DType, p, result.Length);
        return result;
    }
}
