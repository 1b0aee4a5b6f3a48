namespace Dream.Kernels.Cpu;

/// <summary>Token embedding: output[t, :] = table[ids[t], :], each row widened from the stored dtype in place.</summary>
public static unsafe class Embedding
{
    /// <param name="table">[V, D], read in place.</param>
    /// <param name="ids">[T] token ids, each in [0, V).</param>
    /// <param name="output">[T, D] row-major.</param>
    public static void Forward(WeightMatrix table, ReadOnlySpan<int> ids, Span<float> output, int tokens, int dim)
    {
        if (table.Columns != dim) throw new ArgumentException($"table has {table.Columns} columns, expected D = {dim}", nameof(table));
        if (ids.Length < tokens || output.Length < (long)tokens * dim) throw new ArgumentException("ids need T entries and output T·D");
        fixed (float* o = output)
        {
            for (int t = 0; t < tokens; t++)
            {
                int id = ids[t];
                if ((uint)id >= (uint)table.Rows) throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} outside [0, {table.Rows})");
                Widen.ToFloat32(table.At(id, 0), table.DType, o + (long)t * dim, dim);
            }
        }
    }
}
