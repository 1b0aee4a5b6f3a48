using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Dream.Core.Tokenization;
using Microsoft.ML.Tokenizers;

namespace Dream.Bench;

/// <summary>
/// Encode throughput of <see cref="Dream.Core.Tokenization.BpeTokenizer"/> against Microsoft.ML.Tokenizers'
/// TiktokenTokenizer built from the same vocabulary (ranks = ids, the Qwen2 regex, the same added tokens).
/// The corpus is a list of documents: the golden case texts repeated up to --mb megabytes, or the paragraphs of
/// --corpus. First both tokenizers encode every document and the ids are compared (a benchmark of wrong output
/// is worthless); then each variant runs once to warm up (caches, JIT) and five timed passes, and the fastest
/// is reported in MB/s of UTF-8 input (the build machines are shared, so the fastest pass is the one least
/// disturbed by other processes).
/// </summary>
public static class TokenizerBench
{
    public static int Run(string[] args, TextWriter output)
    {
        string tokenizerPath = Path.Combine("Dream.Tests", "TestData", "golden", "tokenizer.json.gz");
        string? corpusPath = null;
        double megabytes = 8;
        for (int i = 0; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--tokenizer": tokenizerPath = value; break;
                case "--corpus": corpusPath = value; break;
                case "--mb": megabytes = double.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
            i++;
        }

        var ours = Dream.Core.Tokenization.BpeTokenizer.Load(tokenizerPath);
        var uncached = Dream.Core.Tokenization.BpeTokenizer.Load(tokenizerPath, pieceCacheCapacity: 0);
        var theirs = BuildTiktoken(ours);
        string[] docs = corpusPath is null ? GoldenCorpus(tokenizerPath, megabytes) : FileCorpus(corpusPath, megabytes);
        long bytes = docs.Sum(d => (long)Encoding.UTF8.GetByteCount(d));
        output.WriteLine($"corpus: {docs.Length} documents, {bytes / 1e6:F1} MB UTF-8 ({(corpusPath ?? "golden tokenizer cases, repeated")})");

        int mismatched = docs.Count(d => !ours.Encode(d).AsSpan().SequenceEqual(theirs.EncodeToIds(d).ToArray()));
        output.WriteLine(mismatched == 0
            ? "check: both tokenizers produce identical ids for every document"
            : $"check: {mismatched} of {docs.Length} documents encode differently (TiktokenTokenizer differs from Hugging Face there)");

        var rows = new List<(string Name, double MBps)>
        {
            ("ours, 1 thread", Measure(bytes, () => { foreach (var d in docs) ours.Encode(d); })),
            ("ours, 1 thread, no piece cache", Measure(bytes, () => { foreach (var d in docs) uncached.Encode(d); })),
            ("ours, EncodeBatch (Parallel.For)", Measure(bytes, () => ours.EncodeBatch(docs))),
            ("Tiktoken, 1 thread", Measure(bytes, () => { foreach (var d in docs) theirs.EncodeToIds(d); })),
            ("Tiktoken, Parallel.For", Measure(bytes, () => Parallel.For(0, docs.Length, i => theirs.EncodeToIds(docs[i])))),
        };
        output.WriteLine();
        output.WriteLine("| variant | MB/s |");
        output.WriteLine("|---|---:|");
        foreach (var (name, mbps) in rows) output.WriteLine($"| {name} | {mbps:F1} |");
        output.WriteLine();
        output.WriteLine($"single-thread speed-up over TiktokenTokenizer: {rows[0].MBps / rows[3].MBps:F2}x; cores: {Environment.ProcessorCount}");
        return mismatched == 0 ? 0 : 1;
    }

    /// <summary>Warm-up pass, then the fastest of five timed passes, in MB/s.</summary>
    private static double Measure(long bytes, Action pass)
    {
        pass();
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            var sw = Stopwatch.StartNew();
            pass();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return bytes / 1e6 / best;
    }

    /// <summary>The same vocabulary as a tiktoken file (base64 of each token's bytes, then its id as rank).</summary>
    private static TiktokenTokenizer BuildTiktoken(Dream.Core.Tokenization.BpeTokenizer ours)
    {
        var special = ours.AddedTokens.ToDictionary(t => t.Content, t => t.Id);
        var vocab = new StringBuilder();
        var tokenBytes = new List<byte>();
        for (int id = 0; id < ours.VocabSize; id++)
        {
            if (ours.IdToToken(id) is not { } token || special.ContainsKey(token)) continue;
            tokenBytes.Clear();
            if (!ByteLevelAlphabet.TryDecode(token, tokenBytes)) continue;
            vocab.Append(Convert.ToBase64String(tokenBytes.ToArray())).Append(' ').Append(id).Append('\n');
        }
        var preTokenizer = new RegexPreTokenizer(new Regex(Qwen2PreTokenizer.Pattern, RegexOptions.Compiled), special);
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(vocab.ToString()));
        return TiktokenTokenizer.Create(stream, preTokenizer, normalizer: null, special);
    }

    private static string[] GoldenCorpus(string tokenizerPath, double megabytes)
    {
        string cases = Path.Combine(Path.GetDirectoryName(tokenizerPath)!, "tokenizer-cases.json");
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(cases));
        string[] texts = doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => c.GetProperty("text").GetString()!).Where(t => t.Length > 0).ToArray();
        return Repeat(texts, megabytes);
    }

    private static string[] FileCorpus(string path, double megabytes)
    {
        string[] paragraphs = File.ReadAllText(path).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        return Repeat(paragraphs, megabytes);
    }

    private static string[] Repeat(string[] texts, double megabytes)
    {
        var docs = new List<string>();
        long total = 0, target = (long)(megabytes * 1e6);
        for (int i = 0; total < target; i = (i + 1) % texts.Length)
        {
            docs.Add(texts[i]);
            total += Encoding.UTF8.GetByteCount(texts[i]);
        }
        return docs.ToArray();
    }
}
