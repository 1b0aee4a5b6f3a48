namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The unrolled PTX of <see cref="FlashAttention.KernelTensorCore"/> and <see cref="FlashAttention.KernelWarpGroup"/>. ILGPU 1.5.3 neither unrolls loops nor keeps
/// arrays in registers, and inline assembly must be a constant string, so every fragment, accumulator and mma is
/// written out by name. The blocks follow one rule each (stated in its summary); lane l, g = l / 4, t = l mod 4.
/// mma.m16n8k16 fragments: A a0 = [g][2t..2t+1], a1 = [g+8][2t..], a2 = [g][2t+8..], a3 = [g+8][2t+8..];
/// B b0 = [2t..2t+1][g], b1 = [2t+8..][g]; C/D d0, d1 = [g][2t, 2t+1], d2, d3 = [g+8][2t, 2t+1].
/// Accumulator tile n of S (keys 8n..8n+7) is sacc4n..4n+3, of O (dims 8n..8n+7) oacc4n..4n+3. wgmma's m64nN
/// accumulators put warp w of the warp group on rows 16w..16w+15 in exactly this layout, which is why the masking,
/// softmax and store blocks serve both kernels.
/// </summary>
public static partial class FlashAttention
{
    /// <summary>Function-scope named registers (no braces, emitted once): Q A-fragments qf, O accumulators oacc, S accumulators sacc, P as bf16 pairs pbf, running max rmax and partial row sums rsum for rows g and g+8.</summary>
    private const string DeclareRegisters = """
        .reg .b32 qf<32>;
        .reg .f32 oacc<64>;
        .reg .f32 sacc<32>;
        .reg .b32 pbf<16>;
        .reg .f32 rmax<2>;
        .reg .f32 rsum<2>;
        """;

    /// <summary>O = 0, running max = −∞, partial row sums = 0.</summary>
    private const string InitAccumulators = """
        mov.f32 oacc0, 0f00000000; mov.f32 oacc1, 0f00000000; mov.f32 oacc2, 0f00000000; mov.f32 oacc3, 0f00000000;
        mov.f32 oacc4, 0f00000000; mov.f32 oacc5, 0f00000000; mov.f32 oacc6, 0f00000000; mov.f32 oacc7, 0f00000000;
        mov.f32 oacc8, 0f00000000; mov.f32 oacc9, 0f00000000; mov.f32 oacc10, 0f00000000; mov.f32 oacc11, 0f00000000;
        mov.f32 oacc12, 0f00000000; mov.f32 oacc13, 0f00000000; mov.f32 oacc14, 0f00000000; mov.f32 oacc15, 0f00000000;
        mov.f32 oacc16, 0f00000000; mov.f32 oacc17, 0f00000000; mov.f32 oacc18, 0f00000000; mov.f32 oacc19, 0f00000000;
        mov.f32 oacc20, 0f00000000; mov.f32 oacc21, 0f00000000; mov.f32 oacc22, 0f00000000; mov.f32 oacc23, 0f00000000;
        mov.f32 oacc24, 0f00000000; mov.f32 oacc25, 0f00000000; mov.f32 oacc26, 0f00000000; mov.f32 oacc27, 0f00000000;
        mov.f32 oacc28, 0f00000000; mov.f32 oacc29, 0f00000000; mov.f32 oacc30, 0f00000000; mov.f32 oacc31, 0f00000000;
        mov.f32 oacc32, 0f00000000; mov.f32 oacc33, 0f00000000; mov.f32 oacc34, 0f00000000; mov.f32 oacc35, 0f00000000;
        mov.f32 oacc36, 0f00000000; mov.f32 oacc37, 0f00000000; mov.f32 oacc38, 0f00000000; mov.f32 oacc39, 0f00000000;
        mov.f32 oacc40, 0f00000000; mov.f32 oacc41, 0f00000000; mov.f32 oacc42, 0f00000000; mov.f32 oacc43, 0f00000000;
        mov.f32 oacc44, 0f00000000; mov.f32 oacc45, 0f00000000; mov.f32 oacc46, 0f00000000; mov.f32 oacc47, 0f00000000;
        mov.f32 oacc48, 0f00000000; mov.f32 oacc49, 0f00000000; mov.f32 oacc50, 0f00000000; mov.f32 oacc51, 0f00000000;
        mov.f32 oacc52, 0f00000000; mov.f32 oacc53, 0f00000000; mov.f32 oacc54, 0f00000000; mov.f32 oacc55, 0f00000000;
        mov.f32 oacc56, 0f00000000; mov.f32 oacc57, 0f00000000; mov.f32 oacc58, 0f00000000; mov.f32 oacc59, 0f00000000;
        mov.f32 oacc60, 0f00000000; mov.f32 oacc61, 0f00000000; mov.f32 oacc62, 0f00000000; mov.f32 oacc63, 0f00000000;
        mov.f32 rmax0, 0fFF800000; mov.f32 rmax1, 0fFF800000; mov.f32 rsum0, 0f00000000; mov.f32 rsum1, 0f00000000;
        """;

    /// <summary>Q A-fragments for the eight k16 steps over Dh = 128: %0 = this lane's ldmatrix row address (row 16·warp + (lane &amp; 15), 16-byte chunk lane &gt;&gt; 4); step kk is 32 bytes further.</summary>
    private const string LoadQueryFragments = """
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {qf0,qf1,qf2,qf3}, [%0+0];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {qf4,qf5,qf6,qf7}, [%0+32];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {qf8,qf9,qf10,qf11}, [%0+64];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {qf12,qf13,qf14,qf15}, [%0+96];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {qf16,qf17,qf18,qf19}, [%0+128];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {qf20,qf21,qf22,qf23}, [%0+160];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {qf24,qf25,qf26,qf27}, [%0+192];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {qf28,qf29,qf30,qf31}, [%0+224];
        """;

