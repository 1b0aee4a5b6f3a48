using ILGPU;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The unfiltered requests (no top-p, no top-k: every decoding algorithm at any temperature) with each row spread
/// over C groups instead of one. Why: one group per row reads its 152,064 logits with one multiprocessor's few
/// kilobytes of loads in flight, so late in a denoising loop, with a few dozen masked rows, the sampler ran 0.55 ms
/// per step on an H200 while all but a few dozen multiprocessors idled (Nsight Compute, one step of the 7B loop:
/// 26 rows, 553 µs; lm_head before it 298 µs). Here R·C groups share the work; the row-wide quantities pass between
/// the passes as C partials per row in a <see cref="Partials"/> workspace:
///   1. <see cref="KernelChunkLargest"/>: each chunk's largest key and its first index;
///   2. <see cref="KernelChunkMass"/>: every group of a row combines the row's C partials into the same (max, top) — a
///      largest key with its lowest index is exact in any order — then sums its chunk's rest = Σ_{j ≠ top} e_j, its
///      two largest keys, and at temperature &gt; 0 its draw mass Σ e and last positive-weight token;
///   3. <see cref="KernelChunkEntropy"/> (entropy only): Σ p·log(p + 1e-10) over the chunk, with E = 1 + rest summed from
///      the partials exactly as the last pass sums it;
///   4. <see cref="KernelChunkFinish"/>: one group per row combines the partials and writes token, confidence and deficit.
/// The arithmetic per logit is the single-group kernel's (the same <see cref="VisitRange{T}"/> over the same
/// <see cref="Largest"/>, <see cref="KeptMass"/> and <see cref="EntropyTerms"/> states); only the order of the float32 sums differs (pairwise over threads, then
/// over chunks in order), which the twin test's rounding allowance covers (it is written for any order).
/// The draw: the chunk holding u·Σe is found from the chunk masses (in chunk order), then searched with the
/// single-group kernel's <see cref="DrawInRange"/>, starting from the mass before the chunk. The chunk's
/// mass is re-summed in that search in another order; if rounding leaves u·Σe past the re-summed end, the chunk's
/// last positive-weight token is drawn (the uniform then lies within rounding of that boundary).
/// </summary>
public static partial class TokenSampler
{
    /// <summary>How many groups to aim for across a call: enough to keep every multiprocessor's loads in flight.</summary>
    private const int GroupsPerMultiprocessor = 8;

    /// <summary>
    /// Chunks per row for <paramref name="rows"/> rows of <paramref name="vocab"/> logits: about
    /// <see cref="GroupsPerMultiprocessor"/> groups per multiprocessor over the call, at most one per thread of the
    /// finishing group, at least 4 logits each (a chunk starts on a multiple of 4: its quads stay aligned).
    /// </summary>
    public static (int Chunks, int Length) ChunksFor(int rows, int vocab, int groupSize, int multiprocessors)
    {
        int target = GroupsPerMultiprocessor * Math.Max(1, multiprocessors);
        int chunks = Math.Clamp((target + rows - 1) / Math.Max(rows, 1), 1, groupSize);
        return Split(vocab, chunks);
    }

