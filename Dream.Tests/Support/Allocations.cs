namespace Dream.Tests.Support;

/// <summary>Measures what a call allocates on the calling thread (the generation loop's "nothing per step" tests).</summary>
internal static class Allocations
{
    /// <summary>
    /// The fewest bytes <paramref name="call"/> allocates on this thread over seven calls, after one warm-up call.
    /// The fewest, because tiered JIT recompiling a hot method mid-call allocates on this thread too (~1 KB, which
    /// says nothing about the code measured); an allocation of the code itself shows in every call. Three calls were
    /// not always enough on a busy 2-core machine: a full CI run here once saw ~1 KB in all three of the 64-step
    /// generations (968 bytes), while the same test alone passed five times in a row.
    /// </summary>
    public static long Fewest(Action call)
    {
        call();
        long fewest = long.MaxValue;
        for (int attempt = 0; attempt < 7; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            call();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}
