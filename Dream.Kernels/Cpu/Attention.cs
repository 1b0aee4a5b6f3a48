using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace Dream.Kernels.Cpu;

/// <summary>
/// Bidirectional grouped-query attention (never causal), per batch row b and query head h (kv head g = h / (H/Hkv)):
///   S = Q_h·K_gᵀ · 1/sqrt(Dh) + maskBias      [Tq, T]  (maskBias = −∞ on padded keys, else 0)
///   P = softmax_rows(S)                        (max subtracted first; never TensorPrimitives.SoftMax)
///   O_h = P·V_g / rowsum                       [Tq, Dh]
/// Both products run through the blocked <see cref="Gemm"/> on one worker; the parallel unit is
/// (b, h, a chunk of 60 query rows). A padded query row outputs zeros, as the official 4-D mask makes it.
/// </summary>
public static unsafe class Attention
{
    /// <summary>Query rows per task: large enough that packing K and V (T·Dh each) is a small share of the work, and a
    /// multiple of the micro-kernel's 6 rows so that full chunks never take the edge-tile path.</summary>
    public const int QueryChunk = 60;

    /// <param name="q">[B, T, H, Dh] row-major (after RoPE).</param>
    /// <param name="k">[B, T, Hkv, Dh] row-major (after RoPE).</param>
    /// <param name="v">[B, T, Hkv, Dh] row-major.</param>
    /// <param name="isReal">[B, T] true for real tokens; empty = no padding.</param>
    /// <param name="output">[B, T, H, Dh] row-major.</param>
    public static void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<bool> isReal,
        Span<float> output, int batch, int tokens, int heads, int kvHeads, int headDim, CpuWorkspace workspace)
    {
        long rows = (long)batch * tokens;
        if (heads % kvHeads != 0) throw new ArgumentException($"{heads} query heads do not divide into {kvHeads} kv heads", nameof(kvHeads));
        if (q.Length < rows * heads * headDim || output.Length < rows * heads * headDim)
            throw new ArgumentException($"q and output need B·T·H·Dh = {rows * heads * headDim} elements");
        if (k.Length < rows * kvHeads * headDim || v.Length < rows * kvHeads * headDim)
            throw new ArgumentException($"k and v need B·T·Hkv·Dh = {rows * kvHeads * headDim} elements");
        if (!isReal.IsEmpty && isReal.Length != rows) throw new ArgumentException($"isReal has {isReal.Length} entries, expected B·T = {rows}", nameof(isReal));

        var job = workspace.AttentionJob;
        job.MaskBias.Ensure(rows);
        for (int i = 0; i < rows; i++) job.MaskBias.Pointer[i] = isReal.IsEmpty || isReal[i] ? 0f : float.NegativeInfinity;
        foreach (var w in workspace.Workers) w.Scores.Ensure((long)QueryChunk * tokens);

        fixed (float* pq = q)
        fixed (float* pk = k)
        fixed (float* pv = v)
        fixed (float* po = output)
        {
            job.Q = pq; job.K = pk; job.V = pv; job.Output = po;
            job.Batch = batch; job.Tokens = tokens; job.Heads = heads; job.KvHeads = kvHeads; job.HeadDim = headDim;
            job.Chunks = (tokens + QueryChunk - 1) / QueryChunk;
            job.Workspace = workspace;
            workspace.Parallel.Run(job, batch * heads * job.Chunks);
        }
    }

    internal sealed class Job : IBlockJob, IDisposable
    {
        public float* Q, K, V, Output;
        public int Batch, Tokens, Heads, KvHeads, HeadDim, Chunks;
        public CpuWorkspace Workspace = null!;
        public NativeBuffer MaskBias { get; } = new();               // [B, T]: 0 real, −∞ padding

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int block, int worker)
        {
            int chunk = block % Chunks;
            int h = block / Chunks % Heads;
            int b = block / Chunks / Heads;
            int g = h / (Heads / KvHeads);
            int t0 = chunk * QueryChunk;
            int tq = Math.Min(QueryChunk, Tokens - t0);
            int n = Tokens, dh = HeadDim;
            long qStride = (long)Heads * dh, kvStride = (long)KvHeads * dh;
            var w = Workspace.Workers[worker];
            float* scores = w.Scores.Pointer;                                     // [tq, T]
            float* bias = MaskBias.Pointer + (long)b * n;                          // [T]
            float* q = Q + ((long)b * n + t0) * qStride + (long)h * dh;             // [tq, Dh], stride H·Dh
            float* kg = K + (long)b * n * kvStride + (long)g * dh;                  // [T, Dh], stride Hkv·Dh
            float* vg = V + (long)b * n * kvStride + (long)g * dh;                  // [T, Dh], stride Hkv·Dh
            float* o = Output + ((long)b * n + t0) * qStride + (long)h * dh;        // [tq, Dh], stride H·Dh

            // S = Q·Kᵀ: K_g is [T, Dh], i.e. a Linear weight [out = T, in = Dh].
            Gemm.Run(new GemmProblem
            {
                A = q, Lda = qStride, B = WeightMatrix.F32(kg, n, dh, kvStride), Layout = BLayout.OutByIn,
                C = scores, Ldc = n, M = tq, N = n, K = dh,
            }, w.Pack.Pointer, w.Tile.Pointer);

            float scale = 1f / MathF.Sqrt(dh);
            var maskBias = new ReadOnlySpan<float>(bias, n);
            Span<float> sums = stackalloc float[QueryChunk];
            for (int i = 0; i < tq; i++)
            {
                var s = new Span<float>(scores + (long)i * n, n);
                if (float.IsNegativeInfinity(bias[t0 + i]))
                {
                    s.Clear();      // a padded query: P row of zeros, so its output row is zero
                    sums[i] = 1f;
                    continue;
                }
                TensorPrimitives.Multiply(s, scale, s);
                TensorPrimitives.Add(s, maskBias, s);
                float max = TensorPrimitives.Max(s);
                TensorPrimitives.Subtract(s, max, s);
                TensorPrimitives.Exp(s, s);
                sums[i] = TensorPrimitives.Sum(s);
            }

            // O = P·V: V_g is [K = T, N = Dh].
            Gemm.Run(new GemmProblem
            {
                A = scores, Lda = n, B = WeightMatrix.F32(vg, n, dh, kvStride), Layout = BLayout.InByOut,
                C = o, Ldc = qStride, M = tq, N = dh, K = n,
            }, w.Pack.Pointer, w.Tile.Pointer);
            for (int i = 0; i < tq; i++)
            {
                var row = new Span<float>(o + i * qStride, dh);
                TensorPrimitives.Divide(row, sums[i], row);
            }
        }

        public void Dispose() => MaskBias.Dispose();
    }
}
