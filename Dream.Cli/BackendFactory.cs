using Dream.Core.Model;
using Dream.Kernels.Cpu;
using Dream.Reference;

namespace Dream.Cli;

/// <summary>Maps a `--backend` name to an <see cref="IForwardModel"/> over loaded weights.</summary>
public static class BackendFactory
{
    public static readonly string[] Names = { "reference", "cpu" };

    public static IForwardModel Create(string name, DreamWeights weights) => name switch
    {
        "reference" => new ReferenceModel(weights),
        "cpu" => new CpuModel(weights),
        _ => throw new UsageException($"unknown backend '{name}' (available: {string.Join(", ", Names)})"),
    };
}
