namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The block of y one thread group of <see cref="WarpGroupLinear"/> computes: <see cref="WarpGroups"/> consumer warp
/// groups of 64 rows each (2 or 3) × <see cref="Width"/> columns (the N of the `wgmma.m64nNk16` each warp group
/// issues). Normally the rows are tokens and the columns output features: 128 or 192 tokens × 112, 128, 144, 192, 224
/// or 256 features. The odd widths are there to fill the 132 multiprocessors of an H100/H200 with whole waves at
/// Dream 7B's widths: 3584 — the hidden size, the width of O and down — is 16 × 224 and 32 × 112 (at 2048 tokens 16 × 16
/// tiles of 128 × 224 fill two waves where 16 × 14 of 128 × 256 leave the second a sixth short; at 512 tokens 4 × 32
/// tiles of 128 × 112 make one wave of 128 where 128 × 128 made 112), and 4608 — QKV's width — is 32 × 144 (4 × 32
/// tiles of 128 × 144 at 512 tokens: one wave, where 192 × 128 made 108 groups of half again the work each). With <see cref="TokenColumns"/> the roles swap — 64 output features per warp group (rows of W) × N
/// tokens — so a token count that is not a multiple of 64·G still fills its tiles: 320 tokens, the loop's canvas,
/// are two columns of 160 where tiles of 128 or 192 token rows pad them to 384 (the product does a sixth less
/// work per wave). Token-column tiles run the SwiGLU epilogue, whose gate and up rows sit 8 apart — the two rows a
/// thread's accumulators hold — with no split-K, or any f32 epilogue split-K into two or more slices: the kernel
/// writes partial sums and the reduce pass applies the bias or residual. Down at 320 tokens takes the one of 2 warp
/// groups (128 W rows × 160 tokens, 28 × 2 tiles × 2 slices = 112 groups, none of it padding), the shape cuBLAS runs
/// there split-K (docs/benchmarks.md, twelfth session).
/// Its shared-memory ring holds as many stages (both operand tiles, 64 wide along In) as fit in a multiprocessor's
/// 227 KB: narrower tiles get deeper rings, so their copies start further ahead (<see cref="Stages"/> − 2 steps).
/// </summary>
public readonly record struct WarpGroupTile(int WarpGroups, int Width, bool TokenColumns = false)
{
    /// <summary>Warp groups per thread group.</summary>
    public const int MinWarpGroups = 2, MaxWarpGroups = 3;
    /// <summary>Dynamic shared memory one group may have on an H100/H200 (227 KB).</summary>
    public const int MaxSharedBytes = 227 * 1024;

    /// <summary>The N of the token-row tiles, largest first.</summary>
    private static readonly int[] RowTileWidths = [256, 224, 192, 144, 128, 112];

    // Arrays, not only the interface: TensorCoreLinear.ChooseTile walks them for every product of every denoising
    // step, and a foreach over an IReadOnlyList allocates its enumerator.
    private static readonly WarpGroupTile[] Tiles =
        [.. from g in new[] { MaxWarpGroups, MinWarpGroups } from n in RowTileWidths select new WarpGroupTile(g, n)];
    private static readonly WarpGroupTile[] ColumnTiles = [new(MaxWarpGroups, 160, TokenColumns: true), new(MinWarpGroups, 160, TokenColumns: true)];
    private static readonly WarpGroupTile[] Every = [.. Tiles, .. ColumnTiles];

    /// <summary>The N of every wgmma shape the kernel carries: the widths of all its tiles (declared after them: static fields initialise in order).</summary>
    private static readonly int[] Multiplies = [.. Every.Select(t => t.Width).Distinct().Order()];

    /// <summary>The N of the wgmma shapes the kernel carries (one main loop each).</summary>
    public static ReadOnlySpan<int> MultiplyWidths => Multiplies;

    /// <summary>The token-row tiles the kernel takes, largest first.</summary>
    public static ReadOnlySpan<WarpGroupTile> All => Tiles;

    /// <summary>The token-column tiles (SwiGLU unsplit, or f32 epilogues split-K).</summary>
    public static ReadOnlySpan<WarpGroupTile> TokenColumnTiles => ColumnTiles;

    /// <summary>Every tile the kernel carries: the token-row tiles, then the token-column tiles (for set-up, benches and tests).</summary>
    public static IReadOnlyList<WarpGroupTile> Carried => Every;

    /// <summary>Rows of the tile: 64 per warp group.</summary>
    public int Rows => WarpGroupLinear.WarpGroupTokens * WarpGroups;

    /// <summary>Tokens per group (rows of y).</summary>
    public int Tokens => TokenColumns ? Width : Rows;

    /// <summary>Output features per group (for SwiGLU: interleaved gate and up rows of W).</summary>
    public int Features => TokenColumns ? Rows : Width;

    /// <summary>Bytes of one stage: the row operand [Rows, 64] and the column operand [Width, 64], bf16, one 128-byte row each.</summary>
    public int StageBytes => (Rows + Width) * WarpGroupLinear.TileIn * 2;

    /// <summary>Stages in the ring: as many as fit, with an 8-byte mbarrier each and 1 KB to align the ring.</summary>
    public int Stages => (MaxSharedBytes - 1024) / (StageBytes + 8);

    /// <summary>Dynamic shared memory per group: the stages, their mbarriers and the alignment slack.</summary>
    public int SharedBytes => Stages * (StageBytes + 8) + 1024;

    /// <summary>Groups in one slice of a product's grid: token blocks × feature blocks.</summary>
    public long Groups(int tokens, int outFeatures) =>
        (long)((tokens + Tokens - 1) / Tokens) * ((outFeatures + Features - 1) / Features);

    /// <summary>Throws unless the kernel carries this tile.</summary>
    public void Validate()
    {
        if (Array.IndexOf(Every, this) < 0)
            throw new ArgumentOutOfRangeException(nameof(WarpGroupTile), this,
                $"the warp-group kernel runs {MinWarpGroups} or {MaxWarpGroups} warp groups × {string.Join(", ", RowTileWidths)} features, or {string.Join(", ", ColumnTiles)}");
    }

    public override string ToString() => TokenColumns ? $"{Tokens}×{Features} (tokens across)" : $"{Tokens}×{Features}";
}
