namespace Dream.Tests.Support;

/// <summary>Measures what a call allocates on the calling thread (the generation loop's "nothing per step" tests).</summary>
internal static class Allocations
{
    /// <summary>
    /// The fewest bytes <paramref name="call"/> allocates on this thread over three calls, after one warm-up call.
    /// The fewest, because tiered JIT recompiling a hot method mid-call allocates on this thread too (seen once in CI
    /// as ~1 KB), which says nothing about the code measured.
    /// </summary>
    public static long Fewest(Action call)
    {
        call();
        long fewest = long.MaxValue;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            call();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}