    /// <summary>S = Q·Kᵀ for 16 query rows × 64 keys: per k16 step kk (d = 16kk..16kk+15), four ldmatrix.x4 of K (keys 16np..16np+15, %0 + np·16·272 + 32kk) give the B fragments of key tiles 2np and 2np+1, then eight mma.</summary>
    private const string Scores = """
        {
        .reg .b32 kb<16>;
        mov.f32 sacc0, 0f00000000; mov.f32 sacc1, 0f00000000; mov.f32 sacc2, 0f00000000; mov.f32 sacc3, 0f00000000;
        mov.f32 sacc4, 0f00000000; mov.f32 sacc5, 0f00000000; mov.f32 sacc6, 0f00000000; mov.f32 sacc7, 0f00000000;
        mov.f32 sacc8, 0f00000000; mov.f32 sacc9, 0f00000000; mov.f32 sacc10, 0f00000000; mov.f32 sacc11, 0f00000000;
        mov.f32 sacc12, 0f00000000; mov.f32 sacc13, 0f00000000; mov.f32 sacc14, 0f00000000; mov.f32 sacc15, 0f00000000;
        mov.f32 sacc16, 0f00000000; mov.f32 sacc17, 0f00000000; mov.f32 sacc18, 0f00000000; mov.f32 sacc19, 0f00000000;
        mov.f32 sacc20, 0f00000000; mov.f32 sacc21, 0f00000000; mov.f32 sacc22, 0f00000000; mov.f32 sacc23, 0f00000000;
        mov.f32 sacc24, 0f00000000; mov.f32 sacc25, 0f00000000; mov.f32 sacc26, 0f00000000; mov.f32 sacc27, 0f00000000;
        mov.f32 sacc28, 0f00000000; mov.f32 sacc29, 0f00000000; mov.f32 sacc30, 0f00000000; mov.f32 sacc31, 0f00000000;
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb0,kb1,kb2,kb3}, [%0+0];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb4,kb5,kb6,kb7}, [%0+4352];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb8,kb9,kb10,kb11}, [%0+8704];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb12,kb13,kb14,kb15}, [%0+13056];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc0,sacc1,sacc2,sacc3}, {qf0,qf1,qf2,qf3}, {kb0,kb1}, {sacc0,sacc1,sacc2,sacc3};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc4,sacc5,sacc6,sacc7}, {qf0,qf1,qf2,qf3}, {kb2,kb3}, {sacc4,sacc5,sacc6,sacc7};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc8,sacc9,sacc10,sacc11}, {qf0,qf1,qf2,qf3}, {kb4,kb5}, {sacc8,sacc9,sacc10,sacc11};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc12,sacc13,sacc14,sacc15}, {qf0,qf1,qf2,qf3}, {kb6,kb7}, {sacc12,sacc13,sacc14,sacc15};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc16,sacc17,sacc18,sacc19}, {qf0,qf1,qf2,qf3}, {kb8,kb9}, {sacc16,sacc17,sacc18,sacc19};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc20,sacc21,sacc22,sacc23}, {qf0,qf1,qf2,qf3}, {kb10,kb11}, {sacc20,sacc21,sacc22,sacc23};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc24,sacc25,sacc26,sacc27}, {qf0,qf1,qf2,qf3}, {kb12,kb13}, {sacc24,sacc25,sacc26,sacc27};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc28,sacc29,sacc30,sacc31}, {qf0,qf1,qf2,qf3}, {kb14,kb15}, {sacc28,sacc29,sacc30,sacc31};
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb0,kb1,kb2,kb3}, [%0+32];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb4,kb5,kb6,kb7}, [%0+4384];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb8,kb9,kb10,kb11}, [%0+8736];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb12,kb13,kb14,kb15}, [%0+13088];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc0,sacc1,sacc2,sacc3}, {qf4,qf5,qf6,qf7}, {kb0,kb1}, {sacc0,sacc1,sacc2,sacc3};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc4,sacc5,sacc6,sacc7}, {qf4,qf5,qf6,qf7}, {kb2,kb3}, {sacc4,sacc5,sacc6,sacc7};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc8,sacc9,sacc10,sacc11}, {qf4,qf5,qf6,qf7}, {kb4,kb5}, {sacc8,sacc9,sacc10,sacc11};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc12,sacc13,sacc14,sacc15}, {qf4,qf5,qf6,qf7}, {kb6,kb7}, {sacc12,sacc13,sacc14,sacc15};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc16,sacc17,sacc18,sacc19}, {qf4,qf5,qf6,qf7}, {kb8,kb9}, {sacc16,sacc17,sacc18,sacc19};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc20,sacc21,sacc22,sacc23}, {qf4,qf5,qf6,qf7}, {kb10,kb11}, {sacc20,sacc21,sacc22,sacc23};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc24,sacc25,sacc26,sacc27}, {qf4,qf5,qf6,qf7}, {kb12,kb13}, {sacc24,sacc25,sacc26,sacc27};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc28,sacc29,sacc30,sacc31}, {qf4,qf5,qf6,qf7}, {kb14,kb15}, {sacc28,sacc29,sacc30,sacc31};
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb0,kb1,kb2,kb3}, [%0+64];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb4,kb5,kb6,kb7}, [%0+4416];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb8,kb9,kb10,kb11}, [%0+8768];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb12,kb13,kb14,kb15}, [%0+13120];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc0,sacc1,sacc2,sacc3}, {qf8,qf9,qf10,qf11}, {kb0,kb1}, {sacc0,sacc1,sacc2,sacc3};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc4,sacc5,sacc6,sacc7}, {qf8,qf9,qf10,qf11}, {kb2,kb3}, {sacc4,sacc5,sacc6,sacc7};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc8,sacc9,sacc10,sacc11}, {qf8,qf9,qf10,qf11}, {kb4,kb5}, {sacc8,sacc9,sacc10,sacc11};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc12,sacc13,sacc14,sacc15}, {qf8,qf9,qf10,qf11}, {kb6,kb7}, {sacc12,sacc13,sacc14,sacc15};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc16,sacc17,sacc18,sacc19}, {qf8,qf9,qf10,qf11}, {kb8,kb9}, {sacc16,sacc17,sacc18,sacc19};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc20,sacc21,sacc22,sacc23}, {qf8,qf9,qf10,qf11}, {kb10,kb11}, {sacc20,sacc21,sacc22,sacc23};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc24,sacc25,sacc26,sacc27}, {qf8,qf9,qf10,qf11}, {kb12,kb13}, {sacc24,sacc25,sacc26,sacc27};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc28,sacc29,sacc30,sacc31}, {qf8,qf9,qf10,qf11}, {kb14,kb15}, {sacc28,sacc29,sacc30,sacc31};
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb0,kb1,kb2,kb3}, [%0+96];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb4,kb5,kb6,kb7}, [%0+4448];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb8,kb9,kb10,kb11}, [%0+8800];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb12,kb13,kb14,kb15}, [%0+13152];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc0,sacc1,sacc2,sacc3}, {qf12,qf13,qf14,qf15}, {kb0,kb1}, {sacc0,sacc1,sacc2,sacc3};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc4,sacc5,sacc6,sacc7}, {qf12,qf13,qf14,qf15}, {kb2,kb3}, {sacc4,sacc5,sacc6,sacc7};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc8,sacc9,sacc10,sacc11}, {qf12,qf13,qf14,qf15}, {kb4,kb5}, {sacc8,sacc9,sacc10,sacc11};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc12,sacc13,sacc14,sacc15}, {qf12,qf13,qf14,qf15}, {kb6,kb7}, {sacc12,sacc13,sacc14,sacc15};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc16,sacc17,sacc18,sacc19}, {qf12,qf13,qf14,qf15}, {kb8,kb9}, {sacc16,sacc17,sacc18,sacc19};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc20,sacc21,sacc22,sacc23}, {qf12,qf13,qf14,qf15}, {kb10,kb11}, {sacc20,sacc21,sacc22,sacc23};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc24,sacc25,sacc26,sacc27}, {qf12,qf13,qf14,qf15}, {kb12,kb13}, {sacc24,sacc25,sacc26,sacc27};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc28,sacc29,sacc30,sacc31}, {qf12,qf13,qf14,qf15}, {kb14,kb15}, {sacc28,sacc29,sacc30,sacc31};
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb0,kb1,kb2,kb3}, [%0+128];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb4,kb5,kb6,kb7}, [%0+4480];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb8,kb9,kb10,kb11}, [%0+8832];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb12,kb13,kb14,kb15}, [%0+13184];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc0,sacc1,sacc2,sacc3}, {qf16,qf17,qf18,qf19}, {kb0,kb1}, {sacc0,sacc1,sacc2,sacc3};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc4,sacc5,sacc6,sacc7}, {qf16,qf17,qf18,qf19}, {kb2,kb3}, {sacc4,sacc5,sacc6,sacc7};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc8,sacc9,sacc10,sacc11}, {qf16,qf17,qf18,qf19}, {kb4,kb5}, {sacc8,sacc9,sacc10,sacc11};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc12,sacc13,sacc14,sacc15}, {qf16,qf17,qf18,qf19}, {kb6,kb7}, {sacc12,sacc13,sacc14,sacc15};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc16,sacc17,sacc18,sacc19}, {qf16,qf17,qf18,qf19}, {kb8,kb9}, {sacc16,sacc17,sacc18,sacc19};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc20,sacc21,sacc22,sacc23}, {qf16,qf17,qf18,qf19}, {kb10,kb11}, {sacc20,sacc21,sacc22,sacc23};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc24,sacc25,sacc26,sacc27}, {qf16,qf17,qf18,qf19}, {kb12,kb13}, {sacc24,sacc25,sacc26,sacc27};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc28,sacc29,sacc30,sacc31}, {qf16,qf17,qf18,qf19}, {kb14,kb15}, {sacc28,sacc29,sacc30,sacc31};
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb0,kb1,kb2,kb3}, [%0+160];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb4,kb5,kb6,kb7}, [%0+4512];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb8,kb9,kb10,kb11}, [%0+8864];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb12,kb13,kb14,kb15}, [%0+13216];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc0,sacc1,sacc2,sacc3}, {qf20,qf21,qf22,qf23}, {kb0,kb1}, {sacc0,sacc1,sacc2,sacc3};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc4,sacc5,sacc6,sacc7}, {qf20,qf21,qf22,qf23}, {kb2,kb3}, {sacc4,sacc5,sacc6,sacc7};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc8,sacc9,sacc10,sacc11}, {qf20,qf21,qf22,qf23}, {kb4,kb5}, {sacc8,sacc9,sacc10,sacc11};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc12,sacc13,sacc14,sacc15}, {qf20,qf21,qf22,qf23}, {kb6,kb7}, {sacc12,sacc13,sacc14,sacc15};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc16,sacc17,sacc18,sacc19}, {qf20,qf21,qf22,qf23}, {kb8,kb9}, {sacc16,sacc17,sacc18,sacc19};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc20,sacc21,sacc22,sacc23}, {qf20,qf21,qf22,qf23}, {kb10,kb11}, {sacc20,sacc21,sacc22,sacc23};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc24,sacc25,sacc26,sacc27}, {qf20,qf21,qf22,qf23}, {kb12,kb13}, {sacc24,sacc25,sacc26,sacc27};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc28,sacc29,sacc30,sacc31}, {qf20,qf21,qf22,qf23}, {kb14,kb15}, {sacc28,sacc29,sacc30,sacc31};
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb0,kb1,kb2,kb3}, [%0+192];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb4,kb5,kb6,kb7}, [%0+4544];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb8,kb9,kb10,kb11}, [%0+8896];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb12,kb13,kb14,kb15}, [%0+13248];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc0,sacc1,sacc2,sacc3}, {qf24,qf25,qf26,qf27}, {kb0,kb1}, {sacc0,sacc1,sacc2,sacc3};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc4,sacc5,sacc6,sacc7}, {qf24,qf25,qf26,qf27}, {kb2,kb3}, {sacc4,sacc5,sacc6,sacc7};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc8,sacc9,sacc10,sacc11}, {qf24,qf25,qf26,qf27}, {kb4,kb5}, {sacc8,sacc9,sacc10,sacc11};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc12,sacc13,sacc14,sacc15}, {qf24,qf25,qf26,qf27}, {kb6,kb7}, {sacc12,sacc13,sacc14,sacc15};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc16,sacc17,sacc18,sacc19}, {qf24,qf25,qf26,qf27}, {kb8,kb9}, {sacc16,sacc17,sacc18,sacc19};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc20,sacc21,sacc22,sacc23}, {qf24,qf25,qf26,qf27}, {kb10,kb11}, {sacc20,sacc21,sacc22,sacc23};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc24,sacc25,sacc26,sacc27}, {qf24,qf25,qf26,qf27}, {kb12,kb13}, {sacc24,sacc25,sacc26,sacc27};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc28,sacc29,sacc30,sacc31}, {qf24,qf25,qf26,qf27}, {kb14,kb15}, {sacc28,sacc29,sacc30,sacc31};
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb0,kb1,kb2,kb3}, [%0+224];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb4,kb5,kb6,kb7}, [%0+4576];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb8,kb9,kb10,kb11}, [%0+8928];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {kb12,kb13,kb14,kb15}, [%0+13280];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc0,sacc1,sacc2,sacc3}, {qf28,qf29,qf30,qf31}, {kb0,kb1}, {sacc0,sacc1,sacc2,sacc3};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc4,sacc5,sacc6,sacc7}, {qf28,qf29,qf30,qf31}, {kb2,kb3}, {sacc4,sacc5,sacc6,sacc7};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc8,sacc9,sacc10,sacc11}, {qf28,qf29,qf30,qf31}, {kb4,kb5}, {sacc8,sacc9,sacc10,sacc11};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc12,sacc13,sacc14,sacc15}, {qf28,qf29,qf30,qf31}, {kb6,kb7}, {sacc12,sacc13,sacc14,sacc15};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc16,sacc17,sacc18,sacc19}, {qf28,qf29,qf30,qf31}, {kb8,kb9}, {sacc16,sacc17,sacc18,sacc19};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc20,sacc21,sacc22,sacc23}, {qf28,qf29,qf30,qf31}, {kb10,kb11}, {sacc20,sacc21,sacc22,sacc23};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc24,sacc25,sacc26,sacc27}, {qf28,qf29,qf30,qf31}, {kb12,kb13}, {sacc24,sacc25,sacc26,sacc27};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {sacc28,sacc29,sacc30,sacc31}, {qf28,qf29,qf30,qf31}, {kb14,kb15}, {sacc28,sacc29,sacc30,sacc31};
        }
        """;

