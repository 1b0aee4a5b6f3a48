using System.Reflection;
using Dream.Kernels.Ilgpu;
using Dream.Kernels.Ilgpu.Training;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// Every kernel compiles to PTX (sm_90, the H100/H200) and to OpenCL C with ILGPU's own backends, no device
/// needed — so a kernel that cannot be expressed for CUDA or OpenCL fails here, not on a user's GPU. The
/// context matches the one <see cref="IlgpuDevice"/> builds (O2, ILGPU.Algorithms enabled). Two lists: the
/// inference kernels (<see cref="IlgpuKernels.EntryPoints"/>) and the trainer's (<see cref="TrainingKernels.EntryPoints"/>).
/// </summary>
public class KernelCompileTests
{
    /// <summary>Every kernel: the model's (<see cref="IlgpuKernels.EntryPoints"/>), the ops that keep their own kernel
    /// holder (<see cref="FlashAttention.EntryPoints"/>) and the trainer's (<see cref="TrainingKernels.EntryPoints"/>).</summary>
    private static IEnumerable<(MethodInfo Method, bool Grouped, bool OpenCL)> All =>
        IlgpuKernels.EntryPoints.Select(e => (e.Method, e.ExplicitlyGrouped, true))
            .Concat(FlashAttention.EntryPoints.Select(e => (e.Method, true, e.OpenCL)))
            .Concat(WarpGroupLinear.EntryPoints.Select(e => (e.Method, true, e.OpenCL)))
            .Concat(TrainingKernels.EntryPoints.Select(e => (e.Method, e.ExplicitlyGrouped, true)));

    public static TheoryData<string> Kernels => new(All.Select(e => Name(e.Method)));

    /// <summary>The kernels with an OpenCL form (CUDA-only tensor-core kernels are left out).</summary>
    public static TheoryData<string> OpenCLKernels => new(All.Where(e => e.OpenCL).Select(e => Name(e.Method)));

    private static string Name(MethodInfo m) => $"{m.DeclaringType!.Namespace!.Split('.')[^1]}.{m.DeclaringType.Name}.{m.Name}";

    private static EntryPointDescription Entry(string name)
    {
        var (method, grouped, _) = All.Single(e => Name(e.Method) == name);
        return grouped ? EntryPointDescription.FromExplicitlyGroupedKernel(method) : EntryPointDescription.FromImplicitlyGroupedKernel(method);
    }

    private static Context NewContext() => Context.Create(b => b.Optimize(OptimizationLevel.O2).EnableAlgorithms());

    [Theory]
    [MemberData(nameof(Kernels))]
    public void CompilesToPtx(string kernel) => Assert.Contains(".entry", Ptx(kernel));

    private static string Ptx(string kernel)
    {
        using var context = NewContext();
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
        return ((PTXCompiledKernel)backend.Compile(Entry(kernel), KernelSpecialization.Empty)).PTXAssembly;
    }

    /// <summary>
    /// The tensor-core attention kernel keeps every fragment and accumulator in registers: it declares the named
    /// registers once and runs 64 + 64 mma per key block (S = Q·Kᵀ, then O += P·V, 16 query rows per warp). Local
    /// memory: ILGPU 1.5.3 passes every inline-asm output through a 4-byte local slot, so the kernel has exactly
    /// one — the dynamic shared-memory base, read once before the key loop (ptxas keeps such a slot in a register)
    /// — and no other local memory. The PTX is written next to the test assembly for reading.
    /// </summary>
    [Fact]
    public void TensorCoreAttentionStaysInRegisters()
    {
        string ptx = WrittenOut("FlashAttention.KernelTensorCore", Ptx("Ilgpu.FlashAttention.KernelTensorCore"));
        Assert.Equal(1, CountOf(ptx, "ld.local"));
        Assert.Contains(".local .align 4 .b8 __local_depot0[4];", ptx);
        Assert.DoesNotContain("__local_depot1", ptx);
        Assert.Equal(1, CountOf(ptx, ".reg .f32 oacc<64>;"));
        Assert.Equal(128, CountOf(ptx, "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"));
        Assert.Equal(8 + 32 + 32, CountOf(ptx, "ldmatrix.sync.aligned.m8n8.x4"));
        Assert.Contains("__dyn_shared_alloca", ptx);
    }


    [Theory]
    [MemberData(nameof(OpenCLKernels))]
    public void CompilesToOpenCL(string kernel)
    {
        using var context = NewContext();
        var capabilities = new CLCapabilityContext(float16: false, float64: false, genericAddressSpace: true, int64_Atomics: false, subGroups: false);
        using var backend = new CLBackend(context, capabilities, CLDeviceVendor.Other, CLCVersion.CL20);
        var compiled = (CLCompiledKernel)backend.Compile(Entry(kernel), KernelSpecialization.Empty);
        Assert.Contains("kernel", compiled.Source);
    }

