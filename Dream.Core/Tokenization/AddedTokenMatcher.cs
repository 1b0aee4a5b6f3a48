using System.Buffers;

namespace Dream.Core.Tokenization;

/// <summary>
/// Finds added tokens in text the way Hugging Face does (Aho-Corasick, leftmost-longest): the match that starts
/// first wins, and among matches starting at the same place the longest. A vectorized search for the tokens'
/// first characters skips everything else.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly SearchValues<char> _firstChars;
    // First character → tokens starting with it, longest first.
    private readonly Dictionary<char, AddedToken[]> _byFirstChar;

    public bool IsEmpty => _byFirstChar.Count == 0;

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens
            .Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
        _firstChars = SearchValues.Create(_byFirstChar.Keys.ToArray());
    }

    /// <summary>The first match in <paramref name="text"/> at or after <paramref name="start"/>, if any.</summary>
    public bool TryFindNext(ReadOnlySpan<char> text, int start, out int matchStart, out AddedToken token)
    {
        int i = start;
        while (i < text.Length)
        {
            int found = text[i..].IndexOfAny(_firstChars);
            if (found < 0) break;
            i += found;
            foreach (var candidate in _byFirstChar[text[i]])
            {
                if (text[i..].StartsWith(candidate.Content, StringComparison.Ordinal))
                {
                    matchStart = i;
                    token = candidate;
                    return true;
                }
            }
            i++;
        }
        matchStart = -1;
        token = null!;
        return false;
    }
}
