using Dream.Core.Model;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The activation buffers of <see cref="TensorCoreModel"/> for one (batch, length), allocated once and reused by
/// every forward pass. N = B·T, W = (H + 2·Hkv)·Dh (the fused QKV width). The residual stream stays f32; every
/// product's input is bf16, rounded once where it is made. The inputs (ids, pad mask, RoPE tables) are uploaded
/// by <see cref="IlgpuInputs"/>, as for the portable model.
/// </summary>
public sealed class TensorCoreRunState : IDisposable
{
    private readonly DeviceBuffers _buffers;

    /// <summary>
    /// Most rows one lm_head product takes (the logits buffer is [this, V] f32: 623 MB for Dream 7B). Larger than the
    /// portable model's <see cref="IlgpuRunState.MaxRowChunk"/>: the product reads the 1.1 GB lm_head weight once per
    /// chunk, so at 2048 tokens eight chunks of 256 rows took 3.9 ms where two of 1024 take less (docs/benchmarks.md).
    /// </summary>
    public const int MaxRowChunk = 1024;

    public int Batch { get; }
    public int Length { get; }
    public int RowCapacity { get; }

    /// <summary>Ids [N], pad mask [N] and the RoPE tables [N, Dh/2].</summary>
    public IlgpuInputs Inputs { get; }

    public ArrayView<float> H { get; }          // [N, D] f32 residual stream
    public ArrayView<ushort> A { get; }         // [N, D] bf16 normed
    public ArrayView<float> Qkv { get; }        // [N, W] f32 q | k | v (+ bias), before RoPE
    public ArrayView<ushort> QkvBf16 { get; }   // [N, W] bf16 after RoPE: attention's input
    public ArrayView<ushort> Attn { get; }      // [N, D] bf16 attention output
    public ArrayView<ushort> Act { get; }       // [N, F] bf16 silu(gate)·up
    public ArrayView<int> Rows { get; }         // [C] rows the sampler asked for
    public ArrayView<float> Selected { get; }   // [C, D] f32 gathered rows
    public ArrayView<ushort> SelectedBf16 { get; } // [C, D] bf16 after the final norm
    public ArrayView<float> Logits { get; }     // [C, V] f32
    public ArrayView<float> Workspace { get; }  // split-K partial sums of the layer products (TensorCoreLinear.WorkspaceLength)

    /// <param name="rowChunk">Most rows per lm_head product (<see cref="MaxRowChunk"/> unless a test asks for fewer).</param>
    public TensorCoreRunState(IlgpuKernels kernels, DreamConfig c, int batch, int length, int rowChunk = MaxRowChunk)
    {
        var accelerator = kernels.Accelerator;
        _buffers = new DeviceBuffers(accelerator);
        Batch = batch;
        Length = length;
        long n = (long)batch * length;
        int qkvWidth = c.HiddenSize + 2 * c.KvDim;
        RowCapacity = (int)Math.Min(n, rowChunk);
        try
        {
            Inputs = _buffers.Own(new IlgpuInputs(accelerator, c, batch, length, kernels.Stream));
            H = Allocate<float>(n * c.HiddenSize);
            A = Allocate<ushort>(n * c.HiddenSize);
            Qkv = Allocate<float>(n * qkvWidth);
            QkvBf16 = Allocate<ushort>(n * qkvWidth);
            Attn = Allocate<ushort>(n * c.HiddenSize);
            Act = Allocate<ushort>(n * c.IntermediateSize);
            Rows = Allocate<int>(RowCapacity);
            Selected = Allocate<float>((long)RowCapacity * c.HiddenSize);
            SelectedBf16 = Allocate<ushort>((long)RowCapacity * c.HiddenSize);
            Logits = Allocate<float>((long)RowCapacity * c.VocabSize);
            int tokens = (int)n, d = c.HiddenSize, f = c.IntermediateSize;
            long workspace = new[]
            {
                TensorCoreLinear.WorkspaceLength(kernels, tokens, d, qkvWidth, LinearEpilogue.Store),
                TensorCoreLinear.WorkspaceLength(kernels, tokens, d, d, LinearEpilogue.AddInto),
                TensorCoreLinear.WorkspaceLength(kernels, tokens, d, 2 * f, LinearEpilogue.SwiGlu),
                TensorCoreLinear.WorkspaceLength(kernels, tokens, f, d, LinearEpilogue.AddInto),
            }.Max();
            Workspace = Allocate<float>(Math.Max(workspace, 1));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private ArrayView<T> Allocate<T>(long n) where T : unmanaged => _buffers.Allocate<T>(n);

    public void Dispose() => _buffers.Dispose();
}
