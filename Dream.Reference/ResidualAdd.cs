using System.Numerics;

namespace Dream.Reference;

/// <summary>
/// The residual connection: h = h + delta.
/// Backward: the gradient of h passes through unchanged and dDelta += dH.
/// </summary>
public static class ResidualAdd
{
    /// <param name="h">[T, D], updated in place.</param>
    /// <param name="delta">[T, D].</param>
    public static void Forward<T>(T[] h, T[] delta, int count)
        where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < count; i++) h[i] += delta[i];
    }

    /// <param name="dH">[T, D] gradient of the updated h; it is also the gradient of the old h, so it stays as is.</param>
    /// <param name="dDelta">[T, D] accumulated into (+=).</param>
    public static void Backward<T>(T[] dH, T[] dDelta, int count)
        where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < count; i++) dDelta[i] += dH[i];
    }
}