    /// <summary>
    /// The tensor-core GEMM's PTX issues its 64 mma.sync per 32-wide step from named registers, and its main loop
    /// (from the first wait for copies to the last) never touches local memory: C# arrays or a register tile ILGPU
    /// could not keep in registers would show up there as ld.local/st.local. (ILGPU passes `out` operands of
    /// inline assembly through a 4-byte local slot; those sit outside the loop, where ptxas keeps them in registers.)
    /// The copy helper is inlined twice (pipeline prologue and loop), hence 16 cp.async. The PTX is written next to
    /// the test assembly for reading.
    /// </summary>
    [Fact]
    public void TensorCoreLinearKeepsItsTileInRegisters()
    {
        string ptx = WrittenOut("TensorCoreLinear.Kernel", Ptx("Ilgpu.TensorCoreLinear.Kernel"));
        Assert.Equal(64, CountOf(ptx, "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"));
        Assert.Equal(16, CountOf(ptx, "ldmatrix.sync.aligned.m8n8.x4.shared.b16"));
        Assert.Equal(16, CountOf(ptx, "cp.async.cg.shared.global"));
        MainLoopStaysInRegisters(ptx, "cp.async.wait_group 1", "cp.async.wait_group 0");
    }

    /// <summary>
    /// The trainer's tensor-core GEMM (Training.TensorCoreGemm): 64 mma.sync per 32-wide step from TensorCoreLinear's
    /// named registers, 16 fragment loads per step in each layout (plain ldmatrix for KContiguous operands, .trans
    /// for KMajor ones; the layout branch is uniform per launch), 16 cp.async (the copy helper inlined for the
    /// prologue and the loop, two operands × four chunks), and no local memory between the first and the last wait
    /// for copies. The PTX is written next to the test assembly for reading.
    /// </summary>
    [Fact]
    public void TrainingTensorCoreGemmKeepsItsTileInRegisters()
    {
        string ptx = WrittenOut("Training.TensorCoreGemm.Kernel", Ptx("Training.TensorCoreGemm.Kernel"));
        Assert.Equal(64, CountOf(ptx, "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"));
        Assert.Equal(16, CountOf(ptx, "ldmatrix.sync.aligned.m8n8.x4.shared.b16"));
        Assert.Equal(16, CountOf(ptx, "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16"));
        Assert.Equal(1, CountOf(ptx, ".reg .f32 tcc<128>;"));
        Assert.Equal(16, CountOf(ptx, "cp.async.cg.shared.global"));
        MainLoopStaysInRegisters(ptx, "cp.async.wait_group 1", "cp.async.wait_group 0");
    }

