using System.Reflection;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Every kernel of the ILGPU backend, compiled and loaded once for one accelerator and kept in fields; the
/// op classes (<see cref="Embedding"/>, <see cref="Linear"/>, ...) launch them. Nothing is compiled inside a
/// forward call. Element-wise kernels are auto-grouped; row reductions and tiles use explicit groups sized from
/// the accelerator's limits (the CPU simulator allows 16 threads, a GPU 1024; we use at most 256).
/// </summary>
public sealed class IlgpuKernels : IDisposable
{
    // Shared memory is allocated statically, with these compile-time sizes: ILGPU 1.5.3's OpenCL backend keeps
    // the pointer to *dynamic* shared memory in a program-scope variable that concurrently running work-groups
    // overwrite — harmless on a GPU, where every group sees the same local address, but a race on CPU OpenCL
    // devices such as PoCL (measured: wrong attention outputs).

    /// <summary>The most threads any explicitly grouped kernel uses (static shared arrays are this long).</summary>
    public const int MaxGroupSize = 256;

    /// <summary>Longest sequence <see cref="Attention"/> takes: its scores live in shared memory (32 KB).</summary>
    public const int MaxAttentionTokens = 8192;

    /// <summary>Floats of x that <see cref="Linear"/> stages per step (tile·chunk); W takes four times as many.</summary>
    public const int LinearStage = 1024;

    public Accelerator Accelerator { get; }

    /// <summary>
    /// The stream every kernel and every copy of a forward pass goes on. On CUDA a stream of our own, created
    /// blocking (CU_STREAM_DEFAULT): the accelerator's default stream is the legacy NULL stream, which a CUDA graph
    /// cannot capture (<see cref="CudaGraph"/>), and a blocking stream stays ordered with whatever still uses that
    /// default stream (ILGPU's synchronous uploads, the tests' copies). Elsewhere the accelerator's default stream.
    /// </summary>
    public AcceleratorStream Stream { get; }
    private readonly AcceleratorStream? _ownedStream;

    /// <summary>Threads per group of the row kernels (RmsNorm, Attention, sampling): a power of two.</summary>
    public int ReductionGroupSize { get; }

    /// <summary>Edge of <see cref="Linear"/>'s square thread group (LinearTile² threads): a power of two.</summary>
    public int LinearTile { get; }

    /// <summary>How much of the `in` axis <see cref="Linear"/> stages in shared memory per step.</summary>
    public int LinearChunk { get; }

    /// <summary>A one-element buffer passed where a kernel's optional input is absent (no bias).</summary>
    public ArrayView<float> Dummy => _dummy.View;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _dummy;

    /// <summary>The bf16 counterpart of <see cref="Dummy"/>.</summary>
    public ArrayView<ushort> DummyBf16 => _dummyBf16.View;
    private readonly MemoryBuffer1D<ushort, Stride1D.Dense> _dummyBf16;

    /// <summary>True on a CUDA accelerator, where the inline-PTX fast paths run (elsewhere their fallbacks).</summary>
    public bool IsCuda { get; }

    /// <summary>The Hopper (wgmma) linear kernel on an H100/H200, which <see cref="Ilgpu.TensorCoreLinear.Forward"/> prefers; null elsewhere or when turned off.</summary>
    public WarpGroupLinear? WarpGroupLinear { get; }

    internal readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int> EmbeddingF32;
    internal readonly Action<Index1D, ArrayView<ushort>, ArrayView<int>, ArrayView<float>, int> EmbeddingBf16;
    internal readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, float, ArrayView<float>, int> RmsNorm;
    internal readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, float, ArrayView<ushort>, int> RmsNormToBf16;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<ushort>, int, int, int> RotaryEmbeddingToBf16;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<ushort>, int, int, int> RotaryEmbeddingToBf16Quads;
    internal readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, int, int, int, int> LinearF32;
    internal readonly Action<KernelConfig, ArrayView<float>, ArrayView<ushort>, ArrayView<float>, int, ArrayView<float>, int, int, int, int> LinearBf16;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> RotaryEmbedding;
    internal readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int, float> Attention;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> SwiGlu;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<float>> ResidualAdd;
    internal readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int> RowGather;
    internal readonly Action<KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, int, int, ArrayView<float>, ArrayView<ushort>, long, long, int, int, int, int> TensorCoreLinear;
    internal readonly Action<Index1D, ArrayView<float>, int, ArrayView<float>, int, int, ArrayView<float>, ArrayView<ushort>, int, int, int> TensorCoreLinearReduce;
    internal readonly Action<KernelConfig, ArrayView<float>, SamplingSettings, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>> TokenSampler;
    internal readonly Action<KernelConfig, ArrayView<float>, SamplingSettings, ArrayView<float>, ArrayView<uint>, ArrayView<int>, TokenSampler.ChunkShape> TokenSamplerChunkLargest, TokenSamplerChunkMass, TokenSamplerChunkEntropy;
    internal readonly Action<KernelConfig, ArrayView<float>, SamplingSettings, ArrayView<float>, ArrayView<uint>, ArrayView<int>, TokenSampler.ChunkShape, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>> TokenSamplerChunkFinish;
    internal readonly Action<KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>> PositionSelector;

