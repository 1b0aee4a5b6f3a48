using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Device buffers allocated together for one (batch, length) and released together: the run states and the
/// forward inputs hand out views of them. Disposing releases every buffer (and anything else added with
/// <see cref="Own"/>) in one place, so a constructor that fails half-way can release what it had.
/// </summary>
internal sealed class DeviceBuffers(Accelerator accelerator) : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    /// <summary>A new buffer of <paramref name="length"/> elements, owned by this set.</summary>
    public ArrayView<T> Allocate<T>(long length) where T : unmanaged
    {
        var buffer = accelerator.Allocate1D<T>(length);
        _owned.Add(buffer);
        return buffer.View;
    }

    /// <summary>Takes <paramref name="resource"/> into this set (disposed with it).</summary>
    public TResource Own<TResource>(TResource resource) where TResource : IDisposable
    {
        _owned.Add(resource);
        return resource;
    }

    public void Dispose()
    {
        foreach (var b in _owned) b.Dispose();
        _owned.Clear();
    }
}