    /// <summary>Sets the scores of masked keys (padding, or past T) to −∞. %0 / %1: whether this lane's keys 2l / 2l + 1 of the block count (1 or 0), %2 = t. The warp's two ballots, shifted right by t, hold key tile n's keys 8n + 2t and 8n + 2t + 1 at bit 4n.</summary>
    private const string MaskKeys = """
        {
        .reg .pred pv, pe, po;
        .reg .b32 ev, od, x;
        setp.ne.s32 pv, %0, 0; vote.sync.ballot.b32 ev, pv, 0xffffffff; setp.ne.s32 pv, %1, 0;
        vote.sync.ballot.b32 od, pv, 0xffffffff; shr.b32 ev, ev, %2; shr.b32 od, od, %2; and.b32 x, ev, 1;
        setp.eq.u32 pe, x, 0; and.b32 x, od, 1; setp.eq.u32 po, x, 0; @pe mov.f32 sacc0, 0fFF800000;
        @po mov.f32 sacc1, 0fFF800000; @pe mov.f32 sacc2, 0fFF800000; @po mov.f32 sacc3, 0fFF800000; and.b32 x, ev, 16;
        setp.eq.u32 pe, x, 0; and.b32 x, od, 16; setp.eq.u32 po, x, 0; @pe mov.f32 sacc4, 0fFF800000;
        @po mov.f32 sacc5, 0fFF800000; @pe mov.f32 sacc6, 0fFF800000; @po mov.f32 sacc7, 0fFF800000;
        and.b32 x, ev, 256; setp.eq.u32 pe, x, 0; and.b32 x, od, 256; setp.eq.u32 po, x, 0;
        @pe mov.f32 sacc8, 0fFF800000; @po mov.f32 sacc9, 0fFF800000; @pe mov.f32 sacc10, 0fFF800000;
        @po mov.f32 sacc11, 0fFF800000; and.b32 x, ev, 4096; setp.eq.u32 pe, x, 0; and.b32 x, od, 4096;
        setp.eq.u32 po, x, 0; @pe mov.f32 sacc12, 0fFF800000; @po mov.f32 sacc13, 0fFF800000;
        @pe mov.f32 sacc14, 0fFF800000; @po mov.f32 sacc15, 0fFF800000; and.b32 x, ev, 65536; setp.eq.u32 pe, x, 0;
        and.b32 x, od, 65536; setp.eq.u32 po, x, 0; @pe mov.f32 sacc16, 0fFF800000; @po mov.f32 sacc17, 0fFF800000;
        @pe mov.f32 sacc18, 0fFF800000; @po mov.f32 sacc19, 0fFF800000; and.b32 x, ev, 1048576; setp.eq.u32 pe, x, 0;
        and.b32 x, od, 1048576; setp.eq.u32 po, x, 0; @pe mov.f32 sacc20, 0fFF800000; @po mov.f32 sacc21, 0fFF800000;
        @pe mov.f32 sacc22, 0fFF800000; @po mov.f32 sacc23, 0fFF800000; and.b32 x, ev, 16777216; setp.eq.u32 pe, x, 0;
        and.b32 x, od, 16777216; setp.eq.u32 po, x, 0; @pe mov.f32 sacc24, 0fFF800000; @po mov.f32 sacc25, 0fFF800000;
        @pe mov.f32 sacc26, 0fFF800000; @po mov.f32 sacc27, 0fFF800000; and.b32 x, ev, 268435456; setp.eq.u32 pe, x, 0;
        and.b32 x, od, 268435456; setp.eq.u32 po, x, 0; @pe mov.f32 sacc28, 0fFF800000; @po mov.f32 sacc29, 0fFF800000;
        @pe mov.f32 sacc30, 0fFF800000; @po mov.f32 sacc31, 0fFF800000;
        }
        """;

