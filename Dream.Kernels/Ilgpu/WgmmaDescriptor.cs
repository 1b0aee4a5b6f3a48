using System.Runtime.CompilerServices;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The 64-bit shared-memory matrix descriptor a `wgmma` reads an operand through (sm_90a), for tiles stored in the
/// 128-byte swizzle the project's Hopper kernels use (16-byte chunk c of row r at r·128 + 16·(c ⊕ r mod 8), 8-row
/// atoms of 1 KB, 1 KB-aligned): the swizzle mode in bits 62–63, the stride byte offset (between 8-row atoms) ≫ 4 in
/// bits 32–45, the leading byte offset ≫ 4 in bits 16–29 and the tile's start address ≫ 4 in bits 0–13.
/// <see cref="WarpGroupLinear"/> and <see cref="FlashAttention"/>'s warp-group kernel both build theirs here.
/// </summary>
internal static class WgmmaDescriptor
{
    /// <summary>128-byte swizzle (mode 1) with 1 KB between 8-row atoms (1024 ≫ 4 = 64); no leading byte offset yet.</summary>
    private const long Swizzled = (1L << 62) | (64L << 32);

    /// <summary>
    /// The constant half for a K-major operand (K contiguous, as x, W, Q and K are stored): the leading byte offset is
    /// unused by swizzled K-major layouts and set to 1.
    /// </summary>
    public const long KMajor = Swizzled | (1L << 16);

    /// <summary>
    /// The constant half for an N-major operand (N contiguous — V as the B of P·V): <paramref name="leadingBytes"/>
    /// between the 64-wide atoms along N.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long NMajor(int leadingBytes) => Swizzled | ((long)(leadingBytes >> 4) << 16);

    /// <summary>The descriptor of the tile at shared-memory address <paramref name="address"/> with the given constant half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long At(long constantHalf, uint address) => constantHalf | ((address & 0x3FFFF) >> 4);
}
