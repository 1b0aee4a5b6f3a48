using Dream.Core.Tokenization;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Dream.Tests.Tokenization;

/// <summary><see cref="BpeMerger"/> (heap over a linked list) against the plainest loop: rescan, merge the lowest rank, repeat.</summary>
public class BpeMergerTests
{
    /// <summary>A random merge table over a 6-symbol alphabet (rule k creates symbol 6 + k) and a sequence to merge.</summary>
    public sealed record Case((int Left, int Right, int Rank)[] Rules, int[] Symbols)
    {
        public override string ToString() =>
            $"rules [{string.Join(", ", Rules.Select((r, k) => $"{r.Left}+{r.Right}→{6 + k}@{r.Rank}"))}] symbols [{string.Join(",", Symbols)}]";
    }

    public static Arbitrary<Case> Cases() =>
        (from ruleCount in Gen.Choose(0, 24)
         from pairs in Gen.CollectToArray(Enumerable.Range(0, ruleCount),
             k => Gen.Choose(0, 5 + k).Two())
         from ranks in Gen.Shuffle(Enumerable.Range(0, ruleCount))
         from length in Gen.Choose(0, 40)
         from symbols in Gen.Choose(0, 5).ArrayOf(length)
         select new Case(pairs.Select((p, k) => (p.Item1, p.Item2, ranks[k])).ToArray(), symbols))
        .ToArbitrary();

    [Property(MaxTest = 2000, Arbitrary = [typeof(BpeMergerTests)])]
    public void MatchesThePlainLoop(Case c)
    {
        var table = new MergeTable(c.Rules.Length);
        var rules = new Dictionary<(int, int), (int Rank, int Merged)>();
        for (int k = 0; k < c.Rules.Length; k++)
        {
            var (left, right, rank) = c.Rules[k];
            table.Set(left, right, rank, 6 + k);
            rules[(left, right)] = (rank, 6 + k);   // a repeated pair keeps its last rule, as in the table
        }
        int[] symbols = (int[])c.Symbols.Clone();
        int count = BpeMerger.Merge(table, symbols);
        Assert.Equal(Reference(rules, c.Symbols), symbols[..count]);
    }

    [Fact]
    public void EqualRanksMergeLeftmostFirst()
    {
        var table = new MergeTable(1);
        table.Set(0, 0, 0, 1);
        int[] symbols = [0, 0, 0];
        Assert.Equal(2, BpeMerger.Merge(table, symbols));
        Assert.Equal([1, 0], symbols[..2]);
    }

    private static int[] Reference(Dictionary<(int, int), (int Rank, int Merged)> rules, int[] input)
    {
        var s = input.ToList();
        while (true)
        {
            int best = -1, bestRank = int.MaxValue, merged = -1;
            for (int i = 0; i + 1 < s.Count; i++)
                if (rules.TryGetValue((s[i], s[i + 1]), out var r) && r.Rank < bestRank)
                    (best, bestRank, merged) = (i, r.Rank, r.Merged);
            if (best < 0) return s.ToArray();
            s[best] = merged;
            s.RemoveAt(best + 1);
        }
    }
}
