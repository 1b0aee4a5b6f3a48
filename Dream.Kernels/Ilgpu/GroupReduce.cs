using ILGPU;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Whole-group reductions for the row kernels, portable to every ILGPU backend (no warp shuffles, which compile
/// on OpenCL only for Intel devices): each thread writes its partial into a static shared array of G entries, one
/// barrier, then every thread reads all G partials in thread order — so every thread gets the same bits — and a
/// second barrier lets the caller reuse the array at once. Call from group-uniform control flow only.
/// </summary>
internal static class GroupReduce
{
    /// <param name="scratch">[G] shared.</param>
    public static float Sum(ArrayView<float> scratch, float value)
    {
        scratch[Group.IdxX] = value;
        Group.Barrier();
        float total = 0f;
        for (int i = 0; i < Group.DimX; i++) total += scratch[i];
        Group.Barrier();
        return total;
    }

    /// <summary>
    /// The group's sum added pairwise (a tree over thread indices: G a power of two), for kernels whose result only
    /// needs to be the same in every thread and every group that sums the same values — log₂G barriers where
    /// <see cref="Sum(ArrayView{float}, float)"/> has every thread read all G partials.
    /// </summary>
    /// <param name="scratch">[G] shared.</param>
    public static float PairwiseSum(ArrayView<float> scratch, float value)
    {
        int tid = Group.IdxX;
        scratch[tid] = value;
        Group.Barrier();
        for (int s = Group.DimX >> 1; s > 0; s >>= 1)
        {
            if (tid < s) scratch[tid] += scratch[tid + s];
            Group.Barrier();
        }
        float total = scratch[0];
        Group.Barrier();
        return total;
    }

    /// <param name="scratch">[G] shared.</param>
    public static int Sum(ArrayView<int> scratch, int value)
    {
        scratch[Group.IdxX] = value;
        Group.Barrier();
        int total = 0;
        for (int i = 0; i < Group.DimX; i++) total += scratch[i];
        Group.Barrier();
        return total;
    }

    /// <summary>The largest value over the group (NaN if any thread's is, as MathF.Max).</summary>
    /// <param name="scratch">[G] shared.</param>
    public static float Max(ArrayView<float> scratch, float value)
    {
        scratch[Group.IdxX] = value;
        Group.Barrier();
        float best = scratch[0];
        for (int i = 1; i < Group.DimX; i++) best = MathF.Max(best, scratch[i]);
        Group.Barrier();
        return best;
    }

    /// <summary>The largest value over the group.</summary>
    /// <param name="scratch">[G] shared.</param>
    public static int Max(ArrayView<int> scratch, int value)
    {
        scratch[Group.IdxX] = value;
        Group.Barrier();
        int best = scratch[0];
        for (int i = 1; i < Group.DimX; i++) if (scratch[i] > best) best = scratch[i];
        Group.Barrier();
        return best;
    }
}