    /// <summary>
    /// The Hopper GEMM (WarpGroupLinear), retargeted to sm_90a as the loader does: one main loop per tile width, each
    /// with four wgmma of its own shape per 64-wide step (k = 0, 16, 32, 48) — the width is a constant in each copy,
    /// so no loop carries the other shapes' branches — over the 128 named accumulators, declared once; two TMA box
    /// copies per stage, inlined twice for a tile's first stages and twice in each loop (from this tile or the next); one mbarrier wait, one fence and one wait for the
    /// previous step's wgmma per loop; the SwiGLU epilogues' packed reads; and no local memory and no integer division
    /// in the main loops (from the first barrier wait to the final wgmma wait). The PTX is written next to the test assembly.
    /// </summary>
    [Fact]
    public void WarpGroupLinearRetargetsAndKeepsItsTileInRegisters()
    {
        string ptx = WrittenOut("WarpGroupLinear.Kernel", HopperKernelLoader.Retarget(Ptx("Ilgpu.WarpGroupLinear.Kernel")));
        Assert.Contains(".target sm_90a", ptx);
        Assert.DoesNotContain(".target sm_80", ptx);
        foreach (int n in WarpGroupTile.MultiplyWidths.ToArray())
            Assert.Equal(4, CountOf(ptx, $"wgmma.mma_async.sync.aligned.m64n{n}k16.f32.bf16.bf16"));
        int loops = WarpGroupTile.MultiplyWidths.Length;
        Assert.Equal(1, CountOf(ptx, ".reg .f32 wgc<128>;"));
        // Two per stage: the first stages of the group's first tile and of a tile nobody copied ahead for, and in each
        // loop the refill from this tile or from the next.
        Assert.Equal(4 + 4 * loops, CountOf(ptx, "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"));
        Assert.Equal(loops, CountOf(ptx, "mbarrier.try_wait.parity.shared::cta.b64"));
        Assert.Equal(loops, CountOf(ptx, "wgmma.fence.sync.aligned;"));
        Assert.Equal(loops, CountOf(ptx, "wgmma.wait_group.sync.aligned 1;"));
        // The SwiGLU epilogues read their outputs ready packed: four approximate divisions and two bf16x2 roundings per
        // register block, 16 blocks for the token-row tiles and 10 for the token-column tile, each once stored from
        // registers and once staged for box stores.
        Assert.Equal(4 * 2 * (16 + 10), CountOf(ptx, "div.approx.f32"));
        Assert.Equal(2 * 2 * (16 + 10), CountOf(ptx, "cvt.rn.bf16x2.f32"));
        // The staged epilogues: two shared words per register block of a token-row tile's SwiGLU, four shared bf16 per
        // block of a token-column tile's, four shared f32 pairs per block of an f32 epilogue; a proxy fence for each
        // form of staging (SwiGLU, f32); the box stores (SwiGLU's two forms, f32) and the box reduce-adds (residual)
        // each in one loop; and a wait for their reads before each loop's refills of steps 0 and 1, once before
        // either staging, between f32 rounds, and at the end (full completion).
        Assert.Equal(2 * 16, CountOf(ptx, "st.shared.b32"));
        Assert.Equal(4 * 10, CountOf(ptx, "st.shared.b16"));
        Assert.Equal(4 * 16, CountOf(ptx, "st.shared.v2.f32"));
        Assert.Equal(2, CountOf(ptx, "fence.proxy.async.shared::cta;"));
        Assert.Equal(3, CountOf(ptx, "cp.async.bulk.tensor.2d.global.shared::cta.bulk_group"));
        Assert.Equal(1, CountOf(ptx, "cp.reduce.async.bulk.tensor.2d.global.shared::cta.add.tile.bulk_group"));
        Assert.Equal(loops + 2, CountOf(ptx, "cp.async.bulk.wait_group.read 0;"));
        Assert.Equal(1, CountOf(ptx, "cp.async.bulk.wait_group 0;"));
        MainLoopStaysInRegisters(ptx, "mbarrier.try_wait", "wgmma.wait_group.sync.aligned 0;", noDivisions: true);
    }

    /// <summary>
    /// The Hopper attention kernel (FlashAttention.KernelWarpGroup), retargeted to sm_90a: per key block eight
    /// `wgmma.m64n64k16` for S (the first overwrites, scale-d false) and four `wgmma.m64n128k16` for O with A from
    /// registers and B transposed (imm-trans-b = 1), each batch fenced and waited for; a proxy fence after each of
    /// the loop's two waits for copies; no ldmatrix and no mma.sync; 32 cp.async (the eight copies of a thread's share
    /// of a tile, written out in one block, for Q, K, V and the next K); no local memory in the key loop (from the first wait for copies to the store of
    /// the first row).
    /// </summary>
    [Fact]
    public void WarpGroupAttentionRetargetsAndKeepsItsTilesInRegisters()
    {
        string ptx = WrittenOut("FlashAttention.KernelWarpGroup", HopperKernelLoader.Retarget(Ptx("Ilgpu.FlashAttention.KernelWarpGroup")));
        Assert.Contains(".target sm_90a", ptx);
        Assert.Equal(8, CountOf(ptx, "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16"));
        Assert.Equal(1, CountOf(ptx, ", wgz, 1, 1, 0, 0;"));
        Assert.Equal(4, CountOf(ptx, "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16"));
        Assert.Equal(4, CountOf(ptx, ", wgp, 1, 1, 1;"));
        Assert.Equal(2, CountOf(ptx, "wgmma.fence.sync.aligned;"));
        Assert.Equal(2, CountOf(ptx, "wgmma.wait_group.sync.aligned 0;"));
        Assert.Equal(2, CountOf(ptx, "fence.proxy.async.shared::cta;"));
        Assert.Equal(0, CountOf(ptx, "ldmatrix"));
        Assert.Equal(0, CountOf(ptx, "mma.sync"));
        Assert.Equal(32, CountOf(ptx, "cp.async.cg.shared.global"));
        MainLoopStaysInRegisters(ptx, "cp.async.wait_group 0", "shfl.sync.bfly.b32 t, rsum0");
    }