    /// <summary>Online softmax of one key block for rows g (r = 0) and g + 8 (r = 1); %0 = log2(e)/sqrt(Dh). Block max over the thread's 16 scores, then across the row's four lanes (shfl.bfly 1, 2); new max m (kept −∞ while every key so far is masked, then 0 is subtracted instead so nothing is NaN); α = 2^((m_old − m)·c) rescales O and the partial sum; p = 2^(s·c − m·c); P packed to bf16 pairs (low half = the lower key) is the A fragment of P·V.</summary>
    private const string OnlineSoftmax = """
        {
        .reg .f32 mx<2>, mu<2>, al<2>, nm<2>, t;
        .reg .pred pz;
        max.f32 mx0, sacc0, sacc1; max.f32 mx0, mx0, sacc4; max.f32 mx0, mx0, sacc5; max.f32 mx0, mx0, sacc8;
        max.f32 mx0, mx0, sacc9; max.f32 mx0, mx0, sacc12; max.f32 mx0, mx0, sacc13; max.f32 mx0, mx0, sacc16;
        max.f32 mx0, mx0, sacc17; max.f32 mx0, mx0, sacc20; max.f32 mx0, mx0, sacc21; max.f32 mx0, mx0, sacc24;
        max.f32 mx0, mx0, sacc25; max.f32 mx0, mx0, sacc28; max.f32 mx0, mx0, sacc29;
        shfl.sync.bfly.b32 t, mx0, 1, 0x1f, 0xffffffff; max.f32 mx0, mx0, t;
        shfl.sync.bfly.b32 t, mx0, 2, 0x1f, 0xffffffff; max.f32 mx0, mx0, t; max.f32 mx0, mx0, rmax0;
        setp.eq.f32 pz, mx0, 0fFF800000; selp.f32 mu0, 0f00000000, mx0, pz; sub.f32 t, rmax0, mu0; mul.f32 t, t, %0;
        ex2.approx.ftz.f32 al0, t; mov.f32 rmax0, mx0; mul.f32 nm0, mu0, %0; neg.f32 nm0, nm0;
        mul.f32 rsum0, rsum0, al0; fma.rn.f32 sacc0, sacc0, %0, nm0; ex2.approx.ftz.f32 sacc0, sacc0;
        add.f32 rsum0, rsum0, sacc0; fma.rn.f32 sacc1, sacc1, %0, nm0; ex2.approx.ftz.f32 sacc1, sacc1;
        add.f32 rsum0, rsum0, sacc1; fma.rn.f32 sacc4, sacc4, %0, nm0; ex2.approx.ftz.f32 sacc4, sacc4;
        add.f32 rsum0, rsum0, sacc4; fma.rn.f32 sacc5, sacc5, %0, nm0; ex2.approx.ftz.f32 sacc5, sacc5;
        add.f32 rsum0, rsum0, sacc5; fma.rn.f32 sacc8, sacc8, %0, nm0; ex2.approx.ftz.f32 sacc8, sacc8;
        add.f32 rsum0, rsum0, sacc8; fma.rn.f32 sacc9, sacc9, %0, nm0; ex2.approx.ftz.f32 sacc9, sacc9;
        add.f32 rsum0, rsum0, sacc9; fma.rn.f32 sacc12, sacc12, %0, nm0; ex2.approx.ftz.f32 sacc12, sacc12;
        add.f32 rsum0, rsum0, sacc12; fma.rn.f32 sacc13, sacc13, %0, nm0; ex2.approx.ftz.f32 sacc13, sacc13;
        add.f32 rsum0, rsum0, sacc13; fma.rn.f32 sacc16, sacc16, %0, nm0; ex2.approx.ftz.f32 sacc16, sacc16;
        add.f32 rsum0, rsum0, sacc16; fma.rn.f32 sacc17, sacc17, %0, nm0; ex2.approx.ftz.f32 sacc17, sacc17;
        add.f32 rsum0, rsum0, sacc17; fma.rn.f32 sacc20, sacc20, %0, nm0; ex2.approx.ftz.f32 sacc20, sacc20;
        add.f32 rsum0, rsum0, sacc20; fma.rn.f32 sacc21, sacc21, %0, nm0; ex2.approx.ftz.f32 sacc21, sacc21;
        add.f32 rsum0, rsum0, sacc21; fma.rn.f32 sacc24, sacc24, %0, nm0; ex2.approx.ftz.f32 sacc24, sacc24;
        add.f32 rsum0, rsum0, sacc24; fma.rn.f32 sacc25, sacc25, %0, nm0; ex2.approx.ftz.f32 sacc25, sacc25;
        add.f32 rsum0, rsum0, sacc25; fma.rn.f32 sacc28, sacc28, %0, nm0; ex2.approx.ftz.f32 sacc28, sacc28;
        add.f32 rsum0, rsum0, sacc28; fma.rn.f32 sacc29, sacc29, %0, nm0; ex2.approx.ftz.f32 sacc29, sacc29;
        add.f32 rsum0, rsum0, sacc29; max.f32 mx1, sacc2, sacc3; max.f32 mx1, mx1, sacc6; max.f32 mx1, mx1, sacc7;
        max.f32 mx1, mx1, sacc10; max.f32 mx1, mx1, sacc11; max.f32 mx1, mx1, sacc14; max.f32 mx1, mx1, sacc15;
        max.f32 mx1, mx1, sacc18; max.f32 mx1, mx1, sacc19; max.f32 mx1, mx1, sacc22; max.f32 mx1, mx1, sacc23;
        max.f32 mx1, mx1, sacc26; max.f32 mx1, mx1, sacc27; max.f32 mx1, mx1, sacc30; max.f32 mx1, mx1, sacc31;
        shfl.sync.bfly.b32 t, mx1, 1, 0x1f, 0xffffffff; max.f32 mx1, mx1, t;
        shfl.sync.bfly.b32 t, mx1, 2, 0x1f, 0xffffffff; max.f32 mx1, mx1, t; max.f32 mx1, mx1, rmax1;
        setp.eq.f32 pz, mx1, 0fFF800000; selp.f32 mu1, 0f00000000, mx1, pz; sub.f32 t, rmax1, mu1; mul.f32 t, t, %0;
        ex2.approx.ftz.f32 al1, t; mov.f32 rmax1, mx1; mul.f32 nm1, mu1, %0; neg.f32 nm1, nm1;
        mul.f32 rsum1, rsum1, al1; fma.rn.f32 sacc2, sacc2, %0, nm1; ex2.approx.ftz.f32 sacc2, sacc2;
        add.f32 rsum1, rsum1, sacc2; fma.rn.f32 sacc3, sacc3, %0, nm1; ex2.approx.ftz.f32 sacc3, sacc3;
        add.f32 rsum1, rsum1, sacc3; fma.rn.f32 sacc6, sacc6, %0, nm1; ex2.approx.ftz.f32 sacc6, sacc6;
        add.f32 rsum1, rsum1, sacc6; fma.rn.f32 sacc7, sacc7, %0, nm1; ex2.approx.ftz.f32 sacc7, sacc7;
        add.f32 rsum1, rsum1, sacc7; fma.rn.f32 sacc10, sacc10, %0, nm1; ex2.approx.ftz.f32 sacc10, sacc10;
        add.f32 rsum1, rsum1, sacc10; fma.rn.f32 sacc11, sacc11, %0, nm1; ex2.approx.ftz.f32 sacc11, sacc11;
        add.f32 rsum1, rsum1, sacc11; fma.rn.f32 sacc14, sacc14, %0, nm1; ex2.approx.ftz.f32 sacc14, sacc14;
        add.f32 rsum1, rsum1, sacc14; fma.rn.f32 sacc15, sacc15, %0, nm1; ex2.approx.ftz.f32 sacc15, sacc15;
        add.f32 rsum1, rsum1, sacc15; fma.rn.f32 sacc18, sacc18, %0, nm1; ex2.approx.ftz.f32 sacc18, sacc18;
        add.f32 rsum1, rsum1, sacc18; fma.rn.f32 sacc19, sacc19, %0, nm1; ex2.approx.ftz.f32 sacc19, sacc19;
        add.f32 rsum1, rsum1, sacc19; fma.rn.f32 sacc22, sacc22, %0, nm1; ex2.approx.ftz.f32 sacc22, sacc22;
        add.f32 rsum1, rsum1, sacc22; fma.rn.f32 sacc23, sacc23, %0, nm1; ex2.approx.ftz.f32 sacc23, sacc23;
        add.f32 rsum1, rsum1, sacc23; fma.rn.f32 sacc26, sacc26, %0, nm1; ex2.approx.ftz.f32 sacc26, sacc26;
        add.f32 rsum1, rsum1, sacc26; fma.rn.f32 sacc27, sacc27, %0, nm1; ex2.approx.ftz.f32 sacc27, sacc27;
        add.f32 rsum1, rsum1, sacc27; fma.rn.f32 sacc30, sacc30, %0, nm1; ex2.approx.ftz.f32 sacc30, sacc30;
        add.f32 rsum1, rsum1, sacc30; fma.rn.f32 sacc31, sacc31, %0, nm1; ex2.approx.ftz.f32 sacc31, sacc31;
        add.f32 rsum1, rsum1, sacc31; mul.f32 oacc0, oacc0, al0; mul.f32 oacc1, oacc1, al0; mul.f32 oacc2, oacc2, al1;
        mul.f32 oacc3, oacc3, al1; mul.f32 oacc4, oacc4, al0; mul.f32 oacc5, oacc5, al0; mul.f32 oacc6, oacc6, al1;
        mul.f32 oacc7, oacc7, al1; mul.f32 oacc8, oacc8, al0; mul.f32 oacc9, oacc9, al0; mul.f32 oacc10, oacc10, al1;
        mul.f32 oacc11, oacc11, al1; mul.f32 oacc12, oacc12, al0; mul.f32 oacc13, oacc13, al0;
        mul.f32 oacc14, oacc14, al1; mul.f32 oacc15, oacc15, al1; mul.f32 oacc16, oacc16, al0;
        mul.f32 oacc17, oacc17, al0; mul.f32 oacc18, oacc18, al1; mul.f32 oacc19, oacc19, al1;
        mul.f32 oacc20, oacc20, al0; mul.f32 oacc21, oacc21, al0; mul.f32 oacc22, oacc22, al1;
        mul.f32 oacc23, oacc23, al1; mul.f32 oacc24, oacc24, al0; mul.f32 oacc25, oacc25, al0;
        mul.f32 oacc26, oacc26, al1; mul.f32 oacc27, oacc27, al1; mul.f32 oacc28, oacc28, al0;
        mul.f32 oacc29, oacc29, al0; mul.f32 oacc30, oacc30, al1; mul.f32 oacc31, oacc31, al1;
        mul.f32 oacc32, oacc32, al0; mul.f32 oacc33, oacc33, al0; mul.f32 oacc34, oacc34, al1;
        mul.f32 oacc35, oacc35, al1; mul.f32 oacc36, oacc36, al0; mul.f32 oacc37, oacc37, al0;
        mul.f32 oacc38, oacc38, al1; mul.f32 oacc39, oacc39, al1; mul.f32 oacc40, oacc40, al0;
        mul.f32 oacc41, oacc41, al0; mul.f32 oacc42, oacc42, al1; mul.f32 oacc43, oacc43, al1;
        mul.f32 oacc44, oacc44, al0; mul.f32 oacc45, oacc45, al0; mul.f32 oacc46, oacc46, al1;
        mul.f32 oacc47, oacc47, al1; mul.f32 oacc48, oacc48, al0; mul.f32 oacc49, oacc49, al0;
        mul.f32 oacc50, oacc50, al1; mul.f32 oacc51, oacc51, al1; mul.f32 oacc52, oacc52, al0;
        mul.f32 oacc53, oacc53, al0; mul.f32 oacc54, oacc54, al1; mul.f32 oacc55, oacc55, al1;
        mul.f32 oacc56, oacc56, al0; mul.f32 oacc57, oacc57, al0; mul.f32 oacc58, oacc58, al1;
        mul.f32 oacc59, oacc59, al1; mul.f32 oacc60, oacc60, al0; mul.f32 oacc61, oacc61, al0;
        mul.f32 oacc62, oacc62, al1; mul.f32 oacc63, oacc63, al1; cvt.rn.bf16x2.f32 pbf0, sacc1, sacc0;
        cvt.rn.bf16x2.f32 pbf1, sacc3, sacc2; cvt.rn.bf16x2.f32 pbf2, sacc5, sacc4;
        cvt.rn.bf16x2.f32 pbf3, sacc7, sacc6; cvt.rn.bf16x2.f32 pbf4, sacc9, sacc8;
        cvt.rn.bf16x2.f32 pbf5, sacc11, sacc10; cvt.rn.bf16x2.f32 pbf6, sacc13, sacc12;
        cvt.rn.bf16x2.f32 pbf7, sacc15, sacc14; cvt.rn.bf16x2.f32 pbf8, sacc17, sacc16;
        cvt.rn.bf16x2.f32 pbf9, sacc19, sacc18; cvt.rn.bf16x2.f32 pbf10, sacc21, sacc20;
        cvt.rn.bf16x2.f32 pbf11, sacc23, sacc22; cvt.rn.bf16x2.f32 pbf12, sacc25, sacc24;
        cvt.rn.bf16x2.f32 pbf13, sacc27, sacc26; cvt.rn.bf16x2.f32 pbf14, sacc29, sacc28;
        cvt.rn.bf16x2.f32 pbf15, sacc31, sacc30;
        }
        """;

