namespace Dream.Core.Training;

/// <summary>
/// Training's source of randomness: SplitMix64 (Steele, Lea and Flood 2014; the constants of Vigna's
/// `splitmix64.c`) started from a state derived from a seed and a list of stream ids, e.g. (seed, step, row).
/// Deriving a fresh stream per step and per sequence means the numbers a step uses do not depend on how many
/// were drawn before it — so a resumed run replays the same batches, and Parallel.For over rows stays
/// deterministic — without saving any generator state.
/// </summary>
public struct TrainingRandom
{
    private ulong _state;

    public TrainingRandom(ulong seed, params ReadOnlySpan<long> stream)
    {
        ulong s = Mix(seed ^ 0x5DEECE66DUL);
        foreach (long id in stream) s = Mix(s ^ Mix((ulong)id + 0x9E3779B97F4A7C15UL));
        _state = s;
    }

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        return Finalize(z);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n), by rejection so every value is equally likely.</summary>
    public int NextInt(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ulong limit = ulong.MaxValue - ulong.MaxValue % (ulong)n;
        ulong x;
        do x = NextUInt64(); while (x >= limit);
        return (int)(x % (ulong)n);
    }

    /// <summary>Standard normal (Box–Muller; one of the pair is discarded to keep the state a single counter).</summary>
    public double NextNormal()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]: log stays finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Mix(ulong z) => Finalize(z + 0x9E3779B97F4A7C15UL);

    private static ulong Finalize(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
