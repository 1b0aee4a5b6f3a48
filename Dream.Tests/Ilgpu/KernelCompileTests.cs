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
    private static IEnumerable<(MethodInfo Method, bool ExplicitlyGrouped)> All => IlgpuKernels.EntryPoints.Concat(TrainingKernels.EntryPoints);

    public static TheoryData<string> Kernels => new(All.Select(e => Name(e.Method)));

    private static string Name(MethodInfo m) => $"{m.DeclaringType!.Namespace!.Split('.')[^1]}.{m.DeclaringType.Name}.{m.Name}";

    private static EntryPointDescription Entry(string name)
    {
        var (method, grouped) = All.Single(e => Name(e.Method) == name);
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

    /// <summary>The compile list covers every kernel method in Dream.Kernels.Ilgpu (methods named Kernel* or *Kernel).</summary>
    [Fact]
    public void EntryPointListCoversEveryKernel() => Covers(typeof(IlgpuKernels), IlgpuKernels.EntryPoints);

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
