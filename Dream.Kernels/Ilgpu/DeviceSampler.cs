using Dream.Core.Model;
using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Sampling where the logits already are, for any ILGPU model: the model computes logits [rows, V] on the
/// device (in one piece or in chunks), hands each piece to <see cref="Sample"/>, then either downloads a token and
/// a confidence per row (<see cref="Download"/>) or reveals on a device canvas (<see cref="Reveal"/>). Owns the
/// small per-row buffers (uniforms, tokens, confidences and deficits [M]; positions [M]; row starts and reveal
/// counts [B]; the chunked passes' partials [M, G]) and their host staging arrays, grown only when a request
/// needs more rows than any before — so a denoising step allocates nothing.
///
/// Confidences come back as doubles assembled from the kernel's float32 confidence c and deficit d = 1 − c:
/// 1 − d where d &lt; ½ (a probability or margin near 1, where c itself saturates at 1.0f), c otherwise.
/// Uniforms are narrowed to float32 and kept below 1.
/// </summary>
public sealed class DeviceSampler : IDisposable
{
    private readonly IlgpuKernels _kernels;
    private readonly int _vocab;
    private readonly int _chunks;                                                     // 0: TokenSampler picks
    private TokenSampler.Partials? _partials;                                         // [M, G] of each partial
    private MemoryBuffer1D<float, Stride1D.Dense>? _uniforms, _confidence, _deficit;   // [M]
    private MemoryBuffer1D<int, Stride1D.Dense>? _tokens, _positions;                  // [M]
    private MemoryBuffer1D<int, Stride1D.Dense>? _rowStart, _revealCounts;             // [B + 1], [B]
    private float[] _hostFloats = [];                                                 // [M] staging
    private float[] _hostDeficit = [];                                                // [M] staging
    private SamplingSettings _settings;
    private int _rows;
    private int _revealBatch = -1;                                                    // B of the prepared reveal; −1: none

    /// <param name="chunks">Chunks per row of an unfiltered request (see <see cref="TokenSampler.Sample"/>); 0 lets the sampler pick.</param>
    public DeviceSampler(IlgpuKernels kernels, int vocab, int chunks = 0)
    {
        ArgumentNullException.ThrowIfNull(kernels);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocab, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(chunks);
        _kernels = kernels;
        _vocab = vocab;
        _chunks = chunks;
    }

