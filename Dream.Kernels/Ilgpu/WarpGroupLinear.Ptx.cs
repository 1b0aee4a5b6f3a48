namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The PTX of <see cref="WarpGroupLinear.Kernel"/>, written out by name: inline assembly must be a constant string
/// and PTX has no indexed registers. The accumulators of one warp group's 64 × N slice of the tile (N ≤ 256) are
/// up to 128 f32 registers per thread, wgc0..wgc127, in wgmma's m64nNk16 layout: warp w of the group, lane l
/// (g = l / 4, t = l mod 4), register 4j + r holds row 16w + g + 8·(r / 2), column 8j + 2t + (r mod 2) —
/// mma.sync's m16n8 layout repeated over the N/8 column blocks j.
/// </summary>
public sealed partial class WarpGroupLinear
{
    /// <summary>Function-scope names, declared once: the accumulators and the always-true scale-d predicate (accumulate into D).</summary>
    private const string DeclareRegisters = """
        .reg .f32 wgc<128>;
        .reg .pred wgp;
        """;

    /// <summary>D = 0 before the first product (then every wgmma accumulates: scale-d is true).</summary>
    private const string ZeroAccumulators = """
        mov.f32 wgc0, 0f00000000; mov.f32 wgc1, 0f00000000; mov.f32 wgc2, 0f00000000; mov.f32 wgc3, 0f00000000;
        mov.f32 wgc4, 0f00000000; mov.f32 wgc5, 0f00000000; mov.f32 wgc6, 0f00000000; mov.f32 wgc7, 0f00000000;
        mov.f32 wgc8, 0f00000000; mov.f32 wgc9, 0f00000000; mov.f32 wgc10, 0f00000000; mov.f32 wgc11, 0f00000000;
        mov.f32 wgc12, 0f00000000; mov.f32 wgc13, 0f00000000; mov.f32 wgc14, 0f00000000; mov.f32 wgc15, 0f00000000;
        mov.f32 wgc16, 0f00000000; mov.f32 wgc17, 0f00000000; mov.f32 wgc18, 0f00000000; mov.f32 wgc19, 0f00000000;
        mov.f32 wgc20, 0f00000000; mov.f32 wgc21, 0f00000000; mov.f32 wgc22, 0f00000000; mov.f32 wgc23, 0f00000000;
        mov.f32 wgc24, 0f00000000; mov.f32 wgc25, 0f00000000; mov.f32 wgc26, 0f00000000; mov.f32 wgc27, 0f00000000;
        mov.f32 wgc28, 0f00000000; mov.f32 wgc29, 0f00000000; mov.f32 wgc30, 0f00000000; mov.f32 wgc31, 0f00000000;
        mov.f32 wgc32, 0f00000000; mov.f32 wgc33, 0f00000000; mov.f32 wgc34, 0f00000000; mov.f32 wgc35, 0f00000000;
        mov.f32 wgc36, 0f00000000; mov.f32 wgc37, 0f00000000; mov.f32 wgc38, 0f00000000; mov.f32 wgc39, 0f00000000;
        mov.f32 wgc40, 0f00000000; mov.f32 wgc41, 0f00000000; mov.f32 wgc42, 0f00000000; mov.f32 wgc43, 0f00000000;
        mov.f32 wgc44, 0f00000000; mov.f32 wgc45, 0f00000000; mov.f32 wgc46, 0f00000000; mov.f32 wgc47, 0f00000000;
        mov.f32 wgc48, 0f00000000; mov.f32 wgc49, 0f00000000; mov.f32 wgc50, 0f00000000; mov.f32 wgc51, 0f00000000;
        mov.f32 wgc52, 0f00000000; mov.f32 wgc53, 0f00000000; mov.f32 wgc54, 0f00000000; mov.f32 wgc55, 0f00000000;
        mov.f32 wgc56, 0f00000000; mov.f32 wgc57, 0f00000000; mov.f32 wgc58, 0f00000000; mov.f32 wgc59, 0f00000000;
        mov.f32 wgc60, 0f00000000; mov.f32 wgc61, 0f00000000; mov.f32 wgc62, 0f00000000; mov.f32 wgc63, 0f00000000;
        mov.f32 wgc64, 0f00000000; mov.f32 wgc65, 0f00000000; mov.f32 wgc66, 0f00000000; mov.f32 wgc67, 0f00000000;
        mov.f32 wgc68, 0f00000000; mov.f32 wgc69, 0f00000000; mov.f32 wgc70, 0f00000000; mov.f32 wgc71, 0f00000000;
        mov.f32 wgc72, 0f00000000; mov.f32 wgc73, 0f00000000; mov.f32 wgc74, 0f00000000; mov.f32 wgc75, 0f00000000;
        mov.f32 wgc76, 0f00000000; mov.f32 wgc77, 0f00000000; mov.f32 wgc78, 0f00000000; mov.f32 wgc79, 0f00000000;
        mov.f32 wgc80, 0f00000000; mov.f32 wgc81, 0f00000000; mov.f32 wgc82, 0f00000000; mov.f32 wgc83, 0f00000000;
        mov.f32 wgc84, 0f00000000; mov.f32 wgc85, 0f00000000; mov.f32 wgc86, 0f00000000; mov.f32 wgc87, 0f00000000;
        mov.f32 wgc88, 0f00000000; mov.f32 wgc89, 0f00000000; mov.f32 wgc90, 0f00000000; mov.f32 wgc91, 0f00000000;
        mov.f32 wgc92, 0f00000000; mov.f32 wgc93, 0f00000000; mov.f32 wgc94, 0f00000000; mov.f32 wgc95, 0f00000000;
        mov.f32 wgc96, 0f00000000; mov.f32 wgc97, 0f00000000; mov.f32 wgc98, 0f00000000; mov.f32 wgc99, 0f00000000;
        mov.f32 wgc100, 0f00000000; mov.f32 wgc101, 0f00000000; mov.f32 wgc102, 0f00000000; mov.f32 wgc103, 0f00000000;
        mov.f32 wgc104, 0f00000000; mov.f32 wgc105, 0f00000000; mov.f32 wgc106, 0f00000000; mov.f32 wgc107, 0f00000000;
        mov.f32 wgc108, 0f00000000; mov.f32 wgc109, 0f00000000; mov.f32 wgc110, 0f00000000; mov.f32 wgc111, 0f00000000;
        mov.f32 wgc112, 0f00000000; mov.f32 wgc113, 0f00000000; mov.f32 wgc114, 0f00000000; mov.f32 wgc115, 0f00000000;
        mov.f32 wgc116, 0f00000000; mov.f32 wgc117, 0f00000000; mov.f32 wgc118, 0f00000000; mov.f32 wgc119, 0f00000000;
        mov.f32 wgc120, 0f00000000; mov.f32 wgc121, 0f00000000; mov.f32 wgc122, 0f00000000; mov.f32 wgc123, 0f00000000;
        mov.f32 wgc124, 0f00000000; mov.f32 wgc125, 0f00000000; mov.f32 wgc126, 0f00000000; mov.f32 wgc127, 0f00000000;
        """;

