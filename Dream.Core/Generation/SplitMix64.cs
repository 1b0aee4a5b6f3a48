namespace Dream.Core.Generation;

/// <summary>
/// The loop's only source of randomness: SplitMix64 (Steele, Lea and Flood 2014; the constants of Vigna's
/// reference `splitmix64.c`). Chosen because it is tiny, fully specified and passes BigCrush, so a seed means the
/// same stream on every platform and backend. It does not reproduce torch's generator: only the deterministic
/// paths (temperature 0, alg_temp 0, not origin) are comparable with the official code.
/// </summary>
public sealed class SplitMix64
{
    private ulong _state;

    public SplitMix64(ulong seed) => _state = seed;

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 24 random bits: every value is an exact float32, like torch.rand.</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}
