using System.Reflection;
using Dream.Kernels.Ilgpu;
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
/// context matches the one <see cref="IlgpuDevice"/> builds (O2, ILGPU.Algorithms enabled).
/// </summary>
public class KernelCompileTests
{
    public static TheoryData<string> Kernels => new(IlgpuKernels.EntryPoints.Select(e => Name(e.Method)));

    private static string Name(MethodInfo m) => $"{m.DeclaringType!.Name}.{m.Name}";

    private static EntryPointDescription Entry(string name)
    {
        var (method, grouped) = IlgpuKernels.EntryPoints.Single(e => Name(e.Method) == name);
        return grouped ? EntryPointDescription.FromExplicitlyGroupedKernel(method) : EntryPointDescription.FromImplicitlyGroupedKernel(method);
    }

    private static Context NewContext() => Context.Create(b => b.Optimize(OptimizationLevel.O2).EnableAlgorithms());

    [Theory]
    [MemberData(nameof(Kernels))]
    public void CompilesToPtx(string kernel)
    {
        using var context = NewContext();
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
        var compiled = (PTXCompiledKernel)backend.Compile(Entry(kernel), KernelSpecialization.Empty);
        Assert.Contains(".entry", compiled.PTXAssembly);
    }

    [Theory]
    [MemberData(nameof(Kernels))]
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
    /// The copy helper is inlined twice (pipeline prologue and loop), hence 16 cp.async.
    /// </summary>
    [Fact]
    public void TensorCoreLinearKeepsItsTileInRegisters()
    {
        string ptx = Ptx("TensorCoreLinear.Kernel");
        if (Environment.GetEnvironmentVariable("DREAM_DUMP_PTX") is { Length: > 0 } dump) File.WriteAllText(dump, ptx);
        Assert.Equal(64, CountOf(ptx, "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"));
        Assert.Equal(16, CountOf(ptx, "ldmatrix.sync.aligned.m8n8.x4.shared.b16"));
        Assert.Equal(16, CountOf(ptx, "cp.async.cg.shared.global"));
        int loopStart = ptx.IndexOf("cp.async.wait_group 1", StringComparison.Ordinal);
        int loopEnd = ptx.IndexOf("cp.async.wait_group 0", StringComparison.Ordinal);
        Assert.True(loopStart > 0 && loopEnd > loopStart, "main loop not found in the PTX");
        Assert.DoesNotContain(".local", ptx[loopStart..loopEnd]);
    }

    private static string Ptx(string kernel)
    {
        using var context = NewContext();
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
        return ((PTXCompiledKernel)backend.Compile(Entry(kernel), KernelSpecialization.Empty)).PTXAssembly;
    }

    private static int CountOf(string text, string what)
    {
        int count = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    /// <summary>The compile list covers every kernel method in Dream.Kernels.Ilgpu (methods named Kernel*).</summary>
    [Fact]
    public void EntryPointListCoversEveryKernel()
    {
        var declared = typeof(IlgpuKernels).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(IlgpuKernels).Namespace)
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(m => m.Name.StartsWith("Kernel", StringComparison.Ordinal))
            .Select(Name).Order().ToArray();
        Assert.Equal(declared, IlgpuKernels.EntryPoints.Select(e => Name(e.Method)).Order().ToArray());
    }
}
