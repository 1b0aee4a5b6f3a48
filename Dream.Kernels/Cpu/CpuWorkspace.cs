namespace Dream.Kernels.Cpu;

/// <summary>
/// The threads and per-worker scratch every parallel CPU op shares: a <see cref="ParallelBlocks"/> runner and,
/// for each worker, a packed-B block, an edge tile and attention's score rows. Created once per model (or per
/// test); scratch only grows. Not thread-safe: one op runs at a time.
/// </summary>
public sealed unsafe class CpuWorkspace : IDisposable
{
    public sealed class Worker : IDisposable
    {
        public NativeBuffer Pack { get; } = new(Gemm.PackFloats);   // [NCMax/NR][KC][NR]
        public NativeBuffer Tile { get; } = new(Gemm.TileFloats);   // [MR][NR]
        public NativeBuffer Scores { get; } = new();                // attention [rows, T]

        public void Dispose()
        {
            Pack.Dispose();
            Tile.Dispose();
            Scores.Dispose();
        }
    }

    public ParallelBlocks Parallel { get; }
    public Worker[] Workers { get; }

    // Reused job objects, so that running an op allocates nothing of ours.
    internal Linear.Job LinearJob { get; } = new();
    internal Attention.Job AttentionJob { get; } = new();

    /// <param name="workers">threads to use; default one per core.</param>
    public CpuWorkspace(int workers = 0)
    {
        if (workers <= 0) workers = Environment.ProcessorCount;
        Parallel = new ParallelBlocks(workers);
        Workers = Enumerable.Range(0, workers).Select(_ => new Worker()).ToArray();
    }

    public void Dispose()
    {
        foreach (var w in Workers) w.Dispose();
        AttentionJob.Dispose();
    }
}
