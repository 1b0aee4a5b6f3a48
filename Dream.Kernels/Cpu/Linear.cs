namespace Dream.Kernels.Cpu;

/// <summary>
/// A Hugging Face Linear layer, y = x·Wᵀ + b with W stored [out, in] (bf16, f16 or f32, read in place),
/// as the blocked <see cref="Gemm"/> run in parallel over column blocks of y (each worker packs its own
/// slice of W, so W is read exactly once per call).
/// </summary>
public static unsafe class Linear
{
    /// <param name="x">[T, In] row-major.</param>
    /// <param name="weight">[Out, In].</param>
    /// <param name="bias">[Out], or empty for layers without bias.</param>
    /// <param name="y">[T, Out] row-major.</param>
    public static void Forward(ReadOnlySpan<float> x, WeightMatrix weight, ReadOnlySpan<float> bias, Span<float> y,
        int tokens, int inFeatures, int outFeatures, CpuWorkspace workspace)
    {
        if (weight.Rows != outFeatures || weight.Columns != inFeatures)
            throw new ArgumentException($"weight is [{weight.Rows}, {weight.Columns}], expected [{outFeatures}, {inFeatures}]", nameof(weight));
        if (x.Length < (long)tokens * inFeatures) throw new ArgumentException($"x has {x.Length} elements, expected T·In = {(long)tokens * inFeatures}", nameof(x));
        if (y.Length < (long)tokens * outFeatures) throw new ArgumentException($"y has {y.Length} elements, expected T·Out = {(long)tokens * outFeatures}", nameof(y));
        if (!bias.IsEmpty && bias.Length != outFeatures) throw new ArgumentException($"bias has {bias.Length} elements, expected {outFeatures}", nameof(bias));

        fixed (float* px = x)
        fixed (float* pb = bias)
        fixed (float* py = y)
        {
            Run(new GemmProblem
            {
                A = px, Lda = inFeatures, B = weight, Layout = BLayout.OutByIn, Bias = bias.IsEmpty ? null : pb,
                C = py, Ldc = outFeatures, M = tokens, N = outFeatures, K = inFeatures,
            }, workspace);
        }
    }

    /// <summary>Any product, in parallel over column blocks.</summary>
    internal static void Run(in GemmProblem problem, CpuWorkspace workspace)
    {
        if (problem.M == 0 || problem.N == 0) return;
        var job = workspace.LinearJob;
        job.Problem = problem;
        job.Workspace = workspace;
        job.Width = Gemm.ColumnBlockWidth(problem.N, workspace.Parallel.Workers);
        workspace.Parallel.Run(job, (problem.N + job.Width - 1) / job.Width);
    }

    internal sealed class Job : IBlockJob
    {
        public GemmProblem Problem;
        public CpuWorkspace Workspace = null!;
        public int Width;

        public void Execute(int block, int worker)
        {
            var w = Workspace.Workers[worker];
            int n0 = block * Width;
            Gemm.ColumnBlock(Problem, n0, Math.Min(Width, Problem.N - n0), w.Pack.Pointer, w.Tile.Pointer);
        }
    }
}
