using System.Reflection;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// Every kernel of the ILGPU trainer, compiled and loaded once for one accelerator and kept in fields (the
/// inference set lives in <see cref="IlgpuKernels"/>; the forward-only gathers and SwiGLU are loaded here again
/// from the same methods). Launch geometry comes from the device's limits: row reductions use G threads, the
/// matrix product G×G (16×16 on a GPU, 4×4 on the CPU simulator's 16-thread groups). Shared memory is static
/// everywhere (ILGPU's OpenCL backend races on dynamic shared memory on PoCL, see docs/kernels.md).
/// Also owns one grow-only scratch buffer the launchers share for partial sums (split-K slices, column chunks).
/// </summary>
public sealed class TrainingKernels : IDisposable
{
    /// <summary>The most threads a row-reduction group uses (static shared arrays are this long).</summary>
    public const int MaxGroupSize = 256;

    public Accelerator Accelerator { get; }
    /// <summary>Threads per group of the row kernels: a power of two.</summary>
    public int ReductionGroupSize { get; }
    /// <summary>Edge G of <see cref="MatMul"/>'s G×G thread group; a block of C is 4G × 4G.</summary>
    public int MatMulTile { get; }
    /// <summary>How many groups a launch should have to fill the device (4 per multiprocessor).</summary>
    public int TargetGroups { get; }
    /// <summary>Groups of the gradient-norm reduction (its partials are read back).</summary>
    public int NormGroups { get; }

    /// <summary>True on CUDA: the tensor-core products take their mma.sync path (elsewhere their portable fallback).</summary>
    public bool IsCuda { get; }

    /// <summary>A one-element buffer passed where a kernel's optional input is absent.</summary>
    public ArrayView<float> Dummy => _dummy.View;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _dummy;
    /// <summary>A one-element bf16 buffer passed where a kernel's optional bf16 output is absent.</summary>
    public ArrayView<ushort> Dummy16 => _dummy16.View;
    private readonly MemoryBuffer1D<ushort, Stride1D.Dense> _dummy16;
    private MemoryBuffer1D<float, Stride1D.Dense> _scratch;

    internal readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, MatMulShape> MatMulKernelLoaded;
    internal readonly Action<KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, GemmShape> TensorCoreGemmLoaded;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<ushort>> CastToBf16;
    internal readonly Action<Index1D, ArrayView<float>, int, int, ArrayView<float>> SumSlices;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> ColumnPartial;
    internal readonly Action<Index1D, ArrayView<float>, int, int, ArrayView<float>> ColumnFinish;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int> EmbeddingForward;
    internal readonly Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int> EmbeddingBackward;
    internal readonly Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int> EmbeddingBackwardPartial;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> EmbeddingBackwardFinish;
    internal readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, float, ArrayView<float>, ArrayView<float>, int> RmsNormForward;
    internal readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> RmsNormBackward;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, ArrayView<ushort>, int> Rotary;
    internal readonly Action<KernelConfig, ArrayView<float>, int, int, float, ArrayView<ushort>, int> Softmax;
    internal readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, float, ArrayView<ushort>, int> SoftmaxBackward;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, int> GroupSum;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> SwiGluForward;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> SwiGluBackward;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<float>> ResidualAdd;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int> RowGatherForward;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int> RowGatherBackward;
    internal readonly Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> CrossEntropyRows;
    internal readonly Action<KernelConfig, ArrayView<float>, int, ArrayView<float>> Total;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWStep> AdamW;
    internal readonly Action<KernelConfig, ArrayView<float>, int, int, ArrayView<float>> SumOfSquares;

    /// <summary>
    /// Threads per group for a kernel that reduces rows of <paramref name="width"/> values (one group per row):
    /// the smallest power of two from 32 that gives each thread at most eight values, at most
    /// <see cref="ReductionGroupSize"/>. Each thread reads every other thread's partial after the barrier, so a
    /// group much wider than the row costs G² shared reads per row — measured on an H200: the attention softmax over
    /// 164 keys at G = 256 took 18 ms per layer; short rows get one warp.
    /// </summary>
    public int RowGroupSize(int width)
    {
        int g = Math.Min(32, ReductionGroupSize);
        while (g * 8 < width && g * 2 <= ReductionGroupSize) g *= 2;
        return g;
    }

