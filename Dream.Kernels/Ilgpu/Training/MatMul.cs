using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu.Training;

/// <summary>
/// One strided operand of <see cref="MatMul"/>: element (row, col) of matrix z lives at
/// Offset + (z / H)·BatchStride + ((z % H) / HeadDivisor)·HeadStride + row·RowStride + col·ColStride,
/// where z is the batch index and H the product's heads per batch. A transposed operand is the same memory with
/// the two strides swapped; a GQA key/value operand divides the head index by the group size.
/// </summary>
public readonly record struct MatrixView(long Offset, long RowStride, long ColStride, long BatchStride = 0, long HeadStride = 0, int HeadDivisor = 1)
{
    /// <summary>A row-major [rows, cols] matrix used as it is.</summary>
    public static MatrixView RowMajor(int cols) => new(0, cols, 1);

    /// <summary>A row-major [rows, cols] matrix used as its transpose.</summary>
    public static MatrixView Transposed(int cols) => new(0, 1, cols);

    internal long Base(int z, int heads) => Offset + (z / heads) * BatchStride + (z % heads / HeadDivisor) * HeadStride;
}

/// <summary>The sizes and flags of one batched product, passed to the kernel as one struct.</summary>
public struct MatMulShape
{
    public int M, N, K, Heads;
    public MatrixView A, B, C;
    /// <summary>1: C += A·B; 0: C = A·B.</summary>
    public int Accumulate;
    /// <summary>1: add bias[j] to every row (the bias view must then hold N values).</summary>
    public int HasBias;
    /// <summary>
    /// Split-K: when positive, batch z multiplies only the slice k ∈ [z·K, min((z + 1)·K, KTotal)) — the views'
    /// batch strides step along K — and each slice writes its own C (summed afterwards by SumSlices).
    /// </summary>
    public int KTotal;
}

/// <summary>
/// The trainer's one matrix product, C[z] (+)= A[z]·B[z] (+ bias), over a batch of strided matrices — all three
/// products of a Linear layer (y = x·Wᵀ, dx = dy·W, dW = dyᵀ·x) and the six of attention (S = Q·Kᵀ, O = P·V,
/// dP = dO·Vᵀ, dQ = dS·K, dK = dSᵀ·Q, dV = Pᵀ·dO) are this kernel with different strides.
/// A group of G×G threads owns a block of 4G rows × 4G columns of C; each thread keeps a 4×4 register tile
/// (rows ty + rG, columns tx + cG, r, c &lt; 4: neighbouring threads write neighbouring columns), unrolled by hand
/// because ILGPU 1.5.3 does not unroll loops. Per step of <see cref="ChunkK"/> along K, the group stages A's
/// [4G, 16] and B's [16, 4G] tiles in static shared memory, each loaded along whichever axis is contiguous in
/// global memory (coalesced), zero-filled past the edges; then every thread runs the 16 k's in ascending order
/// (the reference's order). Any M, N, K. Twin of Dream.Kernels.Training.MatMul; oracle: the textbook product.
/// </summary>
public static class MatMul
{
    /// <summary>K per shared-memory stage.</summary>
    public const int ChunkK = 16;

    /// <summary>Largest block edge (4·G for G = 16): the static shared tiles are ChunkK × this.</summary>
    public const int MaxBlock = 64;

    /// <param name="batch">Number of products z (each with its own A, B and C base from the views).</param>
    public static void Run(TrainingKernels kernels, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias,
        in MatMulShape shape, int batch = 1)
    {
        if (shape.M == 0 || shape.N == 0 || batch == 0) return;
        int g = kernels.MatMulTile, block = 4 * g;
        var grid = new Index3D((shape.N + block - 1) / block, (shape.M + block - 1) / block, batch);
        kernels.MatMulKernelLoaded(new KernelConfig(grid, new Index3D(g, g, 1)), a, b, c, bias, shape);
    }

