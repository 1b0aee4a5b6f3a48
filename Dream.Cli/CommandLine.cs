using System.Globalization;

namespace Dream.Cli;

/// <summary>A user mistake on the command line: printed as one line, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// A deliberately small parser: `--name value`, `--name=value`, `--flag`, and positionals. Each command
/// declares which options take values and which are flags, so a typo is an error rather than silently ignored.
/// </summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);
    public List<string> Positionals { get; } = new();
    public string Command { get; }

    public CommandLine(string command, IEnumerable<string> args, IReadOnlyCollection<string> valueOptions, IReadOnlyCollection<string> flagOptions)
    {
        Command = command;
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            string a = list[i];
            if (a == "--") { Positionals.AddRange(list.Skip(i + 1)); break; }
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2) { Positionals.Add(a); continue; }
            string name = a[2..];
            string? inline = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
            if (flagOptions.Contains(name))
            {
                if (inline is not null) throw new UsageException($"dream {command}: --{name} takes no value");
                _flags.Add(name);
            }
            else if (valueOptions.Contains(name))
            {
                string? value = inline ?? (i + 1 < list.Count ? list[++i] : null);
                if (value is null) throw new UsageException($"dream {command}: --{name} needs a value");
                _values[name] = value;
            }
            else
            {
                var known = valueOptions.Concat(flagOptions).Select(o => "--" + o).Order();
                throw new UsageException($"dream {command}: unknown option --{name} (known: {string.Join(", ", known)})");
            }
        }
    }

    public bool Flag(string name) => _flags.Contains(name);

    public string? String(string name) => _values.TryGetValue(name, out var v) ? v : null;

    public int? Int(string name, int min = int.MinValue, int max = int.MaxValue)
    {
        if (String(name) is not { } s) return null;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
            throw new UsageException($"dream {Command}: --{name} expects an integer, got '{s}'");
        if (v < min || v > max)
            throw new UsageException($"dream {Command}: --{name} must be in [{min}, {max}], got {v}");
        return v;
    }

    public double? Double(string name)
    {
        if (String(name) is not { } s) return null;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw new UsageException($"dream {Command}: --{name} expects a number, got '{s}'");
        return v;
    }

    /// <summary>Comma-separated integers (e.g. `--prompt-ids 1,2,3`).</summary>
    public int[]? IntList(string name)
    {
        if (String(name) is not { } s) return null;
        try
        {
            return s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(x => int.Parse(x, NumberStyles.Integer, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (FormatException) { throw new UsageException($"dream {Command}: --{name} expects comma-separated integers, got '{s}'"); }
        catch (OverflowException) { throw new UsageException($"dream {Command}: --{name} has an integer out of range"); }
    }

    public void ExpectPositionals(int max, string what)
    {
        if (Positionals.Count > max)
            throw new UsageException($"dream {Command}: unexpected argument '{Positionals[max]}' (expected {what})");
    }
}
