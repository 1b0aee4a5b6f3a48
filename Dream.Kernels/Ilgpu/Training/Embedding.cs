using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// Token embedding for training (twin of Dream.Reference.Embedding): forward y[n] = E[ids[n]] (the inference
/// gather kernel), backward dE[v] += Σ_{n: ids[n] = v} dy[n]. The backward has one owner per element of dE — a
/// thread per (v, d) walks the rows holding token v, which the host lists once per batch (<see cref="Index"/>:
/// rows sorted by id, stable) — so it needs no atomics and adds in row order.
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
    public static void Backward(TrainingKernels kernels, ArrayView<int> order, ArrayView<int> starts, ArrayView<float> dOutput, ArrayView<float> dTable,
        int vocab, int dim)
    {
        if (vocab * dim > 0) kernels.EmbeddingBackward(vocab * dim, order, starts, dOutput, dTable, dim);
    }

    internal static void BackwardKernel(Index1D i, ArrayView<int> order, ArrayView<int> starts, ArrayView<float> dOutput, ArrayView<float> dTable, int dim)
    {
        int v = i / dim, d = i - v * dim;
        float sum = 0f;
        for (int j = starts[v]; j < starts[v + 1]; j++) sum += dOutput[(long)order[j] * dim + d];
        dTable[i] += sum;
    }
}
