using Dream.Core.Model;

namespace Dream.Kernels.Cpu;

/// <summary>
/// Every activation buffer of one forward pass, sized for M = B·T tokens and R logits rows; reallocated only when
/// a call needs more than the last one, so denoising steps at a fixed (batch, length) allocate none.
/// Legend: M = B·T tokens, D hidden, Hkv·Dh kv width, F ffn, Dh/2 rotary half, R requested rows.
/// </summary>
public sealed unsafe class CpuRunState : IDisposable
{
    private readonly DreamConfig _config;
    private readonly NativeBuffer[] _all;

    public NativeBuffer Hidden { get; } = new();     // h     [M, D]  residual stream
    public NativeBuffer Normed { get; } = new();     // a     [M, D]  RMSNorm output
    public NativeBuffer Q { get; } = new();          //       [M, H·Dh]
    public NativeBuffer K { get; } = new();          //       [M, Hkv·Dh]
    public NativeBuffer V { get; } = new();          //       [M, Hkv·Dh]
    public NativeBuffer Attended { get; } = new();   //       [M, H·Dh]
    public NativeBuffer Delta { get; } = new();      //       [M, D]  sublayer output before the residual add
    public NativeBuffer Gate { get; } = new();       //       [M, F]  then silu(gate)·up in place
    public NativeBuffer Up { get; } = new();         //       [M, F]
    public NativeBuffer Cos { get; } = new();        //       [M, Dh/2]
    public NativeBuffer Sin { get; } = new();        //       [M, Dh/2]
    public NativeBuffer Selected { get; } = new();   //       [R, D]  requested rows of h, then final-normed

    /// <summary>[M] real-token flags; rebuilt each call (no managed allocation after the first of this size).</summary>
    public bool[] IsReal { get; private set; } = [];
    /// <summary>Positions the rotary tables were built for; tables are rebuilt only when these change.</summary>
    private int[] _tablePositions = [];

    public int Tokens { get; private set; }
    public int Rows { get; private set; }

    public CpuRunState(DreamConfig config)
    {
        _config = config;
        _all = [Hidden, Normed, Q, K, V, Attended, Delta, Gate, Up, Cos, Sin, Selected];
    }

    /// <summary>Makes room for <paramref name="tokens"/> = B·T tokens and <paramref name="rows"/> logits rows.</summary>
    public void Ensure(int tokens, int rows)
    {
        long m = tokens, d = _config.HiddenSize, kv = _config.KvDim, f = _config.IntermediateSize, half = _config.HeadDim / 2;
        Hidden.Ensure(m * d);
        Normed.Ensure(m * d);
        Q.Ensure(m * d);
        K.Ensure(m * kv);
        V.Ensure(m * kv);
        Attended.Ensure(m * d);
        Delta.Ensure(m * d);
        Gate.Ensure(m * f);
        Up.Ensure(m * f);
        if (Cos.Ensure(m * half) | Sin.Ensure(m * half)) _tablePositions = [];
        Selected.Ensure(Math.Max(rows, 1) * d);
        if (IsReal.Length != tokens) IsReal = new bool[tokens];
        Tokens = tokens;
        Rows = rows;
    }

    /// <summary>Rebuilds the rotary tables if <paramref name="positions"/> differ from the last call's.</summary>
    public void UpdateRotaryTables(ReadOnlySpan<int> positions)
    {
        if (positions.SequenceEqual(_tablePositions)) return;
        long half = _config.HeadDim / 2;
        RotaryEmbedding.Tables(positions, positions.Length, _config.HeadDim, _config.RopeTheta,
            Cos.Span(positions.Length * half), Sin.Span(positions.Length * half));
        if (_tablePositions.Length != positions.Length) _tablePositions = new int[positions.Length];
        positions.CopyTo(_tablePositions);
    }

    public void Dispose()
    {
        foreach (var b in _all) b.Dispose();
    }
}
