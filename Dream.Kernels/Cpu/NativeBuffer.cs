using System.Runtime.InteropServices;

namespace Dream.Kernels.Cpu;

/// <summary>
/// A 64-byte-aligned float32 buffer outside the managed heap: pointers into it stay valid across Parallel.For
/// without pinning, and a cache line never straddles two SIMD loads. Grows (never shrinks) on demand; the old
/// contents are not kept.
/// </summary>
public sealed unsafe class NativeBuffer : IDisposable
{
    public float* Pointer { get; private set; }
    public long Capacity { get; private set; }

    public NativeBuffer(long floats = 0) => Ensure(floats);

    /// <summary>Makes room for <paramref name="floats"/> elements; returns true when it had to reallocate.</summary>
    public bool Ensure(long floats)
    {
        if (floats <= Capacity) return false;
        Free();
        Pointer = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
        Capacity = floats;
        return true;
    }

    public Span<float> Span(long floats)
    {
        if (floats > Capacity || floats > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(floats), $"{floats} floats requested from a buffer of {Capacity}");
        return new Span<float>(Pointer, (int)floats);
    }

    private void Free()
    {
        if (Pointer is not null) NativeMemory.AlignedFree(Pointer);
        Pointer = null;
        Capacity = 0;
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~NativeBuffer() => Free();
}
