using System.Diagnostics.CodeAnalysis;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// One ILGPU accelerator chosen by name — "cuda", "opencl" or "ilgpu-cpu" (ILGPU's CPU simulator) — with the
/// context it lives in. Every context enables ILGPU.Algorithms (MathF.Exp on the GPU needs it) and compiles at
/// O2 (typed global loads on CUDA). Owns both; dispose after the last kernel call.
/// </summary>
public sealed class IlgpuDevice : IDisposable
{
    public const string Cuda = "cuda";
    public const string OpenCL = "opencl";
    public const string Cpu = "ilgpu-cpu";

    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Kinds { get; } = [Cuda, OpenCL, Cpu];

    /// <summary>
    /// The simulated CPU device: 4 threads per warp, 4 warps, one multiprocessor — groups of at most 16 threads,
    /// each simulated thread one OS thread, so small groups keep the simulator usable on a 2-core machine.
    /// </summary>
    private static CPUDevice SimulatorDevice => new(numThreadsPerWarp: 4, numWarpsPerMultiprocessor: 4, numMultiprocessors: 1);

    /// <summary>"cuda", "opencl" or "ilgpu-cpu".</summary>
    public string Kind { get; }
    /// <summary>The accelerator's own name (e.g. "NVIDIA H100 80GB HBM3").</summary>
    public string Name => Accelerator.Name;
    public Context Context { get; }
    public Accelerator Accelerator { get; }

    private IlgpuDevice(string kind, Context context, Accelerator accelerator)
    {
        Kind = kind;
        Context = context;
        Accelerator = accelerator;
    }

    /// <summary>Opens the first device of <paramref name="kind"/>; throws <see cref="IlgpuDeviceNotFoundException"/> with the reason when there is none.</summary>
    public static IlgpuDevice Create(string kind) =>
        TryCreate(kind, out var device, out string? reason) ? device : throw new IlgpuDeviceNotFoundException(kind, reason);

    /// <summary>Like <see cref="Create"/>, but reports a missing device as false with a one-line reason.</summary>
    public static bool TryCreate(string kind, [NotNullWhen(true)] out IlgpuDevice? device, [NotNullWhen(false)] out string? reason)
    {
        device = null;
        reason = null;
        var seenOpenCL = new List<string>();
        Context context;
        switch (kind)
        {
            case Cuda:
                context = Context.Create(b => b.Optimize(OptimizationLevel.O2).EnableAlgorithms().Cuda());
                break;
            case OpenCL:
                context = Context.Create(b => b.Optimize(OptimizationLevel.O2).EnableAlgorithms().OpenCL(d =>
                {
                    bool ok = d.CLStdVersion >= ILGPU.Backends.OpenCL.CLBackend.MinimumVersion && d.Capabilities.GenericAddressSpace;
                    seenOpenCL.Add($"'{d.Name}' (OpenCL C {d.CLStdVersion}{(d.Capabilities.GenericAddressSpace ? "" : ", no generic address space")})");
                    return ok;
                }));
                break;
            case Cpu:
                context = Context.Create(b => b.Optimize(OptimizationLevel.O2).EnableAlgorithms().CPU(SimulatorDevice));
                break;
            default:
                reason = $"unknown ILGPU device '{kind}': expected one of {string.Join(", ", Kinds)}";
                return false;
        }

        Device? chosen = null;
        foreach (var d in context.Devices)
        {
            bool matches = kind switch
            {
                Cuda => d is CudaDevice,
                OpenCL => d is CLDevice,
                _ => d is CPUDevice,
            };
            // Prefer a GPU when OpenCL offers several devices (a GPU driver beside PoCL's CPU device, say).
            if (matches && (chosen is null || (d is CLDevice { DeviceType: CLDeviceType.CL_DEVICE_TYPE_GPU } && chosen is CLDevice { DeviceType: not CLDeviceType.CL_DEVICE_TYPE_GPU })))
                chosen = d;
        }
        if (chosen is null)
        {
            reason = kind switch
            {
                Cuda => "no CUDA device found: ILGPU lists no CUDA devices; is the NVIDIA driver (libcuda.so) installed?",
                _ when seenOpenCL.Count == 0 => "no OpenCL device found: ILGPU lists no OpenCL platforms; is an OpenCL ICD (e.g. PoCL) and libOpenCL.so installed?",
                _ => $"no usable OpenCL device found: ILGPU needs OpenCL C 2.0+ with the generic address space; found {string.Join(", ", seenOpenCL)}",
            };
            context.Dispose();
            return false;
        }

        try
        {
            device = new IlgpuDevice(kind, context, chosen.CreateAccelerator(context));
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            context.Dispose();
            reason = $"cannot open {kind} device '{chosen.Name}': {e.Message}";
            return false;
        }
    }

    public void Dispose()
    {
        Accelerator.Dispose();
        Context.Dispose();
    }
}

/// <summary>No ILGPU device of the requested kind exists (or it cannot be opened); the message says why.</summary>
public sealed class IlgpuDeviceNotFoundException(string kind, string reason) : Exception(reason)
{
    public string Kind { get; } = kind;
}