    internal static void Kernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, MatMulShape s)
    {
        var tileA = SharedMemory.Allocate<float>(ChunkK * MaxBlock);   // [k, i] of the block
        var tileB = SharedMemory.Allocate<float>(ChunkK * MaxBlock);   // [k, j] of the block
        int g = Group.DimX, tx = Group.IdxX, ty = Group.IdxY;
        int threads = g * g, tid = ty * g + tx, block = 4 * g;
        int i0 = Grid.IdxY * block, j0 = Grid.IdxX * block, z = Grid.IdxZ;
        long baseA = s.A.Base(z, s.Heads), baseB = s.B.Base(z, s.Heads), baseC = s.C.Base(z, s.Heads);
        bool aAlongK = s.A.ColStride == 1, bAlongJ = s.B.ColStride == 1;
        int tileSize = ChunkK * block;

        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        int kEnd = s.KTotal > 0 ? XMath.Min(s.K, s.KTotal - z * s.K) : s.K;
        for (int k0 = 0; k0 < kEnd; k0 += ChunkK)
        {
            for (int e = tid; e < tileSize; e += threads)
            {
                int ii, kk;
                if (aAlongK) { kk = e % ChunkK; ii = e / ChunkK; }
                else { ii = e % block; kk = e / block; }
                int gi = i0 + ii, gk = k0 + kk;
                tileA[kk * block + ii] = gi < s.M && gk < kEnd ? a[baseA + gi * s.A.RowStride + gk * s.A.ColStride] : 0f;

                int jj;
                if (bAlongJ) { jj = e % block; kk = e / block; }
                else { kk = e % ChunkK; jj = e / ChunkK; }
                int gj = j0 + jj;
                gk = k0 + kk;
                tileB[kk * block + jj] = gj < s.N && gk < kEnd ? b[baseB + gk * s.B.RowStride + gj * s.B.ColStride] : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < ChunkK; kk++)
            {
                int ra = kk * block + ty, rb = kk * block + tx;
                float a0 = tileA[ra], a1 = tileA[ra + g], a2 = tileA[ra + 2 * g], a3 = tileA[ra + 3 * g];
                float b0 = tileB[rb], b1 = tileB[rb + g], b2 = tileB[rb + 2 * g], b3 = tileB[rb + 3 * g];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            Group.Barrier();
        }

        int i = i0 + ty, j = j0 + tx;
        Store(c, bias, s, baseC, i, j, c00); Store(c, bias, s, baseC, i, j + g, c01); Store(c, bias, s, baseC, i, j + 2 * g, c02); Store(c, bias, s, baseC, i, j + 3 * g, c03);
        i += g;
        Store(c, bias, s, baseC, i, j, c10); Store(c, bias, s, baseC, i, j + g, c11); Store(c, bias, s, baseC, i, j + 2 * g, c12); Store(c, bias, s, baseC, i, j + 3 * g, c13);
        i += g;
        Store(c, bias, s, baseC, i, j, c20); Store(c, bias, s, baseC, i, j + g, c21); Store(c, bias, s, baseC, i, j + 2 * g, c22); Store(c, bias, s, baseC, i, j + 3 * g, c23);
        i += g;
        Store(c, bias, s, baseC, i, j, c30); Store(c, bias, s, baseC, i, j + g, c31); Store(c, bias, s, baseC, i, j + 2 * g, c32); Store(c, bias, s, baseC, i, j + 3 * g, c33);
    }

    /// <summary>total[i] += Σ_z slices[z·count + i], z ascending: the split-K partial products summed in a fixed order.</summary>
    internal static void SumSlicesKernel(Index1D i, ArrayView<float> slices, int count, int sliceCount, ArrayView<float> total)
    {
        float sum = 0f;
        for (int z = 0; z < sliceCount; z++) sum += slices[(long)z * count + i];
        total[i] += sum;
    }

    private static void Store(ArrayView<float> c, ArrayView<float> bias, in MatMulShape s, long baseC, int i, int j, float value)
    {
        if (i >= s.M || j >= s.N) return;
        long at = baseC + i * s.C.RowStride + j * s.C.ColStride;
        if (s.HasBias != 0) value += bias[j];
        c[at] = s.Accumulate != 0 ? c[at] + value : value;
    }
}
