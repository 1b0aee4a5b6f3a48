using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// A CUDA graph: a run of launches recorded once on a stream and replayed with one driver call. Each ILGPU launch
/// costs about 5 µs of host time and leaves a gap on the device between kernels; a replayed graph hands the driver
/// the whole run at once. The layers of a forward pass are 7 launches per layer whose arguments do not change from
/// one denoising step to the next — same buffers, same shapes; only the buffers' contents change — so
/// <see cref="TensorCoreModel"/> records them once per run state and replays them every step.
///
/// A graph keeps every argument as it was recorded: buffer addresses, sizes, grid shapes, TMA descriptor slots.
/// Whoever replays one must keep all of those fixed (<see cref="TensorCoreRunState"/> allocates once per length;
/// <see cref="TensorMapTable.Generation"/> tells when descriptor slots were reused). Recording runs nothing: the
/// recorded work first runs at the first <see cref="Launch"/>.
/// </summary>
public sealed class CudaGraph : IDisposable
{
    private readonly nint _stream;
    private nint _exec;

    /// <summary>How many operations (kernel launches, copies) the graph holds.</summary>
    public int Operations { get; }

    private CudaGraph(nint stream, nint exec, int operations)
    {
        _stream = stream;
        _exec = exec;
        Operations = operations;
    }

    /// <summary>Whether launches on <paramref name="stream"/> can be recorded: a CUDA stream other than the legacy default one.</summary>
    public static bool CanCapture(AcceleratorStream stream) => stream is CudaStream { StreamPtr: not 0 };

    /// <summary>
    /// Records what <paramref name="launches"/> enqueues on <paramref name="stream"/> (nothing runs). Every call
    /// inside must be one a graph can hold — kernel launches and device-to-device work on this stream; a
    /// synchronisation, an allocation or a copy from pageable host memory fails the capture with the driver's error.
    /// </summary>
    public static unsafe CudaGraph Capture(AcceleratorStream stream, Action launches)
    {
        if (stream is not CudaStream { StreamPtr: not 0 } cuda)
            throw new ArgumentException($"a CUDA graph records a CUDA stream of its own, not {stream.GetType().Name} (the legacy default stream cannot be captured)", nameof(stream));
        nint handle = cuda.StreamPtr;
        CudaDriver.Check(CudaDriver.cuStreamBeginCapture_v2(handle, CudaDriver.CaptureThreadLocal), "cuStreamBeginCapture");
        nint graph;
        try
        {
            launches();
        }
        catch
        {
            // End the capture whatever happened, so the stream is usable again; the launch's error is the one to see.
            if (CudaDriver.cuStreamEndCapture(handle, out graph) == 0 && graph != 0) CudaDriver.cuGraphDestroy(graph);
            throw;
        }
        CudaDriver.Check(CudaDriver.cuStreamEndCapture(handle, out graph), "cuStreamEndCapture (a call in the recorded run could not be recorded)");
        try
        {
            nuint count = 0;
            CudaDriver.Check(CudaDriver.cuGraphGetNodes(graph, null, ref count), "cuGraphGetNodes");
            CudaDriver.Check(CudaDriver.cuGraphInstantiateWithFlags(out nint exec, graph, 0), "cuGraphInstantiateWithFlags");
            return new CudaGraph(handle, exec, (int)count);
        }
        finally
        {
            // The executable graph is independent of the recorded one.
            CudaDriver.cuGraphDestroy(graph);
        }
    }

    /// <summary>Enqueues the recorded run on the stream it was recorded on.</summary>
    public void Launch()
    {
        ObjectDisposedException.ThrowIf(_exec == 0, this);
        CudaDriver.Check(CudaDriver.cuGraphLaunch(_exec, _stream), "cuGraphLaunch");
    }

    public void Dispose()
    {
        if (_exec == 0) return;
        CudaDriver.cuGraphExecDestroy(_exec);
        _exec = 0;
    }
}
