namespace Dream.Kernels.Cpu;

/// <summary>One unit of parallel work: block <c>block</c> of a job, run by worker <c>worker</c> (0..Workers−1),
/// which owns that worker's scratch memory for the duration of the call.</summary>
public interface IBlockJob
{
    void Execute(int block, int worker);
}

/// <summary>
/// Runs a job's blocks over <see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/> — the only
/// source of threads in this backend. Parallel.For is asked for one iteration per worker, and each worker pulls
/// blocks from a shared counter until none are left: blocks are balanced dynamically (a neighbour process stealing
/// a core only slows one worker), and a block always knows which worker's scratch it may use, without locks.
/// The delegate is created once, so a call allocates only Parallel.For's own bookkeeping.
/// </summary>
public sealed class ParallelBlocks
{
    private readonly ParallelOptions _options;
    private readonly Action<int> _body;
    private IBlockJob? _job;
    private int _blockCount;
    private int _next;

    public int Workers { get; }

    public ParallelBlocks(int workers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        Workers = workers;
        _options = new ParallelOptions { MaxDegreeOfParallelism = workers };
        _body = Work;
    }

    /// <summary>Runs blocks 0..blockCount−1 of <paramref name="job"/>; returns when all are done.</summary>
    public void Run(IBlockJob job, int blockCount)
    {
        if (blockCount <= 0) return;
        if (Workers == 1 || blockCount == 1)
        {
            for (int b = 0; b < blockCount; b++) job.Execute(b, 0);
            return;
        }
        if (_job is not null) throw new InvalidOperationException("ParallelBlocks does not nest: a job is already running");
        _job = job;
        _blockCount = blockCount;
        _next = 0;
        try
        {
            Parallel.For(0, Math.Min(Workers, blockCount), _options, _body);
        }
        finally
        {
            _job = null;
        }
    }

    private void Work(int worker)
    {
        var job = _job!;
        int block;
        while ((block = Interlocked.Increment(ref _next) - 1) < _blockCount) job.Execute(block, worker);
    }
}
