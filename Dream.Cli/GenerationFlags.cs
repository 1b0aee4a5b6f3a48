using Dream.Core.Generation;
using Dream.Core.Model;

namespace Dream.Cli;

/// <summary>
/// The sampling flags shared by `generate`, `chat`, `infill` and `sudoku`, turned into <see cref="GenerationOptions"/>:
/// project defaults, then the checkpoint's `generation_config.json`, then what the user typed.
/// </summary>
public static class GenerationFlags
{
    public static readonly string[] ValueOptions =
        { "steps", "alg", "temperature", "top-p", "top-k", "alg-temp", "seed", "max-new-tokens", "eps", "backend", "kernels" };

    /// <summary>`--host-sampling`: sample on the host (double precision) even when the backend samples on its device.</summary>
    public static readonly string[] FlagOptions = { "host-sampling" };

    public static GenerationOptions Build(CommandLine cl, GenerationDefaults? defaults, int? maxNewTokensFallback = null)
    {
        var options = new GenerationOptions().Overlay(defaults);
        if (options.MaxNewTokens is null && maxNewTokensFallback is { } fallback) options = options with { MaxNewTokens = fallback };
        if (cl.Int("max-new-tokens", 0) is { } n) options = options with { MaxNewTokens = n };
        if (cl.Int("steps", 1) is { } steps) options = options with { Steps = steps };
        if (cl.String("alg") is { } alg)
        {
            try { options = options with { Algorithm = DecodingAlgorithmNames.Parse(alg) }; }
            catch (ArgumentException) { throw new UsageException($"dream {cl.Command}: --alg takes entropy, maskgit_plus, topk_margin or origin, got '{alg}'"); }
        }
        if (cl.Double("temperature") is { } t) options = options with { Temperature = NonNegative(cl, "temperature", t) };
        if (cl.Double("alg-temp") is { } at) options = options with { AlgTemp = NonNegative(cl, "alg-temp", at) };
        if (cl.Double("top-p") is { } p)
        {
            if (!(p > 0 && p <= 1)) throw new UsageException($"dream {cl.Command}: --top-p must lie in (0, 1], got {p}");
            options = options with { TopP = (float)p };
        }
        if (cl.Int("top-k", 1) is { } k) options = options with { TopK = k };
        if (cl.Double("eps") is { } eps)
        {
            if (!(eps > 0 && eps < 1)) throw new UsageException($"dream {cl.Command}: --eps must lie in (0, 1), got {eps}");
            options = options with { Eps = (float)eps };
        }
        if (cl.String("seed") is { } s)
        {
            if (!ulong.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out ulong seed))
                throw new UsageException($"dream {cl.Command}: --seed expects a non-negative integer, got '{s}'");
            options = options with { Seed = seed };
        }
        if (cl.Flag("host-sampling")) options = options with { HostSampling = true };
        try { options.Validate(); }
        catch (ArgumentException e) { throw new UsageException($"dream {cl.Command}: {e.Message}"); }
        return options;
    }

    private static float NonNegative(CommandLine cl, string name, double value) =>
        value >= 0 ? (float)value : throw new UsageException($"dream {cl.Command}: --{name} must be ≥ 0, got {value}");

    /// <summary>`--kernels auto|f32|tensor-core`: which ILGPU forward runs the model (see <see cref="BackendFactory.Create"/>).</summary>
    public static GpuKernels Kernels(CommandLine cl) => BackendFactory.ParseKernels(cl.String("kernels"));

    public static string Backend(CommandLine cl, string fallback)
    {
        string name = cl.String("backend") ?? fallback;
        if (!BackendFactory.Names.Contains(name))
            throw new UsageException($"unknown backend '{name}' (available: {string.Join(", ", BackendFactory.Names)})");
        return name;
    }
}