    /// <summary>O += P·V for 16 rows × 128 dims: per k16 step kk (keys 16kk..16kk+15, A = pbf4kk..4kk+3) and dim pair np (dims 16np..16np+15), one ldmatrix.x4.trans of V (%0 + kk·16·272 + 32np) gives the B fragments of dim tiles 2np and 2np+1.</summary>
    private const string AccumulateValues = """
        {
        .reg .b32 vb<4>;
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+0];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc0,oacc1,oacc2,oacc3}, {pbf0,pbf1,pbf2,pbf3}, {vb0,vb1}, {oacc0,oacc1,oacc2,oacc3};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc4,oacc5,oacc6,oacc7}, {pbf0,pbf1,pbf2,pbf3}, {vb2,vb3}, {oacc4,oacc5,oacc6,oacc7};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+32];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc8,oacc9,oacc10,oacc11}, {pbf0,pbf1,pbf2,pbf3}, {vb0,vb1}, {oacc8,oacc9,oacc10,oacc11};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc12,oacc13,oacc14,oacc15}, {pbf0,pbf1,pbf2,pbf3}, {vb2,vb3}, {oacc12,oacc13,oacc14,oacc15};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+64];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc16,oacc17,oacc18,oacc19}, {pbf0,pbf1,pbf2,pbf3}, {vb0,vb1}, {oacc16,oacc17,oacc18,oacc19};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc20,oacc21,oacc22,oacc23}, {pbf0,pbf1,pbf2,pbf3}, {vb2,vb3}, {oacc20,oacc21,oacc22,oacc23};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+96];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc24,oacc25,oacc26,oacc27}, {pbf0,pbf1,pbf2,pbf3}, {vb0,vb1}, {oacc24,oacc25,oacc26,oacc27};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc28,oacc29,oacc30,oacc31}, {pbf0,pbf1,pbf2,pbf3}, {vb2,vb3}, {oacc28,oacc29,oacc30,oacc31};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+128];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc32,oacc33,oacc34,oacc35}, {pbf0,pbf1,pbf2,pbf3}, {vb0,vb1}, {oacc32,oacc33,oacc34,oacc35};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc36,oacc37,oacc38,oacc39}, {pbf0,pbf1,pbf2,pbf3}, {vb2,vb3}, {oacc36,oacc37,oacc38,oacc39};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+160];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc40,oacc41,oacc42,oacc43}, {pbf0,pbf1,pbf2,pbf3}, {vb0,vb1}, {oacc40,oacc41,oacc42,oacc43};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc44,oacc45,oacc46,oacc47}, {pbf0,pbf1,pbf2,pbf3}, {vb2,vb3}, {oacc44,oacc45,oacc46,oacc47};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+192];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc48,oacc49,oacc50,oacc51}, {pbf0,pbf1,pbf2,pbf3}, {vb0,vb1}, {oacc48,oacc49,oacc50,oacc51};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc52,oacc53,oacc54,oacc55}, {pbf0,pbf1,pbf2,pbf3}, {vb2,vb3}, {oacc52,oacc53,oacc54,oacc55};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+224];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc56,oacc57,oacc58,oacc59}, {pbf0,pbf1,pbf2,pbf3}, {vb0,vb1}, {oacc56,oacc57,oacc58,oacc59};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc60,oacc61,oacc62,oacc63}, {pbf0,pbf1,pbf2,pbf3}, {vb2,vb3}, {oacc60,oacc61,oacc62,oacc63};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+4352];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc0,oacc1,oacc2,oacc3}, {pbf4,pbf5,pbf6,pbf7}, {vb0,vb1}, {oacc0,oacc1,oacc2,oacc3};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc4,oacc5,oacc6,oacc7}, {pbf4,pbf5,pbf6,pbf7}, {vb2,vb3}, {oacc4,oacc5,oacc6,oacc7};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+4384];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc8,oacc9,oacc10,oacc11}, {pbf4,pbf5,pbf6,pbf7}, {vb0,vb1}, {oacc8,oacc9,oacc10,oacc11};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc12,oacc13,oacc14,oacc15}, {pbf4,pbf5,pbf6,pbf7}, {vb2,vb3}, {oacc12,oacc13,oacc14,oacc15};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+4416];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc16,oacc17,oacc18,oacc19}, {pbf4,pbf5,pbf6,pbf7}, {vb0,vb1}, {oacc16,oacc17,oacc18,oacc19};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc20,oacc21,oacc22,oacc23}, {pbf4,pbf5,pbf6,pbf7}, {vb2,vb3}, {oacc20,oacc21,oacc22,oacc23};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+4448];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc24,oacc25,oacc26,oacc27}, {pbf4,pbf5,pbf6,pbf7}, {vb0,vb1}, {oacc24,oacc25,oacc26,oacc27};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc28,oacc29,oacc30,oacc31}, {pbf4,pbf5,pbf6,pbf7}, {vb2,vb3}, {oacc28,oacc29,oacc30,oacc31};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+4480];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc32,oacc33,oacc34,oacc35}, {pbf4,pbf5,pbf6,pbf7}, {vb0,vb1}, {oacc32,oacc33,oacc34,oacc35};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc36,oacc37,oacc38,oacc39}, {pbf4,pbf5,pbf6,pbf7}, {vb2,vb3}, {oacc36,oacc37,oacc38,oacc39};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+4512];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc40,oacc41,oacc42,oacc43}, {pbf4,pbf5,pbf6,pbf7}, {vb0,vb1}, {oacc40,oacc41,oacc42,oacc43};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc44,oacc45,oacc46,oacc47}, {pbf4,pbf5,pbf6,pbf7}, {vb2,vb3}, {oacc44,oacc45,oacc46,oacc47};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+4544];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc48,oacc49,oacc50,oacc51}, {pbf4,pbf5,pbf6,pbf7}, {vb0,vb1}, {oacc48,oacc49,oacc50,oacc51};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc52,oacc53,oacc54,oacc55}, {pbf4,pbf5,pbf6,pbf7}, {vb2,vb3}, {oacc52,oacc53,oacc54,oacc55};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+4576];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc56,oacc57,oacc58,oacc59}, {pbf4,pbf5,pbf6,pbf7}, {vb0,vb1}, {oacc56,oacc57,oacc58,oacc59};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc60,oacc61,oacc62,oacc63}, {pbf4,pbf5,pbf6,pbf7}, {vb2,vb3}, {oacc60,oacc61,oacc62,oacc63};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+8704];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc0,oacc1,oacc2,oacc3}, {pbf8,pbf9,pbf10,pbf11}, {vb0,vb1}, {oacc0,oacc1,oacc2,oacc3};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc4,oacc5,oacc6,oacc7}, {pbf8,pbf9,pbf10,pbf11}, {vb2,vb3}, {oacc4,oacc5,oacc6,oacc7};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+8736];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc8,oacc9,oacc10,oacc11}, {pbf8,pbf9,pbf10,pbf11}, {vb0,vb1}, {oacc8,oacc9,oacc10,oacc11};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc12,oacc13,oacc14,oacc15}, {pbf8,pbf9,pbf10,pbf11}, {vb2,vb3}, {oacc12,oacc13,oacc14,oacc15};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+8768];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc16,oacc17,oacc18,oacc19}, {pbf8,pbf9,pbf10,pbf11}, {vb0,vb1}, {oacc16,oacc17,oacc18,oacc19};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc20,oacc21,oacc22,oacc23}, {pbf8,pbf9,pbf10,pbf11}, {vb2,vb3}, {oacc20,oacc21,oacc22,oacc23};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+8800];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc24,oacc25,oacc26,oacc27}, {pbf8,pbf9,pbf10,pbf11}, {vb0,vb1}, {oacc24,oacc25,oacc26,oacc27};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc28,oacc29,oacc30,oacc31}, {pbf8,pbf9,pbf10,pbf11}, {vb2,vb3}, {oacc28,oacc29,oacc30,oacc31};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+8832];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc32,oacc33,oacc34,oacc35}, {pbf8,pbf9,pbf10,pbf11}, {vb0,vb1}, {oacc32,oacc33,oacc34,oacc35};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc36,oacc37,oacc38,oacc39}, {pbf8,pbf9,pbf10,pbf11}, {vb2,vb3}, {oacc36,oacc37,oacc38,oacc39};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+8864];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc40,oacc41,oacc42,oacc43}, {pbf8,pbf9,pbf10,pbf11}, {vb0,vb1}, {oacc40,oacc41,oacc42,oacc43};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc44,oacc45,oacc46,oacc47}, {pbf8,pbf9,pbf10,pbf11}, {vb2,vb3}, {oacc44,oacc45,oacc46,oacc47};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+8896];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc48,oacc49,oacc50,oacc51}, {pbf8,pbf9,pbf10,pbf11}, {vb0,vb1}, {oacc48,oacc49,oacc50,oacc51};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc52,oacc53,oacc54,oacc55}, {pbf8,pbf9,pbf10,pbf11}, {vb2,vb3}, {oacc52,oacc53,oacc54,oacc55};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+8928];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc56,oacc57,oacc58,oacc59}, {pbf8,pbf9,pbf10,pbf11}, {vb0,vb1}, {oacc56,oacc57,oacc58,oacc59};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc60,oacc61,oacc62,oacc63}, {pbf8,pbf9,pbf10,pbf11}, {vb2,vb3}, {oacc60,oacc61,oacc62,oacc63};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+13056];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc0,oacc1,oacc2,oacc3}, {pbf12,pbf13,pbf14,pbf15}, {vb0,vb1}, {oacc0,oacc1,oacc2,oacc3};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc4,oacc5,oacc6,oacc7}, {pbf12,pbf13,pbf14,pbf15}, {vb2,vb3}, {oacc4,oacc5,oacc6,oacc7};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+13088];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc8,oacc9,oacc10,oacc11}, {pbf12,pbf13,pbf14,pbf15}, {vb0,vb1}, {oacc8,oacc9,oacc10,oacc11};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc12,oacc13,oacc14,oacc15}, {pbf12,pbf13,pbf14,pbf15}, {vb2,vb3}, {oacc12,oacc13,oacc14,oacc15};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+13120];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc16,oacc17,oacc18,oacc19}, {pbf12,pbf13,pbf14,pbf15}, {vb0,vb1}, {oacc16,oacc17,oacc18,oacc19};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc20,oacc21,oacc22,oacc23}, {pbf12,pbf13,pbf14,pbf15}, {vb2,vb3}, {oacc20,oacc21,oacc22,oacc23};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+13152];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc24,oacc25,oacc26,oacc27}, {pbf12,pbf13,pbf14,pbf15}, {vb0,vb1}, {oacc24,oacc25,oacc26,oacc27};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc28,oacc29,oacc30,oacc31}, {pbf12,pbf13,pbf14,pbf15}, {vb2,vb3}, {oacc28,oacc29,oacc30,oacc31};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+13184];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc32,oacc33,oacc34,oacc35}, {pbf12,pbf13,pbf14,pbf15}, {vb0,vb1}, {oacc32,oacc33,oacc34,oacc35};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc36,oacc37,oacc38,oacc39}, {pbf12,pbf13,pbf14,pbf15}, {vb2,vb3}, {oacc36,oacc37,oacc38,oacc39};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+13216];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc40,oacc41,oacc42,oacc43}, {pbf12,pbf13,pbf14,pbf15}, {vb0,vb1}, {oacc40,oacc41,oacc42,oacc43};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc44,oacc45,oacc46,oacc47}, {pbf12,pbf13,pbf14,pbf15}, {vb2,vb3}, {oacc44,oacc45,oacc46,oacc47};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+13248];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc48,oacc49,oacc50,oacc51}, {pbf12,pbf13,pbf14,pbf15}, {vb0,vb1}, {oacc48,oacc49,oacc50,oacc51};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc52,oacc53,oacc54,oacc55}, {pbf12,pbf13,pbf14,pbf15}, {vb2,vb3}, {oacc52,oacc53,oacc54,oacc55};
        ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {vb0,vb1,vb2,vb3}, [%0+13280];
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc56,oacc57,oacc58,oacc59}, {pbf12,pbf13,pbf14,pbf15}, {vb0,vb1}, {oacc56,oacc57,oacc58,oacc59};
        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {oacc60,oacc61,oacc62,oacc63}, {pbf12,pbf13,pbf14,pbf15}, {vb2,vb3}, {oacc60,oacc61,oacc62,oacc63};
        }
        """;

