using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// A Hugging Face Linear layer y = x·Wᵀ + b with W stored [out, in] (twin of Dream.Reference.Linear), f32 or bf16
/// weights, f32 accumulation.
///
/// Work decomposition: a group of tile×tile threads owns a block of tile tokens × 4·tile output features; thread
/// (tx, ty) accumulates token ty and features tx, tx + tile, tx + 2·tile, tx + 3·tile in four registers. The
/// block walks `in` in chunks of <see cref="IlgpuKernels.LinearChunk"/>: all threads stage the chunk's x rows
/// [tile, chunk] and W rows [4·tile, chunk] in shared memory (zero-filled past the edges, so any T, in, out
/// work), synchronise, and add chunk products. Each sum runs over `in` in ascending order like the reference;
/// the bias is added once at the end.
/// </summary>
public static class Linear
{
    /// <summary>Output features per thread (hand-unrolled into four registers).</summary>
    public const int FeaturesPerThread = 4;

    /// <param name="x">[T, In].</param>
    /// <param name="weight">[Out, In], f32 or bf16.</param>
    /// <param name="bias">[Out], or null for layers without bias.</param>
    /// <param name="y">[T, Out].</param>
    public static void Forward(IlgpuKernels kernels, ArrayView<float> x, DeviceWeight weight, ArrayView<float>? bias, ArrayView<float> y, int tokens, int inFeatures, int outFeatures)
    {
        if (tokens == 0 || outFeatures == 0) return;
        int tile = kernels.LinearTile, chunk = kernels.LinearChunk, block = FeaturesPerThread * tile;
        var config = new KernelConfig(
            new Index2D((outFeatures + block - 1) / block, (tokens + tile - 1) / tile),
            new Index2D(tile, tile));
        var b = bias ?? kernels.Dummy;
        int hasBias = bias is null ? 0 : 1;
        if (weight.IsBf16) kernels.LinearBf16(config, x, weight.Bf16, b, hasBias, y, tokens, inFeatures, outFeatures, chunk);
        else kernels.LinearF32(config, x, weight.F32, b, hasBias, y, tokens, inFeatures, outFeatures, chunk);
    }

    internal static void KernelF32(ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, int hasBias, ArrayView<float> y,
        int tokens, int inFeatures, int outFeatures, int chunk) =>
        Block(x, new F32Rows(weight), bias, hasBias, y, tokens, inFeatures, outFeatures, chunk);

    internal static void KernelBf16(ArrayView<float> x, ArrayView<ushort> weight, ArrayView<float> bias, int hasBias, ArrayView<float> y,
        int tokens, int inFeatures, int outFeatures, int chunk) =>
        Block(x, new Bf16Rows(weight), bias, hasBias, y, tokens, inFeatures, outFeatures, chunk);

    /// <summary>Reads one weight element as float32, whatever the storage.</summary>
    private interface IWeightRows
    {
        float Load(long index);
    }

    private readonly struct F32Rows(ArrayView<float> w) : IWeightRows
    {
        public float Load(long index) => w[index];
    }

    private readonly struct Bf16Rows(ArrayView<ushort> w) : IWeightRows
    {
        public float Load(long index) => Bf16.ToFloat(w[index]);
    }

    private static void Block<TWeight>(ArrayView<float> x, TWeight weight, ArrayView<float> bias, int hasBias, ArrayView<float> y,
        int tokens, int inFeatures, int outFeatures, int chunk) where TWeight : struct, IWeightRows
    {
        int tile = Group.DimX;
        int block = FeaturesPerThread * tile;
        int tx = Group.IdxX, ty = Group.IdxY;
        int threads = tile * tile, lane = ty * tile + tx;
        int t0 = Grid.IdxY * tile, o0 = Grid.IdxX * block;
        var xs = SharedMemory.Allocate<float>(IlgpuKernels.LinearStage);                     // [tile tokens, chunk]
        var ws = SharedMemory.Allocate<float>(FeaturesPerThread * IlgpuKernels.LinearStage); // [block features, chunk]

        float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f;
        for (int k0 = 0; k0 < inFeatures; k0 += chunk)
        {
            int width = inFeatures - k0 < chunk ? inFeatures - k0 : chunk;
            for (int e = lane; e < tile * chunk; e += threads)
            {
                int r = e / chunk, kk = e - r * chunk;
                xs[e] = t0 + r < tokens && kk < width ? x[(long)(t0 + r) * inFeatures + k0 + kk] : 0f;
            }
            for (int e = lane; e < block * chunk; e += threads)
            {
                int r = e / chunk, kk = e - r * chunk;
                ws[e] = o0 + r < outFeatures && kk < width ? weight.Load((long)(o0 + r) * inFeatures + k0 + kk) : 0f;
            }
            Group.Barrier();
            int xBase = ty * chunk;
            for (int kk = 0; kk < width; kk++)
            {
                float xv = xs[xBase + kk];
                a0 += xv * ws[tx * chunk + kk];
                a1 += xv * ws[(tx + tile) * chunk + kk];
                a2 += xv * ws[(tx + 2 * tile) * chunk + kk];
                a3 += xv * ws[(tx + 3 * tile) * chunk + kk];
            }
            Group.Barrier();
        }

        int t = t0 + ty;
        if (t >= tokens) return;
        long row = (long)t * outFeatures;
        Store(y, bias, hasBias, row, o0 + tx, outFeatures, a0);
        Store(y, bias, hasBias, row, o0 + tx + tile, outFeatures, a1);
        Store(y, bias, hasBias, row, o0 + tx + 2 * tile, outFeatures, a2);
        Store(y, bias, hasBias, row, o0 + tx + 3 * tile, outFeatures, a3);
    }

    private static void Store(ArrayView<float> y, ArrayView<float> bias, int hasBias, long row, int o, int outFeatures, float sum)
    {
        if (o < outFeatures) y[row + o] = hasBias != 0 ? sum + bias[o] : sum;
    }
}