    /// <param name="accelerator">The device the kernels are compiled for.</param>
    /// <param name="maxGroupSize">Upper bound on threads per explicit group (at most the device's own limit and <see cref="MaxGroupSize"/>).</param>
    /// <param name="warpGroupMma">Load <see cref="Ilgpu.WarpGroupLinear"/> where the device supports it (false: mma.sync everywhere, for comparisons).</param>
    public IlgpuKernels(Accelerator accelerator, int maxGroupSize = MaxGroupSize, bool warpGroupMma = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxGroupSize, 1);
        Accelerator = accelerator;
        int limit = Math.Min(Math.Min(accelerator.MaxNumThreadsPerGroup, maxGroupSize), MaxGroupSize);
        ReductionGroupSize = PowerOfTwoAtMost(limit);
        LinearTile = PowerOfTwoAtMost((int)Math.Sqrt(limit));
        // tile·chunk = LinearStage: chunk 64 for 16×16 groups, 256 for the simulator's 4×4 groups — fewer chunks,
        // fewer barriers, which the simulator pays for.
        LinearChunk = LinearStage / LinearTile;
        _dummy = accelerator.Allocate1D<float>(1);
        _dummyBf16 = accelerator.Allocate1D<ushort>(1);
        IsCuda = accelerator is ILGPU.Runtime.Cuda.CudaAccelerator;
        if (accelerator is ILGPU.Runtime.Cuda.CudaAccelerator cuda)
            Stream = _ownedStream = cuda.CreateStream(ILGPU.Runtime.Cuda.StreamFlags.CU_STREAM_DEFAULT);
        else
            Stream = accelerator.DefaultStream;

