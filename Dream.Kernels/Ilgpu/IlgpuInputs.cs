using Dream.Core.Model;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// What a forward pass reads besides the weights, on the device for one (batch, length), N = B·T: the token ids,
/// the pad mask and the RoPE tables. Host staging arrays are kept too, so an upload allocates nothing; the tables
/// are rebuilt only when the positions change (they do not, step to step, in a generation), and the ids and the
/// mask are copied only when they differ from what the device holds: a copy from pageable host memory waits for
/// the stream, and at the start of a denoising step the device would idle through it. The device's ids are
/// mirrored on the host — written by an upload, or by a reveal on the device (<see cref="IdsRevealed"/>).
/// </summary>
public sealed class IlgpuInputs : IDisposable
{
    private readonly AcceleratorStream _stream;
    private readonly DeviceBuffers _buffers;
    private readonly int[] _hostIsReal;                  // [N] the mask on the device
    private readonly int[] _nextIsReal;                  // [N] staging for the next mask
    private readonly int[] _deviceIds;                   // [N] the ids on the device (valid when _idsKnown)
    private bool _idsKnown, _isRealKnown;
    private readonly int[] _hostPositions;               // [N] the positions the RoPE tables were built for
    private readonly float[] _hostCos, _hostSin;         // [N, Dh/2]
    private readonly float[] _inverseFrequencies;         // [Dh/2] RoPE inv_freq, fixed per model
    private bool _tablesValid;

    public ArrayView<int> Ids { get; }          // [N]
    public ArrayView<int> IsReal { get; }       // [N] 1 = real token, 0 = pad
    public ArrayView<float> Cos { get; }        // [N, Dh/2]
    public ArrayView<float> Sin { get; }        // [N, Dh/2]

    /// <param name="stream">The stream the uploads go on (the forward's, <see cref="IlgpuKernels.Stream"/>); the accelerator's default stream when null.</param>
    public IlgpuInputs(Accelerator accelerator, DreamConfig c, int batch, int length, AcceleratorStream? stream = null)
    {
        _stream = stream ?? accelerator.DefaultStream;
        _buffers = new DeviceBuffers(accelerator);
        int n = batch * length, half = c.HeadDim / 2;
        _hostIsReal = new int[n];
        _nextIsReal = new int[n];
        _deviceIds = new int[n];
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

    /// <summary>Copies ids and the pad mask to the device where they changed; rebuilds the RoPE tables only when the positions changed.</summary>
    public void Upload(ForwardInput input)
    {
        var stream = _stream;
        if (!_idsKnown || !input.Ids.AsSpan().SequenceEqual(_deviceIds))
        {
            Ids.CopyFromCPU(stream, input.Ids);
            input.Ids.CopyTo(_deviceIds, 0);
            _idsKnown = true;
        }
        if (input.AttentionMask is null) Array.Fill(_nextIsReal, 1);
        else for (int i = 0; i < _nextIsReal.Length; i++) _nextIsReal[i] = input.AttentionMask[i] != 0 ? 1 : 0;
        if (!_isRealKnown || !_nextIsReal.AsSpan().SequenceEqual(_hostIsReal))
        {
            _nextIsReal.CopyTo(_hostIsReal, 0);
            IsReal.CopyFromCPU(stream, _hostIsReal);
            _isRealKnown = true;
        }

        if (!_tablesValid || !input.Positions.AsSpan().SequenceEqual(_hostPositions))
        {
            input.Positions.CopyTo(_hostPositions, 0);
            RotaryTables.Fill(_hostPositions, _inverseFrequencies, _hostCos, _hostSin);
            Cos.CopyFromCPU(stream, _hostCos);
            Sin.CopyFromCPU(stream, _hostSin);
            _tablesValid = true;
        }
    }

    /// <summary>The device's ids were changed in place by a reveal and downloaded as <paramref name="ids"/> [N].</summary>
    public void IdsRevealed(ReadOnlySpan<int> ids)
    {
        ids.CopyTo(_deviceIds);
        _idsKnown = true;
    }

    public void Dispose() => _buffers.Dispose();
}
