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

    /// <summary>Most bytes 60 more denoising steps may allocate in the "nothing per step" tests: under one small object a step.</summary>
    public const long SixtyStepBound = 512;

    /// <summary>
    /// How many more bytes a generation of 64 steps allocates than one of 4 (<paramref name="generate"/> takes the
    /// step count): the cost of 60 steps, whatever the call's set-up costs. One long run first, so tiered compilation
    /// has promoted every per-step method before anything is measured. Promotion happens on a background thread when
    /// it happens: until it has, a long call can still allocate a few hundred bytes to a kilobyte in the runtime (CI
    /// saw 608 bytes for one configuration and 968 for another, and 0 in the run before, same code). A real per-step
    /// allocation shows in every attempt (60 steps of even one small object come to well over half a kilobyte), so
    /// the comparison is retried up to four times, a moment apart (until one comes under <see cref="SixtyStepBound"/>),
    /// and the least difference is returned.
    /// </summary>
    public static long ForSixtyMoreSteps(Action<int> generate)
    {
        Fewest(() => generate(64));
        long least = long.MaxValue;
        for (int attempt = 0; attempt < 4; attempt++)
        {
            long few = Fewest(() => generate(4)), many = Fewest(() => generate(64));
            least = Math.Min(least, many - few);
            if (least < SixtyStepBound) break;
            Thread.Sleep(250);
        }
        return least;
    }
}