        EmbeddingF32 = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int>(Ilgpu.Embedding.KernelF32).On(Stream);
        EmbeddingBf16 = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<ushort>, ArrayView<int>, ArrayView<float>, int>(Ilgpu.Embedding.KernelBf16).On(Stream);
        RmsNorm = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, float, ArrayView<float>, int>(Ilgpu.RmsNorm.Kernel).On(Stream);
        RmsNormToBf16 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, float, ArrayView<ushort>, int>(Ilgpu.RmsNorm.KernelToBf16).On(Stream);
        RotaryEmbeddingToBf16 = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<ushort>, int, int, int>(Ilgpu.RotaryEmbedding.KernelToBf16).On(Stream);
        RotaryEmbeddingToBf16Quads = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<ushort>, int, int, int>(Ilgpu.RotaryEmbedding.KernelToBf16Quads).On(Stream);
        LinearF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, int, int, int, int>(Ilgpu.Linear.KernelF32).On(Stream);
        LinearBf16 = accelerator.LoadKernel<ArrayView<float>, ArrayView<ushort>, ArrayView<float>, int, ArrayView<float>, int, int, int, int>(Ilgpu.Linear.KernelBf16).On(Stream);
        RotaryEmbedding = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(Ilgpu.RotaryEmbedding.Kernel).On(Stream);
        Attention = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int, float>(Ilgpu.Attention.Kernel).On(Stream);
        SwiGlu = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(Ilgpu.SwiGlu.Kernel).On(Stream);
        ResidualAdd = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>>(Ilgpu.ResidualAdd.Kernel).On(Stream);
        RowGather = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int>(Ilgpu.RowGather.Kernel).On(Stream);
        TensorCoreLinear = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, int, int, ArrayView<float>, ArrayView<ushort>, long, long, int, int, int, int>(Ilgpu.TensorCoreLinear.Kernel).On(Stream);
        TensorCoreLinearReduce = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, int, ArrayView<float>, int, int, ArrayView<float>, ArrayView<ushort>, int, int, int>(Ilgpu.TensorCoreLinear.KernelReduce).On(Stream);
        TokenSampler = accelerator.LoadKernel<ArrayView<float>, SamplingSettings, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>>(Ilgpu.TokenSampler.Kernel).On(Stream);
        TokenSamplerChunkLargest = accelerator.LoadKernel<ArrayView<float>, SamplingSettings, ArrayView<float>, ArrayView<uint>, ArrayView<int>, TokenSampler.ChunkShape>(Ilgpu.TokenSampler.KernelChunkLargest).On(Stream);
        TokenSamplerChunkMass = accelerator.LoadKernel<ArrayView<float>, SamplingSettings, ArrayView<float>, ArrayView<uint>, ArrayView<int>, TokenSampler.ChunkShape>(Ilgpu.TokenSampler.KernelChunkMass).On(Stream);
        TokenSamplerChunkEntropy = accelerator.LoadKernel<ArrayView<float>, SamplingSettings, ArrayView<float>, ArrayView<uint>, ArrayView<int>, TokenSampler.ChunkShape>(Ilgpu.TokenSampler.KernelChunkEntropy).On(Stream);
        TokenSamplerChunkFinish = accelerator.LoadKernel<ArrayView<float>, SamplingSettings, ArrayView<float>, ArrayView<uint>, ArrayView<int>, TokenSampler.ChunkShape, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>>(Ilgpu.TokenSampler.KernelChunkFinish).On(Stream);
        PositionSelector = accelerator.LoadKernel<ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>>(Ilgpu.PositionSelector.Kernel).On(Stream);
        if (warpGroupMma && Ilgpu.WarpGroupLinear.IsSupported(accelerator)) WarpGroupLinear = new WarpGroupLinear(accelerator, Stream);
    }

    /// <summary>
    /// Every kernel method with whether it is explicitly grouped — the list the device-free PTX/OpenCL compile
    /// check walks (a test keeps it in sync with the kernel methods that exist).
    /// </summary>
    public static IReadOnlyList<(MethodInfo Method, bool ExplicitlyGrouped)> EntryPoints { get; } =
    [
        (Method(typeof(Embedding), nameof(Ilgpu.Embedding.KernelF32)), false),
        (Method(typeof(Embedding), nameof(Ilgpu.Embedding.KernelBf16)), false),
        (Method(typeof(RmsNorm), nameof(Ilgpu.RmsNorm.Kernel)), true),
        (Method(typeof(RmsNorm), nameof(Ilgpu.RmsNorm.KernelToBf16)), true),
        (Method(typeof(RotaryEmbedding), nameof(Ilgpu.RotaryEmbedding.KernelToBf16)), false),
        (Method(typeof(RotaryEmbedding), nameof(Ilgpu.RotaryEmbedding.KernelToBf16Quads)), false),
        (Method(typeof(Linear), nameof(Ilgpu.Linear.KernelF32)), true),
        (Method(typeof(Linear), nameof(Ilgpu.Linear.KernelBf16)), true),
        (Method(typeof(RotaryEmbedding), nameof(Ilgpu.RotaryEmbedding.Kernel)), false),
        (Method(typeof(Attention), nameof(Ilgpu.Attention.Kernel)), true),
        (Method(typeof(SwiGlu), nameof(Ilgpu.SwiGlu.Kernel)), false),
        (Method(typeof(ResidualAdd), nameof(Ilgpu.ResidualAdd.Kernel)), false),
        (Method(typeof(RowGather), nameof(Ilgpu.RowGather.Kernel)), false),
        (Method(typeof(TensorCoreLinear), nameof(Ilgpu.TensorCoreLinear.Kernel)), true),
        (Method(typeof(TensorCoreLinear), nameof(Ilgpu.TensorCoreLinear.KernelReduce)), false),
        (Method(typeof(TokenSampler), nameof(Ilgpu.TokenSampler.Kernel)), true),
        (Method(typeof(TokenSampler), nameof(Ilgpu.TokenSampler.KernelChunkLargest)), true),
        (Method(typeof(TokenSampler), nameof(Ilgpu.TokenSampler.KernelChunkMass)), true),
        (Method(typeof(TokenSampler), nameof(Ilgpu.TokenSampler.KernelChunkEntropy)), true),
        (Method(typeof(TokenSampler), nameof(Ilgpu.TokenSampler.KernelChunkFinish)), true),
        (Method(typeof(PositionSelector), nameof(Ilgpu.PositionSelector.Kernel)), true),
    ];

    /// <summary>A kernel method by name, for the entry-point lists.</summary>
    internal static MethodInfo Method(Type type, string name) =>
        type.GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
        ?? throw new MissingMethodException(type.FullName, name);

    /// <summary>The largest power of two not above <paramref name="n"/> (group sizes from a device's limits).</summary>
    internal static int PowerOfTwoAtMost(int n)
    {
        int p = 1;
        while (p * 2 <= n) p *= 2;
        return p;
    }

    public void Dispose()
    {
        WarpGroupLinear?.Dispose();
        _dummy.Dispose();
        _dummyBf16.Dispose();
        _ownedStream?.Dispose();
    }
}
