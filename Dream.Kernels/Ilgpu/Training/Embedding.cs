using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// Token embedding for training (twin of Dream.Reference.Embedding): forward y[n] = E[ids[n]] (the inference
/// gather kernel), backward dE[v] += Σ_{n: ids[n] = v} dy[n]. The backward has one owner per element of dE — a
/// thread per (v, d) walks the rows holding token v, which the host lists once per batch (<see cref="Index"/>:
/// rows sorted by id, stable) — so it needs no atomics and adds in row order. A small vocabulary makes those walks
/// long (a 16-token Sudoku vocabulary: ~5,000 rows per token at batch 512, 11 ms a step on an H200), so when the
/// scratch allows, the walk is cut into chunks of <see cref="ChunkEntries"/> rows: one thread per (v, chunk, d)
/// adds its chunk, then one per (v, d) adds the chunks in order — still one owner per sum, still row order.
/// </summary>
public static class Embedding
{
    /// <summary>Rows grouped by token id: order [N] (stable), starts [V + 1]. Host side, once per batch.</summary>
    public static void Index(ReadOnlySpan<int> ids, int vocab, Span<int> order, Span<int> starts)
    {
        starts[..(vocab + 1)].Clear();
        foreach (int id in ids) starts[id + 1]++;
        for (int v = 0; v < vocab; v++) starts[v + 1] += starts[v];
        Span<int> next = vocab <= 1024 ? stackalloc int[vocab] : new int[vocab];
        starts[..vocab].CopyTo(next);
        for (int n = 0; n < ids.Length; n++) order[next[ids[n]]++] = n;
    }

    /// <param name="table">[V, D].</param>
    /// <param name="ids">[N].</param>
    /// <param name="output">[N, D].</param>
    public static void Forward(TrainingKernels kernels, ArrayView<float> table, ArrayView<int> ids, ArrayView<float> output, int rows, int dim)
    {
        if (rows * dim > 0) kernels.EmbeddingForward(rows * dim, table, ids, output, dim);
    }

    /// <param name="order">[N] from <see cref="Index"/>.</param>
    /// <param name="starts">[V + 1] from <see cref="Index"/>.</param>
    /// <param name="dOutput">[N, D].</param>
    /// <param name="dTable">[V, D], accumulated (+=).</param>
    /// <param name="longest">The most rows any token holds in this batch (starts[v + 1] − starts[v]).</param>
    public static void Backward(TrainingKernels kernels, ArrayView<int> order, ArrayView<int> starts, ArrayView<float> dOutput, ArrayView<float> dTable,
        int vocab, int dim, int longest)
    {
        if (vocab * dim == 0) return;
        int chunks = (longest + ChunkEntries - 1) / ChunkEntries;
        long scratch = (long)vocab * chunks * dim;
        if (chunks <= 1 || scratch > MaxScratch)
        {
            kernels.EmbeddingBackward(vocab * dim, order, starts, dOutput, dTable, dim);
            return;
        }
        var partial = kernels.Scratch(scratch);
        kernels.EmbeddingBackwardPartial((int)scratch, order, starts, dOutput, partial, dim, chunks);
        kernels.EmbeddingBackwardFinish(vocab * dim, partial, dTable, dim, chunks);
    }

    /// <summary>Rows one thread of the chunked backward adds.</summary>
    public const int ChunkEntries = 256;

    /// <summary>Largest scratch [V, chunks, D] the chunked backward uses; beyond it (large vocabularies, whose walks are
    /// short anyway) the single pass runs.</summary>
    public const long MaxScratch = 16L << 20;

    /// <summary>The scratch floats <see cref="Backward"/> may ask for with <paramref name="rows"/> rows in a batch.</summary>
    public static long ScratchFor(int vocab, int dim, int rows)
    {
        long scratch = (long)vocab * ((rows + ChunkEntries - 1) / ChunkEntries) * dim;
        return scratch <= MaxScratch ? scratch : 0;
    }

    internal static void BackwardPartialKernel(Index1D i, ArrayView<int> order, ArrayView<int> starts, ArrayView<float> dOutput, ArrayView<float> partial,
        int dim, int chunks)
    {
        int vc = i / dim, d = i - vc * dim;
        int v = vc / chunks, c = vc - v * chunks;
        int begin = starts[v] + c * ChunkEntries, end = starts[v + 1];
        if (begin + ChunkEntries < end) end = begin + ChunkEntries;
        float sum = 0f;
        for (int j = begin; j < end; j++) sum += dOutput[(long)order[j] * dim + d];
        partial[i] = sum;
    }

    internal static void BackwardFinishKernel(Index1D i, ArrayView<float> partial, ArrayView<float> dTable, int dim, int chunks)
    {
        int v = i / dim, d = i - v * dim;
        float sum = 0f;
        for (int c = 0; c < chunks; c++) sum += partial[((long)v * chunks + c) * dim + d];
        dTable[i] += sum;
    }

    internal static void BackwardKernel(Index1D i, ArrayView<int> order, ArrayView<int> starts, ArrayView<float> dOutput, ArrayView<float> dTable, int dim)
    {
        int v = i / dim, d = i - v * dim;
        float sum = 0f;
        for (int j = starts[v]; j < starts[v + 1]; j++) sum += dOutput[(long)order[j] * dim + d];
        dTable[i] += sum;
    }
}
