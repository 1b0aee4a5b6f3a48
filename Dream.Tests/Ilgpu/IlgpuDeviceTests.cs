using Dream.Kernels.Ilgpu;
using Xunit.Abstractions;

namespace Dream.Tests.Ilgpu;

/// <summary>Device choice by name, and a guard that a device CI asks for is really there.</summary>
[Collection(IlgpuCollection.Name)]
public class IlgpuDeviceTests(ITestOutputHelper output)
{
    /// <summary>
    /// With DREAM_TEST_REQUIRE_DEVICE=1 (set by the OpenCL CI script and the GPU runs) a missing device fails
    /// here instead of silently skipping every other ILGPU test. Reports which device the tests ran on.
    /// </summary>
    [Fact]
    public void RequestedDeviceIsPresentWhenRequired()
    {
        string? reason = IlgpuTestDevice.SkipReason;
        if (reason is null)
        {
            var k = IlgpuTestDevice.Kernels;
            output.WriteLine($"{IlgpuTestDevice.Kind}: '{IlgpuTestDevice.Device.Name}', groups of {k.ReductionGroupSize}, linear tile {k.LinearTile}×{k.LinearTile}, chunk {k.LinearChunk}");
            return;
        }
        output.WriteLine(reason);
        Assert.False(Environment.GetEnvironmentVariable("DREAM_TEST_REQUIRE_DEVICE") == "1", reason);
    }

    [Fact]
    public void UnknownDeviceNameIsAClearError()
    {
        var e = Assert.Throws<IlgpuDeviceNotFoundException>(() => IlgpuDevice.Create("vulkan"));
        Assert.Equal("unknown ILGPU device 'vulkan': expected one of cuda, opencl, ilgpu-cpu", e.Message);
    }
}
