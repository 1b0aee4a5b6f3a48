namespace Dream.Cli;

/// <summary>
/// Finds a model directory from `--model`: a directory path, or a Hugging Face repo id (`ORG/NAME`) looked up in
/// the local Hugging Face cache (`$HF_HOME/hub` or `~/.cache/huggingface/hub`, `models--ORG--NAME/snapshots/*`).
/// Nothing is ever downloaded.
/// </summary>
public static class ModelResolver
{
    public const string DefaultRepo = "Dream-org/Dream-v0-Instruct-7B";

    /// <summary>The embedded planner shipped beside the executable.</summary>
    public static string EmbeddedSudokuModel => Path.Combine(AppContext.BaseDirectory, "models", "dream-sudoku");

    public static string Resolve(string? model, IReadOnlyDictionary<string, string?>? environment = null)
    {
        string spec = model ?? DefaultRepo;
        if (Directory.Exists(spec)) return spec;

        var looked = new List<string>();
        if (LooksLikeRepoId(spec))
        {
            foreach (string hub in HubDirectories(environment))
            {
                string snapshots = Path.Combine(hub, "models--" + spec.Replace("/", "--"), "snapshots");
                looked.Add(snapshots);
                if (!Directory.Exists(snapshots)) continue;
                // The newest snapshot that has a config is the one a Hugging Face client would have used last.
                var best = new DirectoryInfo(snapshots).GetDirectories()
                    .Where(d => File.Exists(Path.Combine(d.FullName, "config.json")))
                    .OrderByDescending(d => d.LastWriteTimeUtc)
                    .FirstOrDefault();
                if (best is not null) return best.FullName;
            }
        }
        else looked.Add(Path.GetFullPath(spec));

        throw new UsageException(
            $"model '{spec}' not found (looked in: {string.Join(", ", looked)}). " +
            $"Pass --model DIR with a Hugging Face model directory, or fetch '{spec}' into the Hugging Face cache with " +
            "your usual tools (e.g. `huggingface-cli download " + spec + "`); this program never downloads. " +
            "`dream sudoku` needs no download: it runs the embedded planner.");
    }

    private static bool LooksLikeRepoId(string spec) =>
        spec.Count(c => c == '/') == 1 && !spec.StartsWith('/') && !spec.StartsWith('.') && !spec.EndsWith('/');

    private static IEnumerable<string> HubDirectories(IReadOnlyDictionary<string, string?>? environment)
    {
        string? Get(string name) => environment is not null
            ? environment.GetValueOrDefault(name)
            : Environment.GetEnvironmentVariable(name);
        if (Get("HF_HUB_CACHE") is { Length: > 0 } hubCache) yield return hubCache;
        if (Get("HF_HOME") is { Length: > 0 } home) yield return Path.Combine(home, "hub");
        string user = Get("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (user.Length > 0) yield return Path.Combine(user, ".cache", "huggingface", "hub");
    }
}
