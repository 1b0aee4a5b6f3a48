using System.Numerics;

namespace Dream.Reference;

/// <summary>The residual connection: h = h + delta.</summary>
public static class ResidualAdd
{
    /// <param name="h">[T, D], updated in place.</param>
    /// <param name="delta">[T, D].</param>
    public static void Forward<T>(T[] h, T[] delta, int count)
        where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < count; i++) h[i] += delta[i];
    }
}
