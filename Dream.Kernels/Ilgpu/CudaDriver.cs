using System.Runtime.InteropServices;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The CUDA driver calls that ILGPU 1.5.3 does not wrap — two for the Hopper kernels (shared-memory limit, TMA
/// descriptors), the rest for <see cref="CudaGraph"/> — made directly on the driver library ILGPU itself loads
/// (libcuda; nothing else native). They act on the calling thread's current context, which is the accelerator's
/// (ILGPU binds it when the accelerator is created on this thread).
/// </summary>
internal static partial class CudaDriver
{
    private const string Library = "libcuda.so.1";

    /// <summary>Bytes of a CUtensorMap (the driver's opaque TMA descriptor); the device copy must be 64-byte aligned.</summary>
    public const int TensorMapBytes = 128;

    /// <summary>`cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes)`: allows a launch above 48 KB.</summary>
    public static void SetMaxDynamicSharedMemory(nint function, int bytes)
    {
        const int MaxDynamicSharedSizeBytes = 8;
        int status = cuFuncSetAttribute(function, MaxDynamicSharedSizeBytes, bytes);
        if (status != 0)
            throw new InvalidOperationException($"cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES, {bytes}) failed with CUDA error {status}");
    }

    /// <summary>
    /// Encodes a TMA descriptor for a row-major bf16 matrix [rows, columns] at device address
    /// <paramref name="address"/>, read in boxes of [boxRows, boxColumns] with the 128-byte swizzle wgmma expects;
    /// rows past the end read as zeros. Writes the 128 opaque bytes into <paramref name="map"/>.
    /// </summary>
    public static void EncodeBf16Tiled(Span<ulong> map, long address, long rows, long columns, int boxRows, int boxColumns) =>
        EncodeBf16(map, address, rows, columns, boxRows, boxColumns, Swizzle128B);

    /// <summary>
    /// Encodes a TMA descriptor for an epilogue's bf16 output [rows, columns], written in boxes of [boxRows, 32]
    /// staged in the 64-byte swizzle (16-byte chunk c of staged row r at r·64 + 16·(c ⊕ (r/2 mod 4))): a box store
    /// writes only the elements inside [rows, columns], so the descriptor's rows are the call's, not the buffer's.
    /// </summary>
    public static void EncodeBf16Output(Span<ulong> map, long address, long rows, long columns, int boxRows) =>
        EncodeBf16(map, address, rows, columns, boxRows, OutputBoxColumns, Swizzle64B);

    /// <summary>
    /// Encodes a TMA descriptor for an epilogue's f32 output [rows, columns] (columns a multiple of 4), written — or
    /// reduced into, for a residual add — in boxes of [boxRows, 16] staged in the 64-byte swizzle; as for
    /// <see cref="EncodeBf16Output"/>, only elements inside [rows, columns] are touched.
    /// </summary>
    public static void EncodeF32Output(Span<ulong> map, long address, long rows, long columns, int boxRows) =>
        Encode(map, Float32, 4, address, rows, columns, boxRows, OutputF32BoxColumns, Swizzle64B);

    /// <summary>Columns of an output box: 32 bf16, one 64-byte swizzle row.</summary>
    public const int OutputBoxColumns = 32;

    /// <summary>Columns of an f32 output box: 16 floats, one 64-byte swizzle row — one register block's columns.</summary>
    public const int OutputF32BoxColumns = 16;

    private const int Swizzle64B = 2, Swizzle128B = 3, Bfloat16 = 9, Float32 = 7;

    private static void EncodeBf16(Span<ulong> map, long address, long rows, long columns, int boxRows, int boxColumns, int swizzle) =>
        Encode(map, Bfloat16, 2, address, rows, columns, boxRows, boxColumns, swizzle);

    private static unsafe void Encode(Span<ulong> map, int dataType, int elementBytes, long address, long rows, long columns, int boxRows, int boxColumns, int swizzle)
    {
        if (map.Length * 8 != TensorMapBytes) throw new ArgumentException($"a tensor map is {TensorMapBytes} bytes", nameof(map));
        const int InterleaveNone = 0, L2Promotion256B = 3, OutOfBoundsZero = 0;
        ulong* dims = stackalloc ulong[] { (ulong)columns, (ulong)rows };          // innermost first
        ulong* strides = stackalloc ulong[] { (ulong)(columns * elementBytes) };   // bytes between rows
        uint* box = stackalloc uint[] { (uint)boxColumns, (uint)boxRows };
        uint* elementStrides = stackalloc uint[] { 1, 1 };
        // CUtensorMap is declared 64-byte aligned: encode into an aligned scratch, then copy out.
        byte* scratch = stackalloc byte[TensorMapBytes + 64];
        byte* aligned = (byte*)(((nint)scratch + 63) & ~(nint)63);
        int status = cuTensorMapEncodeTiled(aligned, dataType, 2, (void*)address, dims, strides, box, elementStrides,
            InterleaveNone, swizzle, L2Promotion256B, OutOfBoundsZero);
        if (status != 0)
            throw new InvalidOperationException($"cuTensorMapEncodeTiled({(dataType == Float32 ? "f32" : "bf16")} [{rows}, {columns}] at 0x{address:x}, box [{boxRows}, {boxColumns}]) failed with CUDA error {status}");
        new ReadOnlySpan<ulong>(aligned, TensorMapBytes / 8).CopyTo(map);
    }

    /// <summary>Throws, naming the call, when a driver call returned an error.</summary>
    public static void Check(int status, string call)
    {
        if (status != 0) throw new InvalidOperationException($"{call} failed with CUDA error {status}");
    }

    /// <summary>CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: a call on this thread that cannot be recorded fails the capture.</summary>
    public const int CaptureThreadLocal = 1;

    [LibraryImport(Library)]
    public static partial int cuStreamBeginCapture_v2(nint stream, int mode);

    [LibraryImport(Library)]
    public static partial int cuStreamEndCapture(nint stream, out nint graph);

    [LibraryImport(Library)]
    public static unsafe partial int cuGraphGetNodes(nint graph, nint* nodes, ref nuint count);

    [LibraryImport(Library)]
    public static partial int cuGraphInstantiateWithFlags(out nint exec, nint graph, ulong flags);

    [LibraryImport(Library)]
    public static partial int cuGraphLaunch(nint exec, nint stream);

    [LibraryImport(Library)]
    public static partial int cuGraphExecDestroy(nint exec);

    [LibraryImport(Library)]
    public static partial int cuGraphDestroy(nint graph);

    [LibraryImport(Library)]
    private static partial int cuFuncSetAttribute(nint function, int attribute, int value);

    [LibraryImport(Library)]
    private static unsafe partial int cuTensorMapEncodeTiled(void* tensorMap, int dataType, uint rank, void* globalAddress, ulong* globalDim,
        ulong* globalStrides, uint* boxDim, uint* elementStrides, int interleave, int swizzle, int l2Promotion, int oobFill);
}