    /// <summary>The full softmax denominators of rows g and g + 8: each row's four lanes add their partial sums (shfl.bfly 1, 2).</summary>
    private const string ReduceRowSums = """
        {
        .reg .f32 t;
        shfl.sync.bfly.b32 t, rsum0, 1, 0x1f, 0xffffffff; add.f32 rsum0, rsum0, t;
        shfl.sync.bfly.b32 t, rsum0, 2, 0x1f, 0xffffffff; add.f32 rsum0, rsum0, t;
        shfl.sync.bfly.b32 t, rsum1, 1, 0x1f, 0xffffffff; add.f32 rsum1, rsum1, t;
        shfl.sync.bfly.b32 t, rsum1, 2, 0x1f, 0xffffffff; add.f32 rsum1, rsum1, t;
        }
        """;

    /// <summary>Writes row g of O/l as bf16 when the row is inside T (%2 ≠ 0): %0 = the global byte address of (row, d = 2t), dim tile n is 16n bytes further; a pad query row (%1 = 0) takes 1/l = 0, and the fma with +0 makes every zero +0.</summary>
    private const string StoreRow0 = """
        {
        .reg .f32 inv, vlo, vhi;
        .reg .b32 w;
        .reg .pred preal, pinside;
        setp.ne.s32 preal, %1, 0; setp.ne.s32 pinside, %2, 0; rcp.rn.f32 inv, rsum0;
        selp.f32 inv, inv, 0f00000000, preal; fma.rn.f32 vlo, oacc0, inv, 0f00000000;
        fma.rn.f32 vhi, oacc1, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+0], w;
        fma.rn.f32 vlo, oacc4, inv, 0f00000000; fma.rn.f32 vhi, oacc5, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo;
        @pinside st.global.b32 [%0+16], w; fma.rn.f32 vlo, oacc8, inv, 0f00000000;
        fma.rn.f32 vhi, oacc9, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+32], w;
        fma.rn.f32 vlo, oacc12, inv, 0f00000000; fma.rn.f32 vhi, oacc13, inv, 0f00000000;
        cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+48], w; fma.rn.f32 vlo, oacc16, inv, 0f00000000;
        fma.rn.f32 vhi, oacc17, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+64], w;
        fma.rn.f32 vlo, oacc20, inv, 0f00000000; fma.rn.f32 vhi, oacc21, inv, 0f00000000;
        cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+80], w; fma.rn.f32 vlo, oacc24, inv, 0f00000000;
        fma.rn.f32 vhi, oacc25, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+96], w;
        fma.rn.f32 vlo, oacc28, inv, 0f00000000; fma.rn.f32 vhi, oacc29, inv, 0f00000000;
        cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+112], w; fma.rn.f32 vlo, oacc32, inv, 0f00000000;
        fma.rn.f32 vhi, oacc33, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+128], w;
        fma.rn.f32 vlo, oacc36, inv, 0f00000000; fma.rn.f32 vhi, oacc37, inv, 0f00000000;
        cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+144], w; fma.rn.f32 vlo, oacc40, inv, 0f00000000;
        fma.rn.f32 vhi, oacc41, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+160], w;
        fma.rn.f32 vlo, oacc44, inv, 0f00000000; fma.rn.f32 vhi, oacc45, inv, 0f00000000;
        cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+176], w; fma.rn.f32 vlo, oacc48, inv, 0f00000000;
        fma.rn.f32 vhi, oacc49, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+192], w;
        fma.rn.f32 vlo, oacc52, inv, 0f00000000; fma.rn.f32 vhi, oacc53, inv, 0f00000000;
        cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+208], w; fma.rn.f32 vlo, oacc56, inv, 0f00000000;
        fma.rn.f32 vhi, oacc57, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+224], w;
        fma.rn.f32 vlo, oacc60, inv, 0f00000000; fma.rn.f32 vhi, oacc61, inv, 0f00000000;
        cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+240], w;
        }
        """;