    public TrainingKernels(Accelerator accelerator)
    {
        Accelerator = accelerator;
        int limit = Math.Min(accelerator.MaxNumThreadsPerGroup, MaxGroupSize);
        ReductionGroupSize = IlgpuKernels.PowerOfTwoAtMost(limit);
        MatMulTile = Math.Min(MatMul.MaxBlock / 4, IlgpuKernels.PowerOfTwoAtMost((int)Math.Sqrt(limit)));
        TargetGroups = 4 * Math.Max(1, accelerator.NumMultiprocessors);
        NormGroups = Math.Min(1024, TargetGroups);
        IsCuda = accelerator is ILGPU.Runtime.Cuda.CudaAccelerator;
        _dummy = accelerator.Allocate1D<float>(1);
        _dummy16 = accelerator.Allocate1D<ushort>(8);
        _scratch = accelerator.Allocate1D<float>(1);

        var a = accelerator;
        MatMulKernelLoaded = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, MatMulShape>(MatMul.Kernel);
        TensorCoreGemmLoaded = a.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, GemmShape>(TensorCoreGemm.Kernel);
        CastToBf16 = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<ushort>>(Training.CastToBf16.Kernel);
        SumSlices = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, ArrayView<float>>(MatMul.SumSlicesKernel);
        ColumnPartial = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(ColumnSum.PartialKernel);
        ColumnFinish = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, ArrayView<float>>(ColumnSum.FinishKernel);
        EmbeddingForward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int>(Ilgpu.Embedding.KernelF32);
        EmbeddingBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int>(Embedding.BackwardKernel);
        EmbeddingBackwardPartial = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int>(Embedding.BackwardPartialKernel);
        EmbeddingBackwardFinish = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(Embedding.BackwardFinishKernel);
        RmsNormForward = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, float, ArrayView<float>, ArrayView<float>, int>(RmsNorm.ForwardKernel);
        RmsNormBackward = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(RmsNorm.BackwardKernel);
        Rotary = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, ArrayView<ushort>, int>(RotaryEmbedding.Kernel);
        Softmax = a.LoadStreamKernel<ArrayView<float>, int, int, float, ArrayView<ushort>, int>(Attention.SoftmaxKernel);
        SoftmaxBackward = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, float, ArrayView<ushort>, int>(Attention.SoftmaxBackwardKernel);
        GroupSum = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(Attention.GroupSumKernel);
        SwiGluForward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(Ilgpu.SwiGlu.Kernel);
        SwiGluBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(SwiGlu.BackwardKernel);
        ResidualAdd = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(Ilgpu.ResidualAdd.Kernel);
        RowGatherForward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int>(Ilgpu.RowGather.Kernel);
        RowGatherBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int>(RowGather.BackwardKernel);
        CrossEntropyRows = a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(CrossEntropy.Kernel);
        Total = a.LoadStreamKernel<ArrayView<float>, int, ArrayView<float>>(CrossEntropy.TotalKernel);
        AdamW = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWStep>(Training.AdamW.Kernel);
        SumOfSquares = a.LoadStreamKernel<ArrayView<float>, int, int, ArrayView<float>>(GradientClipping.SumOfSquaresKernel);
    }

    /// <summary>
    /// The shared scratch, at least <paramref name="count"/> floats. It only grows (after a synchronise, so no
    /// queued kernel still reads the old buffer); a trainer sizes it once (<see cref="EnsureScratch"/>) so
    /// steady-state steps allocate nothing.
    /// </summary>
    public ArrayView<float> Scratch(long count)
    {
        EnsureScratch(count);
        return _scratch.View.SubView(0, Math.Max(count, 1));
    }

    public void EnsureScratch(long count)
    {
        if (_scratch.Length >= count) return;
        Accelerator.Synchronize();
        _scratch.Dispose();
        _scratch = Accelerator.Allocate1D<float>(count);
    }

    /// <summary>
    /// Every kernel method of Dream.Kernels.Ilgpu.Training with whether it is explicitly grouped — the second
    /// list the device-free PTX/OpenCL compile check walks (a test keeps it in sync with the Kernel* methods).
    /// </summary>
    public static IReadOnlyList<(MethodInfo Method, bool ExplicitlyGrouped)> EntryPoints { get; } =
    [
        (IlgpuKernels.Method(typeof(MatMul), nameof(MatMul.Kernel)), true),
        (IlgpuKernels.Method(typeof(MatMul), nameof(MatMul.SumSlicesKernel)), false),
        (IlgpuKernels.Method(typeof(TensorCoreGemm), nameof(TensorCoreGemm.Kernel)), true),
        (IlgpuKernels.Method(typeof(CastToBf16), nameof(Training.CastToBf16.Kernel)), false),
        (IlgpuKernels.Method(typeof(ColumnSum), nameof(ColumnSum.PartialKernel)), false),
        (IlgpuKernels.Method(typeof(ColumnSum), nameof(ColumnSum.FinishKernel)), false),
        (IlgpuKernels.Method(typeof(Embedding), nameof(Embedding.BackwardKernel)), false),
        (IlgpuKernels.Method(typeof(Embedding), nameof(Embedding.BackwardPartialKernel)), false),
        (IlgpuKernels.Method(typeof(Embedding), nameof(Embedding.BackwardFinishKernel)), false),
        (IlgpuKernels.Method(typeof(RmsNorm), nameof(RmsNorm.ForwardKernel)), true),
        (IlgpuKernels.Method(typeof(RmsNorm), nameof(RmsNorm.BackwardKernel)), true),
        (IlgpuKernels.Method(typeof(RotaryEmbedding), nameof(RotaryEmbedding.Kernel)), false),
        (IlgpuKernels.Method(typeof(Attention), nameof(Attention.SoftmaxKernel)), true),
        (IlgpuKernels.Method(typeof(Attention), nameof(Attention.SoftmaxBackwardKernel)), true),
        (IlgpuKernels.Method(typeof(Attention), nameof(Attention.GroupSumKernel)), false),
        (IlgpuKernels.Method(typeof(SwiGlu), nameof(SwiGlu.BackwardKernel)), false),
        (IlgpuKernels.Method(typeof(RowGather), nameof(RowGather.BackwardKernel)), false),
        (IlgpuKernels.Method(typeof(CrossEntropy), nameof(CrossEntropy.Kernel)), true),
        (IlgpuKernels.Method(typeof(CrossEntropy), nameof(CrossEntropy.TotalKernel)), true),
        (IlgpuKernels.Method(typeof(AdamW), nameof(Training.AdamW.Kernel)), false),
        (IlgpuKernels.Method(typeof(GradientClipping), nameof(GradientClipping.SumOfSquaresKernel)), true),
    ];



    public void Dispose()
    {
        _scratch.Dispose();
        _dummy.Dispose();
        _dummy16.Dispose();
    }
}
