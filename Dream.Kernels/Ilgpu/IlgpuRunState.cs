using Dream.Core.Model;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The activation buffers of one (batch, length), allocated once and reused by every forward pass, and the
/// forward's inputs (<see cref="IlgpuInputs"/>), so a denoising step allocates nothing. N = B·T.
/// </summary>
public sealed class IlgpuRunState : IDisposable
{
    /// <summary>Most rows one lm_head launch covers; requests for more rows run in chunks of this size.</summary>
    public const int MaxRowChunk = 256;

    private readonly DeviceBuffers _buffers;
    private readonly IlgpuInputs _inputs;

    public int Batch { get; }
    public int Length { get; }
    public int RowCapacity { get; }

    /// <summary>The forward's inputs (the device sampler's reveal writes their ids).</summary>
    public IlgpuInputs Inputs => _inputs;
    public ArrayView<int> Ids => _inputs.Ids;          // [N]
    public ArrayView<int> IsReal => _inputs.IsReal;    // [N] 1 = real token, 0 = pad
    public ArrayView<float> Cos => _inputs.Cos;        // [N, Dh/2]
    public ArrayView<float> Sin => _inputs.Sin;        // [N, Dh/2]
    public ArrayView<float> H { get; }          // [N, D] residual stream
    public ArrayView<float> A { get; }          // [N, D] normed
    public ArrayView<float> Q { get; }          // [N, H, Dh]
    public ArrayView<float> K { get; }          // [N, Hkv, Dh]
    public ArrayView<float> V { get; }          // [N, Hkv, Dh]
    public ArrayView<float> Attn { get; }       // [N, H, Dh]
    public ArrayView<float> Delta { get; }      // [N, D]
    public ArrayView<float> Gate { get; }       // [N, F] (SwiGLU output in place)
    public ArrayView<float> Up { get; }         // [N, F]
    public ArrayView<int> Rows { get; }         // [C]
    public ArrayView<float> Selected { get; }   // [C, D]
    public ArrayView<float> Logits { get; }     // [C, V]

    public IlgpuRunState(IlgpuKernels kernels, DreamConfig c, int batch, int length)
    {
        var accelerator = kernels.Accelerator;
        _buffers = new DeviceBuffers(accelerator);
        Batch = batch;
        Length = length;
        int n = batch * length;
        RowCapacity = Math.Min(n, MaxRowChunk);
        _inputs = _buffers.Own(new IlgpuInputs(accelerator, c, batch, length, kernels.Stream));
        try
        {
            H = Float((long)n * c.HiddenSize);
            A = Float((long)n * c.HiddenSize);
            Q = Float((long)n * c.HiddenSize);
            K = Float((long)n * c.KvDim);
            V = Float((long)n * c.KvDim);
            Attn = Float((long)n * c.HiddenSize);
            Delta = Float((long)n * c.HiddenSize);
            Gate = Float((long)n * c.IntermediateSize);
            Up = Float((long)n * c.IntermediateSize);
            Rows = Int(RowCapacity);
            Selected = Float((long)RowCapacity * c.HiddenSize);
            Logits = Float((long)RowCapacity * c.VocabSize);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private ArrayView<float> Float(long n) => _buffers.Allocate<float>(n);

    private ArrayView<int> Int(long n) => _buffers.Allocate<int>(n);

    /// <summary>Copies ids, the pad mask and (when the positions changed) the RoPE tables to the device.</summary>
    public void Upload(ForwardInput input) => _inputs.Upload(input);

    public void Dispose() => _buffers.Dispose();
}
