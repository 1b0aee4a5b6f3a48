using System.Numerics;

namespace Dream.Reference;

/// <summary>Token embedding: output[t, :] = table[ids[t], :].</summary>
public static class Embedding
{
    /// <param name="table">[V, D] row-major.</param>
    /// <param name="ids">[T] token ids, each in [0, V).</param>
    /// <param name="output">[T, D] row-major.</param>
    public static void Forward<T>(T[] table, int[] ids, T[] output, int tokens, int dim)
        where T : IFloatingPointIeee754<T>
    {
        for (int t = 0; t < tokens; t++)
            Array.Copy(table, (long)ids[t] * dim, output, (long)t * dim, dim);
    }
}
