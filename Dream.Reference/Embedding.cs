using System.Numerics;

namespace Dream.Reference;

/// <summary>
/// Token embedding: output[t, :] = table[ids[t], :].
/// Backward: dTable[ids[t], :] += dOutput[t, :] (a row used twice collects both gradients).
/// </summary>
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

    /// <param name="ids">[T] the ids of the forward pass.</param>
    /// <param name="dOutput">[T, D] gradient of the loss with respect to the output.</param>
    /// <param name="dTable">[V, D] accumulated into (+=), as every Backward here does.</param>
    public static void Backward<T>(int[] ids, T[] dOutput, T[] dTable, int tokens, int dim)
        where T : IFloatingPointIeee754<T>
    {
        for (int t = 0; t < tokens; t++)
        for (int i = 0; i < dim; i++)
            dTable[(long)ids[t] * dim + i] += dOutput[t * dim + i];
    }
}
