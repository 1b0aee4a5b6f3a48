using Dream.Core.Checkpoint;
using Dream.Core.Model;
using Dream.Kernels.Cpu;
using Dream.Kernels.Ilgpu;
using Dream.Reference;

namespace Dream.Cli;

/// <summary>Which ILGPU forward runs a model: see <see cref="BackendFactory.Create"/>.</summary>
public enum GpuKernels
{
    /// <summary>Tensor cores on CUDA for checkpoints stored in bf16, the float32 kernels otherwise.</summary>
    Auto,
    /// <summary>The float32 kernels (<see cref="IlgpuModel"/>): every device, every dtype.</summary>
    Float32,
    /// <summary>The bf16 tensor-core model (<see cref="TensorCoreModel"/>), on any device (off CUDA its kernels take their portable fallbacks).</summary>
    TensorCore,
}

/// <summary>Maps a `--backend` name to an <see cref="IForwardModel"/> over loaded weights.</summary>
public static class BackendFactory
{
    /// <summary>reference: plain loops (the oracle); cpu: SIMD + threads; the rest: ILGPU devices.</summary>
    public static readonly string[] Names = ["reference", "cpu", .. IlgpuDevice.Kinds];

    /// <summary>The `--kernels` values.</summary>
    public static readonly string[] KernelNames = ["auto", "f32", "tensor-core"];

    public static GpuKernels ParseKernels(string? value) => value switch
    {
        null or "auto" => GpuKernels.Auto,
        "f32" => GpuKernels.Float32,
        "tensor-core" => GpuKernels.TensorCore,
        _ => throw new UsageException($"unknown --kernels '{value}' (available: {string.Join(", ", KernelNames)})"),
    };

    /// <summary>
    /// reference and cpu as named. An ILGPU device runs <see cref="TensorCoreModel"/> (bf16 inputs to every product,
    /// f32 sums and residual) when <paramref name="kernels"/> asks for it, or by default on CUDA when every weight is
    /// stored as bf16 — precision the checkpoint already gave up — and the shapes fit; otherwise <see cref="IlgpuModel"/>
    /// (float32 throughout).
    /// </summary>
    public static IForwardModel Create(string name, DreamWeights weights, GpuKernels kernels = GpuKernels.Auto)
    {
        try
        {
            return name switch
            {
                "reference" => new ReferenceModel(weights),
                "cpu" => new CpuModel(weights),
                _ when IlgpuDevice.Kinds.Contains(name) => UseTensorCores(name, weights, kernels)
                    ? TensorCoreModel.Create(weights, name)
                    : IlgpuModel.Create(weights, name),
                _ => throw new UsageException($"unknown backend '{name}' (available: {string.Join(", ", Names)})"),
            };
        }
        catch (IlgpuDeviceNotFoundException e)
        {
            throw new UsageException($"backend '{name}': {e.Message}");
        }
    }

    private static bool UseTensorCores(string name, DreamWeights weights, GpuKernels kernels)
    {
        string? unsupported = TensorCoreModel.Supports(weights.Config);
        if (kernels == GpuKernels.TensorCore && unsupported is not null)
            throw new UsageException($"--kernels tensor-core: {unsupported}");
        return kernels switch
        {
            GpuKernels.TensorCore => true,
            GpuKernels.Float32 => false,
            _ => name == IlgpuDevice.Cuda && unsupported is null && AllBf16(weights),
        };
    }

    private static bool AllBf16(DreamWeights w) =>
        w.Embedding.DType == TensorDType.BF16 && w.LmHead.DType == TensorDType.BF16 && w.Layers.All(l =>
            new[] { l.QProj, l.KProj, l.VProj, l.OProj, l.GateProj, l.UpProj, l.DownProj }.All(t => t.DType == TensorDType.BF16));
}