    /// <summary>A chunk length, a multiple of 4, that cuts <paramref name="vocab"/> into at most <paramref name="chunks"/> non-empty chunks, and their count.</summary>
    public static (int Chunks, int Length) Split(int vocab, int chunks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocab, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunks, 1);
        int length = ((vocab + chunks - 1) / chunks + 3) & ~3;
        return ((vocab + length - 1) / length, length);
    }

    /// <summary>Whether <paramref name="settings"/> take the chunked path (no filter; the filters' bisections need whole rows).</summary>
    internal static bool Chunked(SamplingSettings settings) => settings.TopP >= 1f && settings.TopK == 0;

    /// <summary>Runs the chunked passes over logits [rows, V] with <paramref name="chunks"/> chunks per row (≤ the group size).</summary>
    private static void SampleChunked(IlgpuKernels kernels, ArrayView<float> logits, int rows, SamplingSettings settings,
        ArrayView<float> uniforms, ArrayView<int> tokens, ArrayView<float> confidence, ArrayView<float> deficit,
        Partials partials, int chunks)
    {
        var (count, length) = Split(settings.Vocab, chunks);
        if (count > kernels.ReductionGroupSize)
            throw new ArgumentOutOfRangeException(nameof(chunks), chunks, $"at most {kernels.ReductionGroupSize} chunks per row (one per thread of the finishing group)");
        if (rows > partials.Rows) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"the sampler's workspace holds {partials.Rows} rows");
        var shape = new ChunkShape { Chunks = count, Length = length, Stride = partials.Stride };
        var grid = new KernelConfig(new Index2D(count, rows), new Index2D(kernels.ReductionGroupSize, 1));
        kernels.TokenSamplerChunkLargest(grid, logits, settings, partials.Floats, partials.Keys, partials.Indices, shape);
        kernels.TokenSamplerChunkMass(grid, logits, settings, partials.Floats, partials.Keys, partials.Indices, shape);
        if (settings.Measure == ConfidenceMeasure.Entropy)
            kernels.TokenSamplerChunkEntropy(grid, logits, settings, partials.Floats, partials.Keys, partials.Indices, shape);
        kernels.TokenSamplerChunkFinish(new KernelConfig(rows, kernels.ReductionGroupSize), logits, settings, partials.Floats, partials.Keys, partials.Indices, shape,
            uniforms, tokens, confidence, deficit);
    }

    /// <summary>
    /// The partials of the chunked passes for up to <see cref="Rows"/> rows × the group size G of chunks, allocated
    /// once by the <see cref="DeviceSampler"/> and reused every step: three flat buffers of a few [R, C] arrays each
    /// (row-major, C the call's chunk count, each array starting at a multiple of <see cref="Stride"/> = Rows·G):
    ///   Floats  — rest (pass 2: Σ e over the chunk but the row's top token), draw mass (pass 2, temperature &gt; 0:
    ///             Σ e &gt; 0), entropy (pass 3: Σ p·log(p + 1e-10));
    ///   Keys    — the largest key (pass 1), the two largest keys with multiplicity (pass 2; 0: none);
    ///   Indices — the largest key's first index (pass 1; int.MaxValue: none), the last token of positive weight
    ///             (pass 2, temperature &gt; 0; −1: none).
    /// </summary>
    public sealed class Partials : IDisposable
    {
        private readonly DeviceBuffers _buffers;

        /// <summary>Rows the workspace holds.</summary>
        public int Rows { get; }

        /// <summary>Elements between the arrays of one buffer: Rows · G.</summary>
        public int Stride { get; }

        internal ArrayView<float> Floats { get; }   // [3, Stride]
        internal ArrayView<uint> Keys { get; }      // [3, Stride]
        internal ArrayView<int> Indices { get; }    // [2, Stride]

        public Partials(IlgpuKernels kernels, int rows)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
            Rows = rows;
            Stride = checked(rows * kernels.ReductionGroupSize);
            _buffers = new DeviceBuffers(kernels.Accelerator);
            try
            {
                Floats = _buffers.Allocate<float>(3L * Stride);
                Keys = _buffers.Allocate<uint>(3L * Stride);
                Indices = _buffers.Allocate<int>(2L * Stride);
            }
            catch
            {
                _buffers.Dispose();
                throw;
            }
        }

        public void Dispose() => _buffers.Dispose();
    }

    /// <summary>The call's chunking: chunk c of a row covers logits c·Length .. (c + 1)·Length − 1; partial (row, c) sits at row·Chunks + c of each array.
    /// Public because it is a kernel argument (as <see cref="SamplingSettings"/>).</summary>
    public struct ChunkShape
    {
        public int Chunks, Length, Stride;
    }

    // Where each partial array starts in its flat buffer (in units of Stride).
    private const int RestArray = 0, DrawArray = 1, EntropyArray = 2;          // Floats
    private const int LargestKeyArray = 0, FirstArray = 1, SecondArray = 2;    // Keys
    private const int LargestIndexArray = 0, LastPositiveArray = 1;           // Indices

    /// <summary>No filter: the thresholds <see cref="TokenFilter.Find"/> returns for top_p ≥ 1 and no top-k.</summary>
    private static FilterThresholds KeepAll => new() { TopPKey = 0u, TopPLastId = int.MaxValue, TopKKey = 0u };

    // ---------------------------------------------------------------------------------------------------------
    // The kernels: grid (chunk, row) for the three passes, one group per row to finish.

    /// <summary>Pass 1: the chunk's largest key and its first index (the float partials are not touched: the three
    /// passes share one launcher signature).</summary>
    internal static void KernelChunkLargest(ArrayView<float> logits, SamplingSettings settings, ArrayView<float> floatPartials, ArrayView<uint> keyPartials,
        ArrayView<int> indexPartials, ChunkShape partials)
    {
        int tid = Group.IdxX, chunk = Grid.IdxX, row = Grid.IdxY;
        var keys = SharedMemory.Allocate<uint>(IlgpuKernels.MaxGroupSize);   // [G]
        var ints = SharedMemory.Allocate<int>(IlgpuKernels.MaxGroupSize);    // [G]
        var (rowBase, start, end) = ChunkRange(settings.Vocab, partials, chunk, row);
        var best = ReduceLargest(keys, ints, VisitRange(logits, rowBase, start, end, Largest.None));
        if (tid != 0) return;
        int at0 = row * partials.Chunks + chunk;
        keyPartials[LargestKeyArray * partials.Stride + at0] = best.Key;
        indexPartials[LargestIndexArray * partials.Stride + at0] = best.Index;
    }

    /// <summary>Pass 2: the row's (max, top) from pass 1, then the chunk's rest, two largest keys and draw mass.</summary>
    internal static void KernelChunkMass(ArrayView<float> logits, SamplingSettings settings, ArrayView<float> floatPartials, ArrayView<uint> keyPartials,
        ArrayView<int> indexPartials, ChunkShape partials)
    {
        int tid = Group.IdxX, chunk = Grid.IdxX, row = Grid.IdxY;
        var keys = SharedMemory.Allocate<uint>(IlgpuKernels.MaxGroupSize);   // [G]
        var ints = SharedMemory.Allocate<int>(IlgpuKernels.MaxGroupSize);    // [G]
        var floats = SharedMemory.Allocate<float>(IlgpuKernels.MaxGroupSize); // [G]
        var keys2 = SharedMemory.Allocate<uint>(IlgpuKernels.MaxGroupSize);  // [G]
        var top = RowLargest(keyPartials, indexPartials, partials, row, keys, ints);
        float max = TokenFilter.Value(top.Key), temperature = settings.Temperature;
        var (rowBase, start, end) = ChunkRange(settings.Vocab, partials, chunk, row);
        var mass = VisitRange(logits, rowBase, start, end, new KeptMass { Kept = KeepAll, Top = top.Index, Max = max, Temperature = temperature });
        float rest = GroupReduce.PairwiseSum(floats, mass.Rest);
        var (first, second) = ReduceTwoLargest(keys, keys2, mass.First, mass.Second);

        float draw = 0f;
        int last = -1;
        if (temperature > 0f)
        {
            // The draw's weights: every positive e, the top token's (exp 0 = 1) included.
            for (int j = start + tid; j < end; j += Group.DimX)
            {
                float e = DrawWeight(logits, rowBase, j, KeepAll, max, temperature);
                if (!(e > 0f)) continue;
                draw += e;
                last = j;
            }
            draw = GroupReduce.PairwiseSum(floats, draw);
            last = GroupReduce.Max(ints, last);
        }
        if (tid != 0) return;
        int at0 = row * partials.Chunks + chunk, stride = partials.Stride;
        floatPartials[RestArray * stride + at0] = rest;
        keyPartials[FirstArray * stride + at0] = first;
        keyPartials[SecondArray * stride + at0] = second;
        floatPartials[DrawArray * stride + at0] = draw;
        indexPartials[LastPositiveArray * stride + at0] = last;
    }

    /// <summary>Pass 3 (entropy): Σ p·log(p + 1e-10) over the chunk, with the row's E = 1 + rest as the finish sums it.</summary>
    internal static void KernelChunkEntropy(ArrayView<float> logits, SamplingSettings settings, ArrayView<float> floatPartials, ArrayView<uint> keyPartials,
        ArrayView<int> indexPartials, ChunkShape partials)
    {
        int tid = Group.IdxX, chunk = Grid.IdxX, row = Grid.IdxY;
        var keys = SharedMemory.Allocate<uint>(IlgpuKernels.MaxGroupSize);   // [G]
        var ints = SharedMemory.Allocate<int>(IlgpuKernels.MaxGroupSize);    // [G]
        var floats = SharedMemory.Allocate<float>(IlgpuKernels.MaxGroupSize); // [G]
        // The row's rest before its largest key: in the other order PoCL (CI's OpenCL device) summed the rest as ~0
        // here — the entropy partials came out as if E were 1 — while the same two reductions in that order are right
        // in the finishing kernel, and CUDA and the CPU simulator are right either way. Not explained; this order is
        // what the OpenCL run of the twin properties checks.
        float rest = RowSum(floatPartials, RestArray, partials, row, floats);
        var top = RowLargest(keyPartials, indexPartials, partials, row, keys, ints);
        float max = TokenFilter.Value(top.Key);
        var (rowBase, start, end) = ChunkRange(settings.Vocab, partials, chunk, row);
        var entropy = VisitRange(logits, rowBase, start, end,
            new EntropyTerms { Kept = KeepAll, Max = max, Temperature = settings.Temperature, Total = 1f + rest, LogTotal = Log1p(rest) });
        float sum = GroupReduce.PairwiseSum(floats, entropy.Sum);
        if (tid == 0) floatPartials[EntropyArray * partials.Stride + row * partials.Chunks + chunk] = sum;
    }

    /// <summary>Pass 4, one group per row: the partials combined into the token, its confidence and deficit.</summary>
    internal static void KernelChunkFinish(ArrayView<float> logits, SamplingSettings settings, ArrayView<float> floatPartials, ArrayView<uint> keyPartials,
        ArrayView<int> indexPartials, ChunkShape partials, ArrayView<float> uniforms, ArrayView<int> tokens, ArrayView<float> confidence, ArrayView<float> deficit)
    {
        int tid = Group.IdxX, row = Grid.IdxX, vocab = settings.Vocab;
        float temperature = settings.Temperature;
        long rowBase = (long)row * vocab;
        var keys = SharedMemory.Allocate<uint>(IlgpuKernels.MaxGroupSize);   // [G]
        var ints = SharedMemory.Allocate<int>(IlgpuKernels.MaxGroupSize);    // [G]
        var floats = SharedMemory.Allocate<float>(IlgpuKernels.MaxGroupSize); // [G]
        var keys2 = SharedMemory.Allocate<uint>(IlgpuKernels.MaxGroupSize);  // [G]
        var chosen = SharedMemory.Allocate<int>(1);                          // the chunk holding the draw, then the drawn token
        var masses = SharedMemory.Allocate<float>(2);                        // [mass before that chunk, u·Σe]

        var topLargest = RowLargest(keyPartials, indexPartials, partials, row, keys, ints);
        int top = topLargest.Index;
        float max = TokenFilter.Value(topLargest.Key);
        float rest = RowSum(floatPartials, RestArray, partials, row, floats);
        float total = 1f + rest;
        int stride = partials.Stride, at0 = row * partials.Chunks + tid;
        bool mine = tid < partials.Chunks;
        var (_, secondKey) = ReduceTwoLargest(keys, keys2, mine ? keyPartials[FirstArray * stride + at0] : 0u, mine ? keyPartials[SecondArray * stride + at0] : 0u);

        int token = top;
        if (temperature > 0f)
        {
            // The chunk: a running sum over the chunk masses in chunk order (thread 0), the first chunk whose end
            // passes u·Σe — or, when rounding leaves u·Σe at or past Σe, the row's last token of positive weight.
            int lastAny = GroupReduce.Max(ints, mine ? indexPartials[LastPositiveArray * stride + at0] : -1);
            floats[tid] = mine ? floatPartials[DrawArray * stride + at0] : 0f;
            Group.Barrier();
            if (tid == 0)
            {
                float sum = 0f;
                for (int c = 0; c < partials.Chunks; c++) sum += floats[c];
                float target = uniforms[row] * sum, before = 0f;
                int holding = -1;
                for (int c = 0; c < partials.Chunks && holding < 0; c++)
                {
                    if (before + floats[c] > target) holding = c;
                    else before += floats[c];
                }
                chosen[0] = holding;
                masses[0] = before;
                masses[1] = target;
            }
            Group.Barrier();
            int holdingChunk = chosen[0];
            float beforeChunk = masses[0], targetMass = masses[1];
            Group.Barrier();
            int chunkStart = holdingChunk * partials.Length;
            token = holdingChunk < 0 ? lastAny
                : DrawInRange(logits, rowBase, chunkStart, Math.Min(chunkStart + partials.Length, vocab), KeepAll, max, temperature, beforeChunk, targetMass, 0f, floats, ints, chosen);
            if (token < 0) token = top;
        }

        float conf, lack;
        if (settings.Measure == ConfidenceMeasure.Entropy)
        {
            conf = RowSum(floatPartials, EntropyArray, partials, row, floats);
            lack = float.NaN;
        }
        else (conf, lack) = TokenMeasure(settings.Measure, logits, rowBase, token, top, secondKey, max, temperature, rest, total);

        if (tid != 0) return;
        tokens[row] = token;
        confidence[row] = conf;
        deficit[row] = lack;
    }

    /// <summary>Where chunk <paramref name="chunk"/> of row <paramref name="row"/> lies: the row's offset, its first
    /// logit (a multiple of 4) and its end.</summary>
    private static (long RowBase, int Start, int End) ChunkRange(int vocab, ChunkShape partials, int chunk, int row)
    {
        int start = chunk * partials.Length;
        return ((long)row * vocab, start, Math.Min(start + partials.Length, vocab));
    }

    /// <summary>The row's largest key and its first index from the pass-1 partials, the same in every group and thread.</summary>
    private static Largest RowLargest(ArrayView<uint> keyPartials, ArrayView<int> indexPartials, ChunkShape partials, int row, ArrayView<uint> keys, ArrayView<int> ints)
    {
        int tid = Group.IdxX, at = row * partials.Chunks + tid;
        var mine = tid < partials.Chunks
            ? new Largest { Key = keyPartials[LargestKeyArray * partials.Stride + at], Index = indexPartials[LargestIndexArray * partials.Stride + at] }
            : Largest.None;
        return ReduceLargest(keys, ints, mine);
    }

    /// <summary>The sum of a row's partials [Chunks] in array <paramref name="array"/> of the float buffer, pairwise — the same bits in every group that asks.</summary>
    private static float RowSum(ArrayView<float> floatPartials, int array, ChunkShape partials, int row, ArrayView<float> floats)
    {
        int tid = Group.IdxX;
        return GroupReduce.PairwiseSum(floats, tid < partials.Chunks ? floatPartials[array * partials.Stride + row * partials.Chunks + tid] : 0f);
    }

    /// <summary>The group's largest key with its lowest index (exact in any order), in every thread.</summary>
    private static Largest ReduceLargest(ArrayView<uint> keys, ArrayView<int> ints, Largest mine)
    {
        int tid = Group.IdxX;
        keys[tid] = mine.Key;
        ints[tid] = mine.Index;
        Group.Barrier();
        for (int s = Group.DimX >> 1; s > 0; s >>= 1)
        {
            if (tid < s)
            {
                uint otherKey = keys[tid + s];
                int otherIndex = ints[tid + s];
                if (otherIndex != int.MaxValue && (ints[tid] == int.MaxValue || otherKey > keys[tid] || (otherKey == keys[tid] && otherIndex < ints[tid])))
                {
                    keys[tid] = otherKey;
                    ints[tid] = otherIndex;
                }
            }
            Group.Barrier();
        }
        var result = new Largest { Key = keys[0], Index = ints[0] };
        Group.Barrier();
        return result;
    }

    /// <summary>The two largest of the group's keys counted with multiplicity (each thread brings its own two, first ≥ second), in every thread.</summary>
    private static (uint First, uint Second) ReduceTwoLargest(ArrayView<uint> firsts, ArrayView<uint> seconds, uint first, uint second)
    {
        int tid = Group.IdxX;
        firsts[tid] = first;
        seconds[tid] = second;
        Group.Barrier();
        for (int s = Group.DimX >> 1; s > 0; s >>= 1)
        {
            if (tid < s)
            {
                uint a1 = firsts[tid], a2 = seconds[tid], b1 = firsts[tid + s], b2 = seconds[tid + s];
                firsts[tid] = Math.Max(a1, b1);
                seconds[tid] = Math.Max(Math.Min(a1, b1), Math.Max(a2, b2));
            }
            Group.Barrier();
        }
        var result = (firsts[0], seconds[0]);
        Group.Barrier();
        return result;
    }
}
