using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Loads a kernel that uses Hopper-only PTX (`wgmma`, `fence.proxy.async`) — the one place in the project that
/// reaches into ILGPU through reflection, because ILGPU 1.5.3 offers no other way:
/// - ILGPU writes `.target sm_80` into every PTX module, and the PTX compiler rejects Hopper's warp-group
///   instructions unless the module targets `sm_90a` (the "a" marks architecture-specific features that run only on
///   compute capability 9.0 exactly). <see cref="Load"/> compiles the kernel with ILGPU's public API, rewrites the
///   `.target` line (<see cref="Retarget"/>), stores the text back into the compiled kernel's private
///   `PTXAssembly` backing field, and loads it with ILGPU's public <c>LoadKernel</c>, so ILGPU's own launcher
///   marshals the arguments. The field's name is checked on every load; an ILGPU version without it fails loudly
///   here rather than launching the unmodified PTX.
/// - A kernel may use more than 48 KB of dynamic shared memory only after the driver is told so; ILGPU has no API
///   for it, so <see cref="AllowDynamicSharedMemory"/> asks the driver directly (<see cref="CudaDriver"/>).
/// Pinned to ILGPU 1.5.3 (Directory.Packages.props); recheck both when upgrading.
/// </summary>
internal static partial class HopperKernelLoader
{
    /// <summary>The PTX target the warp-group kernels need.</summary>
    public const string Target = "sm_90a";

    private static readonly FieldInfo AssemblyField =
        typeof(PTXCompiledKernel).GetField("<PTXAssembly>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic)
        ?? throw new MissingFieldException(typeof(PTXCompiledKernel).FullName, "<PTXAssembly>k__BackingField (the PTX retarget needs ILGPU 1.5.3)");

    /// <summary>Whether <paramref name="accelerator"/> runs sm_90a code: a CUDA device of compute capability 9.0 (H100, H200).</summary>
    public static bool Supports(Accelerator accelerator) =>
        accelerator is CudaAccelerator cuda && cuda.Architecture == CudaArchitecture.SM_90;

    /// <summary>The PTX text with its `.target` directive set to <see cref="Target"/>; throws when there is none.</summary>
    public static string Retarget(string ptx)
    {
        var target = TargetDirective();
        if (!target.IsMatch(ptx)) throw new InvalidOperationException("the PTX has no .target directive to retarget");
        return target.Replace(ptx, ".target " + Target, 1);
    }

    [GeneratedRegex(@"\.target\s+sm_\d+a?")]
    private static partial Regex TargetDirective();

    /// <summary>Compiles the explicitly grouped kernel <paramref name="method"/> for sm_90a and loads it; dispose the result with its owner.</summary>
    public static Kernel Load(CudaAccelerator accelerator, MethodInfo method)
    {
        var entry = EntryPointDescription.FromExplicitlyGroupedKernel(method);
        var compiled = (PTXCompiledKernel)accelerator.CompileKernel(in entry);
        AssemblyField.SetValue(compiled, Retarget(compiled.PTXAssembly));
        return accelerator.LoadKernel(compiled);
    }

    /// <summary>Raises the kernel's dynamic shared-memory limit to <paramref name="bytes"/> (above the default 48 KB).</summary>
    public static void AllowDynamicSharedMemory(Kernel kernel, int bytes) =>
        CudaDriver.SetMaxDynamicSharedMemory(((CudaKernel)kernel).FunctionPtr, bytes);
}