    /// <summary>Writes row g + 8 of O/l as bf16 when the row is inside T (%2 ≠ 0): %0 = the global byte address of (row, d = 2t), dim tile n is 16n bytes further; a pad query row (%1 = 0) takes 1/l = 0, and the fma with +0 makes every zero +0.</summary>
    private const string StoreRow1 = """
        {
        .reg .f32 inv, vlo, vhi;
        .reg .b32 w;
        .reg .pred preal, pinside;
        setp.ne.s32 preal, %1, 0; setp.ne.s32 pinside, %2, 0; rcp.rn.f32 inv, rsum1;
        selp.f32 inv, inv, 0f00000000, preal; fma.rn.f32 vlo, oacc2, inv, 0f00000000;
        fma.rn.f32 vhi, oacc3, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+0], w;
        fma.rn.f32 vlo, oacc6, inv, 0f00000000; fma.rn.f32 vhi, oacc7, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo;
        @pinside st.global.b32 [%0+16], w; fma.rn.f32 vlo, oacc10, inv, 0f00000000;
        fma.rn.f32 vhi, oacc11, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+32], w;
        fma.rn.f32 vlo, oacc14, inv, 0f00000000; fma.rn.f32 vhi, oacc15, inv, 0f00000000;
        cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+48], w; fma.rn.f32 vlo, oacc18, inv, 0f00000000;
        fma.rn.f32 vhi, oacc19, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+64], w;
        fma.rn.f32 vlo, oacc22, inv, 0f00000000; fma.rn.f32 vhi, oacc23, inv, 0f00000000;
        cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+80], w; fma.rn.f32 vlo, oacc26, inv, 0f00000000;
        fma.rn.f32 vhi, oacc27, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+96], w;
        fma.rn.f32 vlo, oacc30, inv, 0f00000000; fma.rn.f32 vhi, oacc31, inv, 0f00000000;
        cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+112], w; fma.rn.f32 vlo, oacc34, inv, 0f00000000;
        fma.rn.f32 vhi, oacc35, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+128], w;
        fma.rn.f32 vlo, oacc38, inv, 0f00000000; fma.rn.f32 vhi, oacc39, inv, 0f00000000;
        cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+144], w; fma.rn.f32 vlo, oacc42, inv, 0f00000000;
        fma.rn.f32 vhi, oacc43, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+160], w;
        fma.rn.f32 vlo, oacc46, inv, 0f00000000; fma.rn.f32 vhi, oacc47, inv, 0f00000000;
        cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+176], w; fma.rn.f32 vlo, oacc50, inv, 0f00000000;
        fma.rn.f32 vhi, oacc51, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+192], w;
        fma.rn.f32 vlo, oacc54, inv, 0f00000000; fma.rn.f32 vhi, oacc55, inv, 0f00000000;
        cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+208], w; fma.rn.f32 vlo, oacc58, inv, 0f00000000;
        fma.rn.f32 vhi, oacc59, inv, 0f00000000; cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+224], w;
        fma.rn.f32 vlo, oacc62, inv, 0f00000000; fma.rn.f32 vhi, oacc63, inv, 0f00000000;
        cvt.rn.bf16x2.f32 w, vhi, vlo; @pinside st.global.b32 [%0+240], w;
        }
        """;

    // The two products of the warp-group kernel (FlashAttention.WarpGroup.cs); every other block above serves both kernels.

    /// <summary>
    /// Starts one thread's eight cp.async copies of a swizzled tile (<see cref="FlashAttention.LoadSwizzledTile"/>): 16 bytes from
    /// %1 + j·%2 to shared %0 + 1024·j (rows r + 8j of the tile sit 8 rows = one swizzle atom apart, with the same
    /// chunk position) for j = 0..7; copy j reads its 16 bytes only when j &lt; %3 (its row is before T), otherwise it
    /// reads 0 bytes from the matrix start %4 (a valid address) and writes zeros.
    /// </summary>
    private const string CopySwizzledRows = """
        {
        .reg .b64 s, a;
        .reg .b32 n;
        .reg .pred p;
        mov.b64 s, %1;
        setp.gt.s32 p, %3, 0; selp.b32 n, 16, 0, p; selp.b64 a, s, %4, p; cp.async.cg.shared.global [%0+0], [a], 16, n; add.s64 s, s, %2;
        setp.gt.s32 p, %3, 1; selp.b32 n, 16, 0, p; selp.b64 a, s, %4, p; cp.async.cg.shared.global [%0+1024], [a], 16, n; add.s64 s, s, %2;
        setp.gt.s32 p, %3, 2; selp.b32 n, 16, 0, p; selp.b64 a, s, %4, p; cp.async.cg.shared.global [%0+2048], [a], 16, n; add.s64 s, s, %2;
        setp.gt.s32 p, %3, 3; selp.b32 n, 16, 0, p; selp.b64 a, s, %4, p; cp.async.cg.shared.global [%0+3072], [a], 16, n; add.s64 s, s, %2;
        setp.gt.s32 p, %3, 4; selp.b32 n, 16, 0, p; selp.b64 a, s, %4, p; cp.async.cg.shared.global [%0+4096], [a], 16, n; add.s64 s, s, %2;
        setp.gt.s32 p, %3, 5; selp.b32 n, 16, 0, p; selp.b64 a, s, %4, p; cp.async.cg.shared.global [%0+5120], [a], 16, n; add.s64 s, s, %2;
        setp.gt.s32 p, %3, 6; selp.b32 n, 16, 0, p; selp.b64 a, s, %4, p; cp.async.cg.shared.global [%0+6144], [a], 16, n; add.s64 s, s, %2;
        setp.gt.s32 p, %3, 7; selp.b32 n, 16, 0, p; selp.b64 a, s, %4, p; cp.async.cg.shared.global [%0+7168], [a], 16, n;
        }
        """;