    /// <summary>
    /// One k16 step for the warp group: D[64 × N] += A[64 × 16] · B[N × 16]ᵀ, both operands read by the tensor
    /// cores straight from shared memory through the descriptors %0 (A: the tile's rows — x rows, or W rows for a
    /// token-column tile) and %1 (B: its columns — W rows, or x rows); bf16 inputs, f32 accumulation;
    /// scale-a = scale-b = 1, neither operand transposed (both are K-major, as x and W are stored).
    /// N = 256, 224, 192, 160, 144, 128 or 112 (<see cref="WarpGroupTile.MultiplyWidths"/>): the accumulators are the first N/2 of
    /// wgc0..127, in the same layout, so the epilogue reads the first N/16 register blocks whatever the width.
    /// </summary>
    private const string MultiplyStep256 = "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 {wgc0,wgc1,wgc2,wgc3,wgc4,wgc5,wgc6,wgc7,wgc8,wgc9,wgc10,wgc11,wgc12,wgc13,wgc14,wgc15,wgc16,wgc17,wgc18,wgc19,wgc20,wgc21,wgc22,wgc23,wgc24,wgc25,wgc26,wgc27,wgc28,wgc29,wgc30,wgc31,wgc32,wgc33,wgc34,wgc35,wgc36,wgc37,wgc38,wgc39,wgc40,wgc41,wgc42,wgc43,wgc44,wgc45,wgc46,wgc47,wgc48,wgc49,wgc50,wgc51,wgc52,wgc53,wgc54,wgc55,wgc56,wgc57,wgc58,wgc59,wgc60,wgc61,wgc62,wgc63,wgc64,wgc65,wgc66,wgc67,wgc68,wgc69,wgc70,wgc71,wgc72,wgc73,wgc74,wgc75,wgc76,wgc77,wgc78,wgc79,wgc80,wgc81,wgc82,wgc83,wgc84,wgc85,wgc86,wgc87,wgc88,wgc89,wgc90,wgc91,wgc92,wgc93,wgc94,wgc95,wgc96,wgc97,wgc98,wgc99,wgc100,wgc101,wgc102,wgc103,wgc104,wgc105,wgc106,wgc107,wgc108,wgc109,wgc110,wgc111,wgc112,wgc113,wgc114,wgc115,wgc116,wgc117,wgc118,wgc119,wgc120,wgc121,wgc122,wgc123,wgc124,wgc125,wgc126,wgc127}, %0, %1, wgp, 1, 1, 0, 0;";

