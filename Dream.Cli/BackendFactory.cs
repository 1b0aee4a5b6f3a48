using Dream.Core.Model;
using Dream.Reference;

namespace Dream.Cli;

/// <summary>Maps a `--backend` name to an <see cref="IForwardModel"/> over loaded weights.</summary>
public static class BackendFactory
{
    public static readonly string[] Names = { "reference" };

    public static IForwardModel Create(string name, DreamWeights weights) => name switch
    {
        "reference" => new ReferenceModel(weights),
        _ => throw new UsageException($"unknown backend '{name}' (available: {string.Join(", ", Names)})"),
    };
}