    /// <summary>S = Q·Kᵀ for the warp group's 64 query rows × 64 keys on the warp-group tensor cores: eight `wgmma.m64n64k16` over Dh = 128, both operands read from shared memory through descriptors — %0 the Q tile's, %1 the K tile's (K-major, 128-byte swizzle, two 64-wide slabs 8 KB apart: k16 step kk is slab kk / 4, 32·(kk mod 4) bytes in, so the descriptor grows by 512·(kk / 4) + 2·(kk mod 4)). The first product overwrites S (scale-d false: wgz), the rest accumulate; the block waits for all eight. The accumulators land in the mma.sync layout the rest of the kernel reads: sacc4n..4n+3 hold key tile n (keys 8n..8n+7) of rows g and g + 8 of the warp's 16.</summary>
    private const string ScoresWarpGroup = """
        {
        .reg .b64 qd, kd;
        wgmma.fence.sync.aligned;
        wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {sacc0,sacc1,sacc2,sacc3,sacc4,sacc5,sacc6,sacc7,sacc8,sacc9,sacc10,sacc11,sacc12,sacc13,sacc14,sacc15,sacc16,sacc17,sacc18,sacc19,sacc20,sacc21,sacc22,sacc23,sacc24,sacc25,sacc26,sacc27,sacc28,sacc29,sacc30,sacc31}, %0, %1, wgz, 1, 1, 0, 0;
        add.s64 qd, %0, 2; add.s64 kd, %1, 2;
        wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {sacc0,sacc1,sacc2,sacc3,sacc4,sacc5,sacc6,sacc7,sacc8,sacc9,sacc10,sacc11,sacc12,sacc13,sacc14,sacc15,sacc16,sacc17,sacc18,sacc19,sacc20,sacc21,sacc22,sacc23,sacc24,sacc25,sacc26,sacc27,sacc28,sacc29,sacc30,sacc31}, qd, kd, wgp, 1, 1, 0, 0;
        add.s64 qd, %0, 4; add.s64 kd, %1, 4;
        wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {sacc0,sacc1,sacc2,sacc3,sacc4,sacc5,sacc6,sacc7,sacc8,sacc9,sacc10,sacc11,sacc12,sacc13,sacc14,sacc15,sacc16,sacc17,sacc18,sacc19,sacc20,sacc21,sacc22,sacc23,sacc24,sacc25,sacc26,sacc27,sacc28,sacc29,sacc30,sacc31}, qd, kd, wgp, 1, 1, 0, 0;
        add.s64 qd, %0, 6; add.s64 kd, %1, 6;
        wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {sacc0,sacc1,sacc2,sacc3,sacc4,sacc5,sacc6,sacc7,sacc8,sacc9,sacc10,sacc11,sacc12,sacc13,sacc14,sacc15,sacc16,sacc17,sacc18,sacc19,sacc20,sacc21,sacc22,sacc23,sacc24,sacc25,sacc26,sacc27,sacc28,sacc29,sacc30,sacc31}, qd, kd, wgp, 1, 1, 0, 0;
        add.s64 qd, %0, 512; add.s64 kd, %1, 512;
        wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {sacc0,sacc1,sacc2,sacc3,sacc4,sacc5,sacc6,sacc7,sacc8,sacc9,sacc10,sacc11,sacc12,sacc13,sacc14,sacc15,sacc16,sacc17,sacc18,sacc19,sacc20,sacc21,sacc22,sacc23,sacc24,sacc25,sacc26,sacc27,sacc28,sacc29,sacc30,sacc31}, qd, kd, wgp, 1, 1, 0, 0;
        add.s64 qd, %0, 514; add.s64 kd, %1, 514;
        wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {sacc0,sacc1,sacc2,sacc3,sacc4,sacc5,sacc6,sacc7,sacc8,sacc9,sacc10,sacc11,sacc12,sacc13,sacc14,sacc15,sacc16,sacc17,sacc18,sacc19,sacc20,sacc21,sacc22,sacc23,sacc24,sacc25,sacc26,sacc27,sacc28,sacc29,sacc30,sacc31}, qd, kd, wgp, 1, 1, 0, 0;
        add.s64 qd, %0, 516; add.s64 kd, %1, 516;
        wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {sacc0,sacc1,sacc2,sacc3,sacc4,sacc5,sacc6,sacc7,sacc8,sacc9,sacc10,sacc11,sacc12,sacc13,sacc14,sacc15,sacc16,sacc17,sacc18,sacc19,sacc20,sacc21,sacc22,sacc23,sacc24,sacc25,sacc26,sacc27,sacc28,sacc29,sacc30,sacc31}, qd, kd, wgp, 1, 1, 0, 0;
        add.s64 qd, %0, 518; add.s64 kd, %1, 518;
        wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {sacc0,sacc1,sacc2,sacc3,sacc4,sacc5,sacc6,sacc7,sacc8,sacc9,sacc10,sacc11,sacc12,sacc13,sacc14,sacc15,sacc16,sacc17,sacc18,sacc19,sacc20,sacc21,sacc22,sacc23,sacc24,sacc25,sacc26,sacc27,sacc28,sacc29,sacc30,sacc31}, qd, kd, wgp, 1, 1, 0, 0;
        wgmma.commit_group.sync.aligned;
        wgmma.wait_group.sync.aligned 0;
        }
        """;

    /// <summary>O += P·V for the warp group's 64 rows × 128 dims: four `wgmma.m64n128k16`, one per 16 keys, with A = P from registers (pbf4kk..4kk+3: wgmma's register fragment of A is mma.sync's, so OnlineSoftmax's packing serves both) and B = the V tile read in place through descriptor %0 — V is stored [keys, Dh], Dh contiguous, which for B (K = keys, N = dims) is N-major: transposed (imm-trans-b = 1), two 64-dim slabs 8 KB apart (the leading byte offset), 8-key atoms 1 KB apart (the stride byte offset); k16 step kk starts 16 keys = 2 KB further (+128 in the descriptor).</summary>
    private const string AccumulateValuesWarpGroup = """
        {
        .reg .b64 vd;
        wgmma.fence.sync.aligned;
        wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {oacc0,oacc1,oacc2,oacc3,oacc4,oacc5,oacc6,oacc7,oacc8,oacc9,oacc10,oacc11,oacc12,oacc13,oacc14,oacc15,oacc16,oacc17,oacc18,oacc19,oacc20,oacc21,oacc22,oacc23,oacc24,oacc25,oacc26,oacc27,oacc28,oacc29,oacc30,oacc31,oacc32,oacc33,oacc34,oacc35,oacc36,oacc37,oacc38,oacc39,oacc40,oacc41,oacc42,oacc43,oacc44,oacc45,oacc46,oacc47,oacc48,oacc49,oacc50,oacc51,oacc52,oacc53,oacc54,oacc55,oacc56,oacc57,oacc58,oacc59,oacc60,oacc61,oacc62,oacc63}, {pbf0,pbf1,pbf2,pbf3}, %0, wgp, 1, 1, 1;
        add.s64 vd, %0, 128;
        wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {oacc0,oacc1,oacc2,oacc3,oacc4,oacc5,oacc6,oacc7,oacc8,oacc9,oacc10,oacc11,oacc12,oacc13,oacc14,oacc15,oacc16,oacc17,oacc18,oacc19,oacc20,oacc21,oacc22,oacc23,oacc24,oacc25,oacc26,oacc27,oacc28,oacc29,oacc30,oacc31,oacc32,oacc33,oacc34,oacc35,oacc36,oacc37,oacc38,oacc39,oacc40,oacc41,oacc42,oacc43,oacc44,oacc45,oacc46,oacc47,oacc48,oacc49,oacc50,oacc51,oacc52,oacc53,oacc54,oacc55,oacc56,oacc57,oacc58,oacc59,oacc60,oacc61,oacc62,oacc63}, {pbf4,pbf5,pbf6,pbf7}, vd, wgp, 1, 1, 1;
        add.s64 vd, %0, 256;
        wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {oacc0,oacc1,oacc2,oacc3,oacc4,oacc5,oacc6,oacc7,oacc8,oacc9,oacc10,oacc11,oacc12,oacc13,oacc14,oacc15,oacc16,oacc17,oacc18,oacc19,oacc20,oacc21,oacc22,oacc23,oacc24,oacc25,oacc26,oacc27,oacc28,oacc29,oacc30,oacc31,oacc32,oacc33,oacc34,oacc35,oacc36,oacc37,oacc38,oacc39,oacc40,oacc41,oacc42,oacc43,oacc44,oacc45,oacc46,oacc47,oacc48,oacc49,oacc50,oacc51,oacc52,oacc53,oacc54,oacc55,oacc56,oacc57,oacc58,oacc59,oacc60,oacc61,oacc62,oacc63}, {pbf8,pbf9,pbf10,pbf11}, vd, wgp, 1, 1, 1;
        add.s64 vd, %0, 384;
        wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {oacc0,oacc1,oacc2,oacc3,oacc4,oacc5,oacc6,oacc7,oacc8,oacc9,oacc10,oacc11,oacc12,oacc13,oacc14,oacc15,oacc16,oacc17,oacc18,oacc19,oacc20,oacc21,oacc22,oacc23,oacc24,oacc25,oacc26,oacc27,oacc28,oacc29,oacc30,oacc31,oacc32,oacc33,oacc34,oacc35,oacc36,oacc37,oacc38,oacc39,oacc40,oacc41,oacc42,oacc43,oacc44,oacc45,oacc46,oacc47,oacc48,oacc49,oacc50,oacc51,oacc52,oacc53,oacc54,oacc55,oacc56,oacc57,oacc58,oacc59,oacc60,oacc61,oacc62,oacc63}, {pbf12,pbf13,pbf14,pbf15}, vd, wgp, 1, 1, 1;
        wgmma.commit_group.sync.aligned;
        wgmma.wait_group.sync.aligned 0;
        }
        """;
}