    private const string MultiplyStep224 = "wgmma.mma_async.sync.aligned.m64n224k16.f32.bf16.bf16 {wgc0,wgc1,wgc2,wgc3,wgc4,wgc5,wgc6,wgc7,wgc8,wgc9,wgc10,wgc11,wgc12,wgc13,wgc14,wgc15,wgc16,wgc17,wgc18,wgc19,wgc20,wgc21,wgc22,wgc23,wgc24,wgc25,wgc26,wgc27,wgc28,wgc29,wgc30,wgc31,wgc32,wgc33,wgc34,wgc35,wgc36,wgc37,wgc38,wgc39,wgc40,wgc41,wgc42,wgc43,wgc44,wgc45,wgc46,wgc47,wgc48,wgc49,wgc50,wgc51,wgc52,wgc53,wgc54,wgc55,wgc56,wgc57,wgc58,wgc59,wgc60,wgc61,wgc62,wgc63,wgc64,wgc65,wgc66,wgc67,wgc68,wgc69,wgc70,wgc71,wgc72,wgc73,wgc74,wgc75,wgc76,wgc77,wgc78,wgc79,wgc80,wgc81,wgc82,wgc83,wgc84,wgc85,wgc86,wgc87,wgc88,wgc89,wgc90,wgc91,wgc92,wgc93,wgc94,wgc95,wgc96,wgc97,wgc98,wgc99,wgc100,wgc101,wgc102,wgc103,wgc104,wgc105,wgc106,wgc107,wgc108,wgc109,wgc110,wgc111}, %0, %1, wgp, 1, 1, 0, 0;";

    private const string MultiplyStep192 = "wgmma.mma_async.sync.aligned.m64n192k16.f32.bf16.bf16 {wgc0,wgc1,wgc2,wgc3,wgc4,wgc5,wgc6,wgc7,wgc8,wgc9,wgc10,wgc11,wgc12,wgc13,wgc14,wgc15,wgc16,wgc17,wgc18,wgc19,wgc20,wgc21,wgc22,wgc23,wgc24,wgc25,wgc26,wgc27,wgc28,wgc29,wgc30,wgc31,wgc32,wgc33,wgc34,wgc35,wgc36,wgc37,wgc38,wgc39,wgc40,wgc41,wgc42,wgc43,wgc44,wgc45,wgc46,wgc47,wgc48,wgc49,wgc50,wgc51,wgc52,wgc53,wgc54,wgc55,wgc56,wgc57,wgc58,wgc59,wgc60,wgc61,wgc62,wgc63,wgc64,wgc65,wgc66,wgc67,wgc68,wgc69,wgc70,wgc71,wgc72,wgc73,wgc74,wgc75,wgc76,wgc77,wgc78,wgc79,wgc80,wgc81,wgc82,wgc83,wgc84,wgc85,wgc86,wgc87,wgc88,wgc89,wgc90,wgc91,wgc92,wgc93,wgc94,wgc95}, %0, %1, wgp, 1, 1, 0, 0;";

