using Dream.Kernels.Ilgpu;
using FsCheck.Xunit;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// The one accelerator every ILGPU test runs on: ILGPU's CPU simulator by default, or the device named by
/// DREAM_TEST_DEVICE (cuda, opencl, ilgpu-cpu). Opened once per process, with its kernels loaded once; when the
/// device is absent the tests marked <see cref="IlgpuFactAttribute"/> / <see cref="IlgpuPropertyAttribute"/> /
/// <see cref="IlgpuTheoryAttribute"/> are skipped with the reason.
/// </summary>
public static class IlgpuTestDevice
{
    public const string Variable = "DREAM_TEST_DEVICE";

    public static string Kind =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } kind ? kind : IlgpuDevice.Cpu;

    private static readonly Lazy<(IlgpuDevice? Device, IlgpuKernels? Kernels, string? Reason)> Opened = new(() =>
    {
        if (!IlgpuDevice.TryCreate(Kind, out var device, out string? reason))
            return (null, null, $"{Variable}={Kind}: {reason}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => device.Dispose();
        return (device, new IlgpuKernels(device.Accelerator), null);
    });

    /// <summary>Why the ILGPU tests are skipped, or null when the device is there.</summary>
    public static string? SkipReason => Opened.Value.Reason;

    public static IlgpuDevice Device => Opened.Value.Device ?? throw new InvalidOperationException(SkipReason);
    public static IlgpuKernels Kernels => Opened.Value.Kernels ?? throw new InvalidOperationException(SkipReason);
}

/// <summary>A fact that needs the ILGPU test device; skipped with the reason when it is absent.</summary>
public sealed class IlgpuFactAttribute : FactAttribute
{
    public IlgpuFactAttribute() => Skip = IlgpuTestDevice.SkipReason;
}

/// <summary>A theory that needs the ILGPU test device; skipped with the reason when it is absent.</summary>
public sealed class IlgpuTheoryAttribute : TheoryAttribute
{
    public IlgpuTheoryAttribute() => Skip = IlgpuTestDevice.SkipReason;
}

/// <summary>An FsCheck property that needs the ILGPU test device; skipped with the reason when it is absent.</summary>
public sealed class IlgpuPropertyAttribute : PropertyAttribute
{
    public IlgpuPropertyAttribute() => Skip = IlgpuTestDevice.SkipReason;
}

/// <summary>ILGPU tests share one accelerator and its default stream, so they run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class IlgpuCollection
{
    public const string Name = "ilgpu";
}
