using Dream.Core.Model;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The activation buffers of one (batch, length), allocated once and reused by every forward pass; host-side
/// staging arrays too, so a denoising step allocates nothing. N = B·T.
/// </summary>
public sealed class IlgpuRunState : IDisposable
{
    /// <summary>Most rows one lm_head launch covers; requests for more rows run in chunks of this size.</summary>
    public const int MaxRowChunk = 256;

    private readonly Accelerator _acc;
    private readonly List<IDisposable> _owned = [];
    private readonly int[] _hostIsReal;                  // [N]
    private readonly int[] _hostPositions;               // [N] the positions the RoPE tables were built for
    private readonly float[] _hostCos, _hostSin;         // [N, Dh/2]
    private bool _tablesValid;

    public int Batch { get; }
    public int Length { get; }
    public int RowCapacity { get; }

    public ArrayView<int> Ids { get; }          // [N]
    public ArrayView<int> IsReal { get; }       // [N] 1 = real token, 0 = pad
    public ArrayView<float> Cos { get; }        // [N, Dh/2]
    public ArrayView<float> Sin { get; }        // [N, Dh/2]
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

    public IlgpuRunState(Accelerator accelerator, DreamConfig c, int batch, int length)
    {
        _acc = accelerator;
        Batch = batch;
        Length = length;
        int n = batch * length, half = c.HeadDim / 2;
        RowCapacity = Math.Min(n, MaxRowChunk);
        _hostIsReal = new int[n];
        _hostPositions = new int[n];
        _hostCos = new float[n * half];
        _hostSin = new float[n * half];
        try
        {
            Ids = Int(n);
            IsReal = Int(n);
            Cos = Float((long)n * half);
            Sin = Float((long)n * half);
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

    private ArrayView<float> Float(long n)
    {
        var b = _acc.Allocate1D<float>(n);
        _owned.Add(b);
        return b.View;
    }

    private ArrayView<int> Int(long n)
    {
        var b = _acc.Allocate1D<int>(n);
        _owned.Add(b);
        return b.View;
    }

    /// <summary>Copies ids and the pad mask to the device; rebuilds the RoPE tables only when the positions changed.</summary>
    public void Upload(ForwardInput input, DreamConfig c)
    {
        var stream = _acc.DefaultStream;
        Ids.CopyFromCPU(stream, input.Ids);
        if (input.AttentionMask is null) Array.Fill(_hostIsReal, 1);
        else for (int i = 0; i < _hostIsReal.Length; i++) _hostIsReal[i] = input.AttentionMask[i] != 0 ? 1 : 0;
        IsReal.CopyFromCPU(stream, _hostIsReal);

        if (!_tablesValid || !input.Positions.AsSpan().SequenceEqual(_hostPositions))
        {
            input.Positions.CopyTo(_hostPositions, 0);
            RotaryEmbedding.Tables(_hostPositions, c.HeadDim, c.RopeTheta, _hostCos, _hostSin);
            Cos.CopyFromCPU(stream, _hostCos);
            Sin.CopyFromCPU(stream, _hostSin);
            _tablesValid = true;
        }
    }

    public void Dispose()
    {
        foreach (var b in _owned) b.Dispose();
        _owned.Clear();
    }
}