    private const string MultiplyStep160 = "wgmma.mma_async.sync.aligned.m64n160k16.f32.bf16.bf16 {wgc0,wgc1,wgc2,wgc3,wgc4,wgc5,wgc6,wgc7,wgc8,wgc9,wgc10,wgc11,wgc12,wgc13,wgc14,wgc15,wgc16,wgc17,wgc18,wgc19,wgc20,wgc21,wgc22,wgc23,wgc24,wgc25,wgc26,wgc27,wgc28,wgc29,wgc30,wgc31,wgc32,wgc33,wgc34,wgc35,wgc36,wgc37,wgc38,wgc39,wgc40,wgc41,wgc42,wgc43,wgc44,wgc45,wgc46,wgc47,wgc48,wgc49,wgc50,wgc51,wgc52,wgc53,wgc54,wgc55,wgc56,wgc57,wgc58,wgc59,wgc60,wgc61,wgc62,wgc63,wgc64,wgc65,wgc66,wgc67,wgc68,wgc69,wgc70,wgc71,wgc72,wgc73,wgc74,wgc75,wgc76,wgc77,wgc78,wgc79}, %0, %1, wgp, 1, 1, 0, 0;";

    private const string MultiplyStep144 = "wgmma.mma_async.sync.aligned.m64n144k16.f32.bf16.bf16 {wgc0,wgc1,wgc2,wgc3,wgc4,wgc5,wgc6,wgc7,wgc8,wgc9,wgc10,wgc11,wgc12,wgc13,wgc14,wgc15,wgc16,wgc17,wgc18,wgc19,wgc20,wgc21,wgc22,wgc23,wgc24,wgc25,wgc26,wgc27,wgc28,wgc29,wgc30,wgc31,wgc32,wgc33,wgc34,wgc35,wgc36,wgc37,wgc38,wgc39,wgc40,wgc41,wgc42,wgc43,wgc44,wgc45,wgc46,wgc47,wgc48,wgc49,wgc50,wgc51,wgc52,wgc53,wgc54,wgc55,wgc56,wgc57,wgc58,wgc59,wgc60,wgc61,wgc62,wgc63,wgc64,wgc65,wgc66,wgc67,wgc68,wgc69,wgc70,wgc71}, %0, %1, wgp, 1, 1, 0, 0;";

    private const string MultiplyStep128 = "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {wgc0,wgc1,wgc2,wgc3,wgc4,wgc5,wgc6,wgc7,wgc8,wgc9,wgc10,wgc11,wgc12,wgc13,wgc14,wgc15,wgc16,wgc17,wgc18,wgc19,wgc20,wgc21,wgc22,wgc23,wgc24,wgc25,wgc26,wgc27,wgc28,wgc29,wgc30,wgc31,wgc32,wgc33,wgc34,wgc35,wgc36,wgc37,wgc38,wgc39,wgc40,wgc41,wgc42,wgc43,wgc44,wgc45,wgc46,wgc47,wgc48,wgc49,wgc50,wgc51,wgc52,wgc53,wgc54,wgc55,wgc56,wgc57,wgc58,wgc59,wgc60,wgc61,wgc62,wgc63}, %0, %1, wgp, 1, 1, 0, 0;";

    private const string MultiplyStep112 = "wgmma.mma_async.sync.aligned.m64n112k16.f32.bf16.bf16 {wgc0,wgc1,wgc2,wgc3,wgc4,wgc5,wgc6,wgc7,wgc8,wgc9,wgc10,wgc11,wgc12,wgc13,wgc14,wgc15,wgc16,wgc17,wgc18,wgc19,wgc20,wgc21,wgc22,wgc23,wgc24,wgc25,wgc26,wgc27,wgc28,wgc29,wgc30,wgc31,wgc32,wgc33,wgc34,wgc35,wgc36,wgc37,wgc38,wgc39,wgc40,wgc41,wgc42,wgc43,wgc44,wgc45,wgc46,wgc47,wgc48,wgc49,wgc50,wgc51,wgc52,wgc53,wgc54,wgc55}, %0, %1, wgp, 1, 1, 0, 0;";

