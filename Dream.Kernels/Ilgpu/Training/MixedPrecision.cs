using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// What the ILGPU trainer's Linear products multiply in. Parameters, gradients, AdamW moments and every other op
/// stay float32 in both modes (f32 master weights, like torch autocast).
/// </summary>
public enum TrainingPrecision
{
    /// <summary>Every product in float32 on CUDA cores (<see cref="MatMul"/>): the oracle-exact path.</summary>
    Float32 = 0,
    /// <summary>
    /// Linear-layer products on tensor cores (<see cref="TensorCoreGemm"/>): bf16 copies of the weights (once per
    /// step), of each Linear input and of each output gradient, f32 accumulation and f32 results.
    /// </summary>
    BFloat16 = 1,
}

public static class TrainingPrecisions
{
    /// <summary>The command-line names: f32, bf16.</summary>
    public static TrainingPrecision Parse(string name) => name switch
    {
        "f32" or "fp32" or "float32" => TrainingPrecision.Float32,
        "bf16" or "bfloat16" => TrainingPrecision.BFloat16,
        _ => throw new ArgumentException($"unknown precision '{name}': expected f32 or bf16"),
    };

    public static string Name(this TrainingPrecision precision) => precision == TrainingPrecision.BFloat16 ? "bf16" : "f32";
}

/// <summary>float32 → bf16 (round to nearest even), one element per thread: the bf16 operands of the tensor-core products.</summary>
public static class CastToBf16
{
    public static void Run(TrainingKernels kernels, ArrayView<float> source, ArrayView<ushort> target, long count)
    {
        if (count == 0) return;
        kernels.CastToBf16((int)count, source, target);
    }

    internal static void Kernel(Index1D i, ArrayView<float> source, ArrayView<ushort> target) => target[i] = Bf16.FromFloat(source[i]);
}

/// <summary>
/// A Linear layer's three products in mixed precision (twin of <see cref="Linear"/>, which is the float32 path):
/// bf16 operands, f32 accumulation and f32 results, through <see cref="TensorCoreGemm"/> with each operand read in
/// the layout it has:
///   forward          y (+)= x·Wᵀ + b     A = x  [N, In]  KContiguous, B = W [Out, In] KContiguous
///   input gradient   dx (+)= dy·W        A = dy [N, Out] KContiguous, B = W [Out, In] KMajor
///   weight gradient  dW += dyᵀ·x         A = dy [N, Out] KMajor,      B = x [N, In]   KMajor, split along the N rows
///                    db += Σ dy          (float32, <see cref="ColumnSum"/>, from the f32 dy)
/// The split-K slices each write a partial [Out, In] that <see cref="MatMul.SumSlicesKernel"/> adds in slice order
/// (deterministic, no atomics).
/// </summary>
public static class LinearBf16
{
    /// <summary>Smallest K slice of a weight gradient (rows of the batch).</summary>
    public const int MinSliceRows = 512;

    public static void Forward(TrainingKernels kernels, ArrayView<ushort> x, ArrayView<ushort> weight, ArrayView<float> bias, ArrayView<float> y,
        int rows, int inFeatures, int outFeatures, bool accumulate = false)
    {
        var shape = new GemmShape
        {
            M = rows, N = outFeatures, K = inFeatures, ALayout = (int)OperandLayout.KContiguous, BLayout = (int)OperandLayout.KContiguous,
            ARowStride = inFeatures, BRowStride = inFeatures, CRowStride = outFeatures,
            Accumulate = accumulate ? 1 : 0, HasBias = bias.Length > 0 ? 1 : 0,
        };
        TensorCoreGemm.Run(kernels, x, weight, y, bias, shape);
    }

    public static void BackwardInput(TrainingKernels kernels, ArrayView<ushort> dy, ArrayView<ushort> weight, ArrayView<float> dx,
        int rows, int inFeatures, int outFeatures, bool accumulate = true)
    {
        var shape = new GemmShape
        {
            M = rows, N = inFeatures, K = outFeatures, ALayout = (int)OperandLayout.KContiguous, BLayout = (int)OperandLayout.KMajor,
            ARowStride = outFeatures, BRowStride = inFeatures, CRowStride = inFeatures, Accumulate = accumulate ? 1 : 0,
        };
        TensorCoreGemm.Run(kernels, dy, weight, dx, default, shape);
    }

    /// <param name="dyF32">The f32 dy, for the bias gradient (unused without one).</param>
    public static void BackwardWeight(TrainingKernels kernels, ArrayView<ushort> x, ArrayView<ushort> dy, ArrayView<float> dyF32,
        ArrayView<float> dWeight, ArrayView<float> dBias, int rows, int inFeatures, int outFeatures, int? slices = null)
    {
        if (rows == 0) return;
        int count = slices ?? Slices(kernels, rows, inFeatures, outFeatures);
        int sliceRows = (rows + count - 1) / count;
        sliceRows = (sliceRows + TensorCoreGemm.TileK - 1) / TensorCoreGemm.TileK * TensorCoreGemm.TileK;
        count = (rows + sliceRows - 1) / sliceRows;
        var shape = new GemmShape
        {
            M = outFeatures, N = inFeatures, K = count == 1 ? rows : sliceRows, KTotal = count == 1 ? 0 : rows,
            ALayout = (int)OperandLayout.KMajor, BLayout = (int)OperandLayout.KMajor,
            ARowStride = outFeatures, BRowStride = inFeatures, CRowStride = inFeatures,
            ABatchStride = (long)sliceRows * outFeatures, BBatchStride = (long)sliceRows * inFeatures, CBatchStride = (long)outFeatures * inFeatures,
            Accumulate = count == 1 ? 1 : 0,
        };
        if (count == 1)
        {
            TensorCoreGemm.Run(kernels, dy, x, dWeight, default, shape);
        }
        else
        {
            int size = outFeatures * inFeatures;
            var partial = kernels.Scratch((long)count * size);
            TensorCoreGemm.Run(kernels, dy, x, partial, default, shape, count);
            kernels.SumSlices(size, partial, size, count, dWeight);
        }
        if (dBias.Length > 0) ColumnSum.Run(kernels, dyF32, default, default, dBias, rows, outFeatures);
    }

    /// <summary>
    /// K slices for a weight gradient: about two 128-thread groups per multiprocessor in all (what fits beside
    /// each other: 48 KB of shared memory and ~200 registers a thread), slices of at least <see cref="MinSliceRows"/> rows.
    /// </summary>
    public static int Slices(TrainingKernels kernels, int rows, int inFeatures, int outFeatures)
    {
        long blocks = (long)((outFeatures + TensorCoreGemm.Tile - 1) / TensorCoreGemm.Tile) * ((inFeatures + TensorCoreGemm.Tile - 1) / TensorCoreGemm.Tile);
        long target = Math.Max(1, kernels.TargetGroups / 2);
        long wanted = (target + blocks - 1) / blocks;
        return (int)Math.Clamp(wanted, 1, Math.Max(1, rows / MinSliceRows));
    }
}
