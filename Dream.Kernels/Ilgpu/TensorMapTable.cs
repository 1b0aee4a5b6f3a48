using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The TMA descriptors (CUtensorMap) <see cref="WarpGroupLinear"/> reads its operands through, one per (matrix,
/// box height), and those its staged epilogues write y through (<see cref="OutputAddressOf"/>, bf16 SwiGLU outputs;
/// <see cref="OutputF32AddressOf"/>, f32 stores and residual adds): encoded by the driver on first use, copied once
/// into a device buffer of 128-byte slots, and found again by (device address, rows, columns, box rows, kind) — so a model's weights and its run state's buffers each get a
/// descriptor the first time they are multiplied (an operand's rows = the whole buffer, whatever the call's row
/// count), and every later call, every denoising step included, is a dictionary lookup with no allocation and no
/// copy. The kernel reads a descriptor in global memory by its address. When the table is
/// full it waits for the device (a slot may still be in use by a queued kernel) and starts over, and counts a new
/// <see cref="Generation"/>: a captured graph holds slot addresses, so it is stale once the generation moves on.
/// </summary>
internal sealed class TensorMapTable : IDisposable
{
    /// <summary>Slots: a 7B model needs 28 × 4 + 1 weight descriptors and a few per sequence length for activations.</summary>
    public const int Capacity = 1024;

    private const int SlotWords = CudaDriver.TensorMapBytes / 8;

    private readonly Accelerator _accelerator;
    private readonly AcceleratorStream _stream;
    private readonly MemoryBuffer1D<ulong, Stride1D.Dense> _maps;        // [Capacity, 16] u64: one CUtensorMap per slot
    private readonly long _base;
    private readonly Dictionary<(long Address, long Rows, long Columns, int BoxRows, int Kind), int> _slots = [];

    private const int Operand = 0, Bf16Output = 1, F32Output = 2;
    private readonly ulong[] _scratch = new ulong[SlotWords];

    /// <summary>How many times the table has started over (0 until it first fills).</summary>
    public int Generation { get; private set; }

    /// <param name="stream">The stream the descriptors are copied on: the one the kernels that read them launch on.</param>
    public TensorMapTable(Accelerator accelerator, AcceleratorStream stream)
    {
        _accelerator = accelerator;
        _stream = stream;
        _maps = accelerator.Allocate1D<ulong>((long)Capacity * SlotWords);   // 256-byte aligned: every slot is 64-byte aligned
        _base = Ptx.DeviceAddress<ulong>(_maps.View);
    }

    /// <summary>Device address of the descriptor of the bf16 matrix [rows, columns] at <paramref name="address"/> read in boxes of [boxRows, 64].</summary>
    public long AddressOf(long address, long rows, long columns, int boxRows) => Slot(address, rows, columns, boxRows, Operand);

    /// <summary>
    /// Device address of the descriptor of an epilogue's bf16 output [rows, columns] at <paramref name="address"/>,
    /// written in boxes of [boxRows, 32] (<see cref="CudaDriver.EncodeBf16Output"/>). Its rows are the product's
    /// tokens, so a caller whose token count changes from call to call would fill the table: only products whose
    /// row count stays put for a run (the layers' products) store this way.
    /// </summary>
    public long OutputAddressOf(long address, long rows, long columns, int boxRows) => Slot(address, rows, columns, boxRows, Bf16Output);

    /// <summary>
    /// Device address of the descriptor of an epilogue's f32 output [rows, columns] at <paramref name="address"/>,
    /// written or reduced into in boxes of [boxRows, 16] (<see cref="CudaDriver.EncodeF32Output"/>); rows as for
    /// <see cref="OutputAddressOf"/>.
    /// </summary>
    public long OutputF32AddressOf(long address, long rows, long columns, int boxRows) => Slot(address, rows, columns, boxRows, F32Output);

    private long Slot(long address, long rows, long columns, int boxRows, int kind)
    {
        var key = (address, rows, columns, boxRows, kind);
        if (!_slots.TryGetValue(key, out int slot))
        {
            if (_slots.Count == Capacity)
            {
                _accelerator.Synchronize();
                _slots.Clear();
                Generation++;
            }
            slot = _slots.Count;
            if (kind == Bf16Output) CudaDriver.EncodeBf16Output(_scratch, address, rows, columns, boxRows);
            else if (kind == F32Output) CudaDriver.EncodeF32Output(_scratch, address, rows, columns, boxRows);
            else CudaDriver.EncodeBf16Tiled(_scratch, address, rows, columns, boxRows, WarpGroupLinear.TileIn);
            _maps.View.SubView((long)slot * SlotWords, SlotWords).CopyFromCPU(_stream, _scratch);
            _slots.Add(key, slot);
        }
        return _base + (long)slot * CudaDriver.TensorMapBytes;
    }

    public void Dispose() => _maps.Dispose();
}