    private const string Read0 = "mov.b32 %0, wgc0; mov.b32 %1, wgc1; mov.b32 %2, wgc2; mov.b32 %3, wgc3; mov.b32 %4, wgc4; mov.b32 %5, wgc5; mov.b32 %6, wgc6; mov.b32 %7, wgc7;";
    private const string Read1 = "mov.b32 %0, wgc8; mov.b32 %1, wgc9; mov.b32 %2, wgc10; mov.b32 %3, wgc11; mov.b32 %4, wgc12; mov.b32 %5, wgc13; mov.b32 %6, wgc14; mov.b32 %7, wgc15;";
    private const string Read2 = "mov.b32 %0, wgc16; mov.b32 %1, wgc17; mov.b32 %2, wgc18; mov.b32 %3, wgc19; mov.b32 %4, wgc20; mov.b32 %5, wgc21; mov.b32 %6, wgc22; mov.b32 %7, wgc23;";
    private const string Read3 = "mov.b32 %0, wgc24; mov.b32 %1, wgc25; mov.b32 %2, wgc26; mov.b32 %3, wgc27; mov.b32 %4, wgc28; mov.b32 %5, wgc29; mov.b32 %6, wgc30; mov.b32 %7, wgc31;";
    private const string Read4 = "mov.b32 %0, wgc32; mov.b32 %1, wgc33; mov.b32 %2, wgc34; mov.b32 %3, wgc35; mov.b32 %4, wgc36; mov.b32 %5, wgc37; mov.b32 %6, wgc38; mov.b32 %7, wgc39;";
    private const string Read5 = "mov.b32 %0, wgc40; mov.b32 %1, wgc41; mov.b32 %2, wgc42; mov.b32 %3, wgc43; mov.b32 %4, wgc44; mov.b32 %5, wgc45; mov.b32 %6, wgc46; mov.b32 %7, wgc47;";
    private const string Read6 = "mov.b32 %0, wgc48; mov.b32 %1, wgc49; mov.b32 %2, wgc50; mov.b32 %3, wgc51; mov.b32 %4, wgc52; mov.b32 %5, wgc53; mov.b32 %6, wgc54; mov.b32 %7, wgc55;";
    private const string Read7 = "mov.b32 %0, wgc56; mov.b32 %1, wgc57; mov.b32 %2, wgc58; mov.b32 %3, wgc59; mov.b32 %4, wgc60; mov.b32 %5, wgc61; mov.b32 %6, wgc62; mov.b32 %7, wgc63;";
    private const string Read8 = "mov.b32 %0, wgc64; mov.b32 %1, wgc65; mov.b32 %2, wgc66; mov.b32 %3, wgc67; mov.b32 %4, wgc68; mov.b32 %5, wgc69; mov.b32 %6, wgc70; mov.b32 %7, wgc71;";
    private const string Read9 = "mov.b32 %0, wgc72; mov.b32 %1, wgc73; mov.b32 %2, wgc74; mov.b32 %3, wgc75; mov.b32 %4, wgc76; mov.b32 %5, wgc77; mov.b32 %6, wgc78; mov.b32 %7, wgc79;";
    private const string Read10 = "mov.b32 %0, wgc80; mov.b32 %1, wgc81; mov.b32 %2, wgc82; mov.b32 %3, wgc83; mov.b32 %4, wgc84; mov.b32 %5, wgc85; mov.b32 %6, wgc86; mov.b32 %7, wgc87;";
    private const string Read11 = "mov.b32 %0, wgc88; mov.b32 %1, wgc89; mov.b32 %2, wgc90; mov.b32 %3, wgc91; mov.b32 %4, wgc92; mov.b32 %5, wgc93; mov.b32 %6, wgc94; mov.b32 %7, wgc95;";
    private const string Read12 = "mov.b32 %0, wgc96; mov.b32 %1, wgc97; mov.b32 %2, wgc98; mov.b32 %3, wgc99; mov.b32 %4, wgc100; mov.b32 %5, wgc101; mov.b32 %6, wgc102; mov.b32 %7, wgc103;";
    private const string Read13 = "mov.b32 %0, wgc104; mov.b32 %1, wgc105; mov.b32 %2, wgc106; mov.b32 %3, wgc107; mov.b32 %4, wgc108; mov.b32 %5, wgc109; mov.b32 %6, wgc110; mov.b32 %7, wgc111;";
    private const string Read14 = "mov.b32 %0, wgc112; mov.b32 %1, wgc113; mov.b32 %2, wgc114; mov.b32 %3, wgc115; mov.b32 %4, wgc116; mov.b32 %5, wgc117; mov.b32 %6, wgc118; mov.b32 %7, wgc119;";
    private const string Read15 = "mov.b32 %0, wgc120; mov.b32 %1, wgc121; mov.b32 %2, wgc122; mov.b32 %3, wgc123; mov.b32 %4, wgc124; mov.b32 %5, wgc125; mov.b32 %6, wgc126; mov.b32 %7, wgc127;";
}
