using ILGPU;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Token embedding as a gather: output[t, :] = table[ids[t], :] (twin of Dream.Reference.Embedding).
/// One thread per output element, auto-grouped; bf16 tables are widened on the fly.
/// </summary>
public static class Embedding
{
    /// <param name="table">[V, D] f32 or bf16 on the device.</param>
    /// <param name="ids">[T] token ids, each in [0, V).</param>
    /// <param name="output">[T, D].</param>
    public static void Forward(IlgpuKernels kernels, DeviceWeight table, ArrayView<int> ids, ArrayView<float> output, int tokens, int dim)
    {
        int n = tokens * dim;
        if (n == 0) return;
        if (table.IsBf16) kernels.EmbeddingBf16(n, table.Bf16, ids, output, dim);
        else kernels.EmbeddingF32(n, table.F32, ids, output, dim);
    }

    internal static void KernelF32(Index1D i, ArrayView<float> table, ArrayView<int> ids, ArrayView<float> output, int dim)
    {
        int t = i / dim;
        int d = i - t * dim;
        output[i] = table[(long)ids[t] * dim + d];
    }

    internal static void KernelBf16(Index1D i, ArrayView<ushort> table, ArrayView<int> ids, ArrayView<float> output, int dim)
    {
        int t = i / dim;
        int d = i - t * dim;
        output[i] = Bf16.ToFloat(table[(long)ids[t] * dim + d]);
    }
}
