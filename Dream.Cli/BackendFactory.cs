using Dream.Core.Model;
using Dream.Kernels.Cpu;
using Dream.Kernels.Ilgpu;
using Dream.Reference;

namespace Dream.Cli;

/// <summary>Maps a `--backend` name to an <see cref="IForwardModel"/> over loaded weights.</summary>
public static class BackendFactory
{
    /// <summary>reference: plain loops (the oracle); cpu: SIMD + threads; the rest: ILGPU devices.</summary>
    public static readonly string[] Names = ["reference", "cpu", .. IlgpuDevice.Kinds];

    public static IForwardModel Create(string name, DreamWeights weights)
    {
        try
        {
            return name switch
            {
                "reference" => new ReferenceModel(weights),
                "cpu" => new CpuModel(weights),
                _ when IlgpuDevice.Kinds.Contains(name) => IlgpuModel.Create(weights, name),
                _ => throw new UsageException($"unknown backend '{name}' (available: {string.Join(", ", Names)})"),
            };
        }
        catch (IlgpuDeviceNotFoundException e)
        {
            throw new UsageException($"backend '{name}': {e.Message}");
        }
    }
}
