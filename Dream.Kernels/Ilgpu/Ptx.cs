using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The few Ampere-level PTX instructions the tensor-core kernels need and ILGPU 1.5.3 has no API for: 16-byte
/// asynchronous copies global → shared (`cp.async`), and the address of the kernel's dynamic shared memory.
/// ILGPU writes `.target sm_80`, so these assemble on the H100/H200 (sm_90) as well.
///
/// Every call must sit behind `if (CudaAsm.IsSupported)`: on the CPU simulator and OpenCL the assembly is not
/// emitted at all, and each kernel carries a portable fallback for those devices.
///
/// Addresses: shared memory is addressed by its 32-bit offset in the `.shared` window; global memory by the
/// 64-bit device address, which kernels get as a `long` argument computed on the host
/// (<see cref="DeviceAddress{T}"/>) — there are no pointers inside ILGPU kernels.
/// </summary>
internal static class Ptx
{
    /// <summary>The device address of element 0 of <paramref name="view"/> (host side, CUDA buffers only).</summary>
    public static long DeviceAddress<T>(ArrayView<T> view) where T : unmanaged => view.LoadEffectiveAddressAsPtr().ToInt64();

    /// <summary>
    /// The `.shared` address of the kernel's dynamic shared memory. ILGPU declares the symbol
    /// `__dyn_shared_alloca` when the kernel calls <see cref="SharedMemory.GetDynamic{T}"/>; with no static shared
    /// memory in the kernel it starts at offset 0 of the block's window, so it is aligned for 16-byte copies.
    /// </summary>
    public static uint DynamicSharedBase()
    {
        CudaAsm.Emit("mov.u32 %0, __dyn_shared_alloca;", out uint address);
        return address;
    }

    /// <summary>
    /// Starts a 16-byte copy global → shared; <paramref name="sourceBytes"/> &lt; 16 zero-fills the rest (0 reads
    /// nothing, so out-of-range tiles pass a valid address with 0 bytes).
    /// </summary>
    public static void CopyAsync16(uint shared, long global, int sourceBytes) =>
        CudaAsm.Emit("cp.async.cg.shared.global [%0], [%1], 16, %2;", shared, global, sourceBytes);

    /// <summary>Closes the group of copies started since the last commit.</summary>
    public static void CommitCopies() => CudaAsm.Emit("cp.async.commit_group;");

    /// <summary>Waits until at most 0 / 1 committed copy groups are still in flight (the count is part of the instruction).</summary>
    public static void WaitCopies0() => CudaAsm.Emit("cp.async.wait_group 0;");
    public static void WaitCopies1() => CudaAsm.Emit("cp.async.wait_group 1;");
}