    /// <summary>Starts a request over <paramref name="rows"/> rows; uniforms [rows] when the request is random.</summary>
    public void Begin(SamplingRequest request, int rows, ReadOnlySpan<double> uniforms)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (request.IsRandom && uniforms.Length != rows)
            throw new ArgumentException($"{uniforms.Length} uniforms for {rows} rows of a random request", nameof(uniforms));
        EnsureRows(rows);
        _settings = SamplingSettings.From(request, _vocab);
        _rows = rows;
        _revealBatch = -1;
        if (request.IsRandom && rows > 0)
        {
            float below1 = MathF.BitDecrement(1f);
            for (int r = 0; r < rows; r++) _hostFloats[r] = Math.Min((float)uniforms[r], below1);
            _uniforms!.View.SubView(0, rows).CopyFromCPU(_kernels.Stream, _hostFloats.AsSpan(0, rows));
        }
    }

    /// <summary>Samples logits [count, V] (on the device) into rows start .. start + count − 1 of the request.</summary>
    public void Sample(ArrayView<float> logits, int start, int count)
    {
        if ((uint)start > (uint)_rows || (uint)count > (uint)(_rows - start))
            throw new ArgumentOutOfRangeException(nameof(count), $"rows {start}..{start + count} outside the request's {_rows}");
        if (count == 0) return;
        TokenSampler.Sample(_kernels, logits, count, _settings, _uniforms!.View.SubView(start, count),
            _tokens!.View.SubView(start, count), _confidence!.View.SubView(start, count), _deficit!.View.SubView(start, count), _partials!, _chunks);
    }

    /// <param name="tokens">[rows] receives the tokens.</param>
    /// <param name="confidence">[rows] receives the confidences (see the class summary).</param>
    public void Download(Span<int> tokens, Span<double> confidence)
    {
        if (tokens.Length != _rows || confidence.Length != _rows)
            throw new ArgumentException($"need {_rows} tokens and confidences, got {tokens.Length} and {confidence.Length}");
        var stream = _kernels.Stream;
        if (_rows > 0)
        {
            _tokens!.View.SubView(0, _rows).CopyToCPU(stream, tokens);
            _confidence!.View.SubView(0, _rows).CopyToCPU(stream, _hostFloats.AsSpan(0, _rows));
            _deficit!.View.SubView(0, _rows).CopyToCPU(stream, _hostDeficit.AsSpan(0, _rows));
        }
        _kernels.Accelerator.Synchronize();
        for (int r = 0; r < _rows; r++) confidence[r] = Assemble(_hostFloats[r], _hostDeficit[r]);
    }

    /// <summary>
    /// The argument checks of an <see cref="ISamplingForwardModel.ForwardSampleReveal"/> call, shared by every model
    /// that reveals through this sampler: one position per requested row, one reveal count per batch row.
    /// </summary>
    public static void CheckReveal(ForwardInput input, ReadOnlySpan<int> positions, ReadOnlySpan<int> rows, ReadOnlySpan<int> revealCounts)
    {
        if (positions.Length != rows.Length)
            throw new ArgumentException($"{positions.Length} positions for {rows.Length} rows", nameof(positions));
        if (revealCounts.Length != input.Batch)
            throw new ArgumentException($"{revealCounts.Length} reveal counts for a batch of {input.Batch}", nameof(revealCounts));
    }

    /// <summary>The confidence in double from the kernel's float32 confidence and deficit.</summary>
    public static double Assemble(float confidence, float deficit) => deficit < 0.5f ? 1.0 - deficit : confidence;

    /// <summary>
    /// Copies what <see cref="Reveal"/> will need — the masked positions in the request's row order, the row starts
    /// and the reveal counts — to the device. Called before the forward: a copy from pageable host memory waits for
    /// the stream to drain, so made after it, each would leave the device idle between the sampler and the reveal.
    /// </summary>
    public void PrepareReveal(ReadOnlySpan<int> positions, ReadOnlySpan<int> rowStart, ReadOnlySpan<int> revealCounts)
    {
        int batch = revealCounts.Length;
        if (positions.Length != _rows || rowStart.Length != batch + 1 || rowStart[batch] != _rows)
            throw new ArgumentException($"{positions.Length} positions and row starts ending at {rowStart[^1]} for a request of {_rows} rows");
        EnsureBatch(batch);
        var stream = _kernels.Stream;
        if (_rows > 0) _positions!.View.SubView(0, _rows).CopyFromCPU(stream, positions);
        _rowStart!.View.SubView(0, batch + 1).CopyFromCPU(stream, rowStart);
        _revealCounts!.View.SubView(0, batch).CopyFromCPU(stream, revealCounts);
        _revealBatch = batch;
    }

    /// <summary>
    /// Reveals the sampled rows of the request on the forward's ids (<paramref name="inputs"/>, [B, T] on the device)
    /// as <see cref="PrepareReveal"/> described them, copies them to <paramref name="hostCanvas"/>, waits for the
    /// device, and tells <paramref name="inputs"/> what its ids now are (so the next upload of the same canvas
    /// copies nothing). See <see cref="PositionSelector"/>.
    /// </summary>
    public void Reveal(IlgpuInputs inputs, Span<int> hostCanvas)
    {
        if (_revealBatch < 0) throw new InvalidOperationException("Reveal needs PrepareReveal first, for the same request");
        var canvas = inputs.Ids;
        if (hostCanvas.Length != canvas.Length)
            throw new ArgumentException($"host canvas has {hostCanvas.Length} ids, the device canvas {canvas.Length}", nameof(hostCanvas));
        var stream = _kernels.Stream;
        PositionSelector.Reveal(_kernels, _revealBatch, _rowStart!.View, _positions!.View, _tokens!.View, _confidence!.View,
            _deficit!.View, _revealCounts!.View, canvas);
        _revealBatch = -1;
        canvas.CopyToCPU(stream, hostCanvas);
        _kernels.Accelerator.Synchronize();
        inputs.IdsRevealed(hostCanvas);
    }

    private void EnsureRows(int rows)
    {
        if (_tokens is not null && _tokens.Length >= Math.Max(rows, 1)) return;
        int capacity = Math.Max(rows, 1);
        var acc = _kernels.Accelerator;
        DisposeRows();
        _uniforms = acc.Allocate1D<float>(capacity);
        _confidence = acc.Allocate1D<float>(capacity);
        _deficit = acc.Allocate1D<float>(capacity);
        _tokens = acc.Allocate1D<int>(capacity);
        _positions = acc.Allocate1D<int>(capacity);
        _partials = new TokenSampler.Partials(_kernels, capacity);
        _hostFloats = new float[capacity];
        _hostDeficit = new float[capacity];
    }

    private void EnsureBatch(int batch)
    {
        if (_revealCounts is not null && _revealCounts.Length >= Math.Max(batch, 1)) return;
        _rowStart?.Dispose();
        _revealCounts?.Dispose();
        _rowStart = _kernels.Accelerator.Allocate1D<int>(batch + 1);
        _revealCounts = _kernels.Accelerator.Allocate1D<int>(Math.Max(batch, 1));
    }

    private void DisposeRows()
    {
        _uniforms?.Dispose();
        _confidence?.Dispose();
        _deficit?.Dispose();
        _tokens?.Dispose();
        _positions?.Dispose();
        _partials?.Dispose();
    }

    public void Dispose()
    {
        DisposeRows();
        _rowStart?.Dispose();
        _revealCounts?.Dispose();
    }
}
