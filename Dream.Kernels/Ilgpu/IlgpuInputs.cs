using Dream.Core.Model;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// What a forward pass reads besides the weights, on the device for one (batch, length), N = B·T: the token ids,
/// the pad mask and the RoPE tables. Host staging arrays are kept too, so an upload allocates nothing; the tables
/// are rebuilt only when the positions change (they do not, step to step, in a generation).
/// </summary>
public sealed class IlgpuInputs : IDisposable
{
    private readonly Accelerator _acc;
    private readonly DeviceBuffers _buffers;
    private readonly int[] _hostIsReal;                  // [N]
    private readonly int[] _hostPositions;               // [N] the positions the RoPE tables were built for
    private readonly float[] _hostCos, _hostSin;         // [N, Dh/2]
    private readonly float[] _inverseFrequencies;         // [Dh/2] RoPE inv_freq, fixed per model
    private bool _tablesValid;

    public ArrayView<int> Ids { get; }          // [N]
    public ArrayView<int> IsReal { get; }       // [N] 1 = real token, 0 = pad
    public ArrayView<float> Cos { get; }        // [N, Dh/2]
    public ArrayView<float> Sin { get; }        // [N, Dh/2]

    public IlgpuInputs(Accelerator accelerator, DreamConfig c, int batch, int length)
    {
        _acc = accelerator;
        _buffers = new DeviceBuffers(accelerator);
        int n = batch * length, half = c.HeadDim / 2;
        _hostIsReal = new int[n];
        _hostPositions = new int[n];
        _inverseFrequencies = RotaryTables.InverseFrequencies(c);
        _hostCos = new float[n * half];
        _hostSin = new float[n * half];
        try
        {
            Ids = Allocate<int>(n);
            IsReal = Allocate<int>(n);
            Cos = Allocate<float>((long)n * half);
            Sin = Allocate<float>((long)n * half);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private ArrayView<T> Allocate<T>(long n) where T : unmanaged => _buffers.Allocate<T>(n);

    /// <summary>Copies ids and the pad mask to the device; rebuilds the RoPE tables only when the positions changed.</summary>
    public void Upload(ForwardInput input)
    {
        var stream = _acc.DefaultStream;
        Ids.CopyFromCPU(stream, input.Ids);
        if (input.AttentionMask is null) Array.Fill(_hostIsReal, 1);
        else for (int i = 0; i < _hostIsReal.Length; i++) _hostIsReal[i] = input.AttentionMask[i] != 0 ? 1 : 0;
        IsReal.CopyFromCPU(stream, _hostIsReal);

        if (!_tablesValid || !input.Positions.AsSpan().SequenceEqual(_hostPositions))
        {
            input.Positions.CopyTo(_hostPositions, 0);
            RotaryTables.Fill(_hostPositions, _inverseFrequencies, _hostCos, _hostSin);
            Cos.CopyFromCPU(stream, _hostCos);
            Sin.CopyFromCPU(stream, _hostSin);
            _tablesValid = true;
        }
    }

    public void Dispose() => _buffers.Dispose();
}