    /// <summary>
    /// The device sampler's three full passes over a logits row (largest logit, kept mass, entropy) keep their
    /// running state — small structs — in registers and issue the four loads of each quad together: three times in
    /// the PTX, four f32 global loads within ten lines with no branch among them; no local memory anywhere.
    /// </summary>
    [Fact]
    public void TokenSamplerLoadsFourLogitsAtATime()
    {
        string ptx = WrittenOut("TokenSampler.Kernel", Ptx("Ilgpu.TokenSampler.Kernel"));
        Assert.DoesNotContain(".local", ptx);
        string[] lines = ptx.Split('\n').Select(l => l.Trim()).ToArray();
        int quads = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            string[] window = lines.Skip(i).Take(10).ToArray();
            if (!lines[i].StartsWith("ld.global.f32", StringComparison.Ordinal)) continue;
            int loads = window.TakeWhile(l => !l.Contains("bra", StringComparison.Ordinal)).Count(l => l.StartsWith("ld.global.f32", StringComparison.Ordinal));
            if (loads < 4) continue;
            quads++;
            i += 9;
        }
        Assert.Equal(3, quads);
    }

    [Fact]
    public void RetargetRewritesTheTargetDirectiveOnly()
    {
        Assert.Equal(".version 8.0\n.target sm_90a\n.address_size 64", HopperKernelLoader.Retarget(".version 8.0\n.target sm_80\n.address_size 64"));
        Assert.Throws<InvalidOperationException>(() => HopperKernelLoader.Retarget(".version 8.0\n"));
    }

    /// <summary>
    /// The main loop — from the first <paramref name="start"/> to the first <paramref name="end"/> — touches no local
    /// memory (C# arrays or a register tile ILGPU could not keep in registers would show up as ld.local/st.local) and
    /// divides no 64-bit integers (each is a subroutine of about a hundred instructions on the GPU: a few per step
    /// made a tensor-core product a third slower on an H200, docs/benchmarks.md), and the PTX has no empty
    /// statements (ptxas rejects them: a slip in generated assembly text). With <paramref name="noDivisions"/> it divides
    /// no 32-bit integers either: ILGPU places a value at its uses, so a tile's coordinates worked out before a loop
    /// but used only inside it can end up recomputed at every step — which starved a producer warp of a narrow tile's
    /// products (docs/benchmarks.md, thirteenth session).
    /// </summary>
    private static void MainLoopStaysInRegisters(string ptx, string start, string end, bool noDivisions = false)
    {
        int loopStart = ptx.IndexOf(start, StringComparison.Ordinal);
        int loopEnd = ptx.IndexOf(end, StringComparison.Ordinal);
        Assert.True(loopStart > 0 && loopEnd > loopStart, "main loop not found in the PTX");
        string loop = ptx[loopStart..loopEnd];
        Assert.DoesNotContain(".local", loop);
        foreach (string division in new[] { "div.s64", "div.u64", "rem.s64", "rem.u64" }) Assert.DoesNotContain(division, loop);
        if (noDivisions)
            foreach (string division in new[] { "div.s32", "div.u32", "rem.s32", "rem.u32" }) Assert.DoesNotContain(division, loop);
        Assert.DoesNotContain(";;", ptx);
    }

    /// <summary><paramref name="ptx"/>, after writing it next to the test assembly as <paramref name="name"/>.ptx for reading (and for ptxas on a GPU machine).</summary>
    private static string WrittenOut(string name, string ptx)
    {
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, name + ".ptx"), ptx);
        return ptx;
    }

    private static int CountOf(string text, string what)
    {
        int count = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    /// <summary>The compile list covers every kernel method in Dream.Kernels.Ilgpu (methods named Kernel* or *Kernel).</summary>
    [Fact]
    public void EntryPointListCoversEveryKernel() =>
        Covers(typeof(IlgpuKernels), IlgpuKernels.EntryPoints.Concat(FlashAttention.EntryPoints.Select(e => (e.Method, true)))
            .Concat(WarpGroupLinear.EntryPoints.Select(e => (e.Method, true))).ToList());

    /// <summary>The trainer's list covers every kernel method in Dream.Kernels.Ilgpu.Training.</summary>
    [Fact]
    public void TrainingEntryPointListCoversEveryKernel() => Covers(typeof(TrainingKernels), TrainingKernels.EntryPoints);

    private static void Covers(Type holder, IReadOnlyList<(MethodInfo Method, bool ExplicitlyGrouped)> list)
    {
        var declared = holder.Assembly.GetTypes()
            .Where(t => t.Namespace == holder.Namespace)
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(m => m.Name.StartsWith("Kernel", StringComparison.Ordinal) || m.Name.EndsWith("Kernel", StringComparison.Ordinal))
            .Select(Name).Order().ToArray();
        Assert.Equal(declared, list.Select(e => Name(e.Method)).Order().ToArray());
    }
}
