namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The block of y one thread group of <see cref="WarpGroupLinear"/> computes: <see cref="WarpGroups"/> consumer warp
/// groups of 64 tokens each (2 or 3: 128 or 192 tokens) × <see cref="Features"/> output features (128, 192 or 256:
/// the N of the `wgmma.m64nNk16` each warp group issues). Its shared-memory ring holds as many stages (x tile + W tile,
/// 64 wide along In) as fit in a multiprocessor's 227 KB: narrower tiles get deeper rings, so their copies start
/// further ahead (<see cref="Stages"/> − 2 steps).
/// </summary>
public readonly record struct WarpGroupTile(int WarpGroups, int Features)
{
    /// <summary>Warp groups per thread group.</summary>
    public const int MinWarpGroups = 2, MaxWarpGroups = 3;
    /// <summary>Dynamic shared memory one group may have on an H100/H200 (227 KB).</summary>
    public const int MaxSharedBytes = 227 * 1024;

    private static readonly int[] Widths = [128, 192, 256];

    // An array, not only the interface: TensorCoreLinear.ChooseTile walks it for every product of every denoising
    // step, and a foreach over an IReadOnlyList allocates its enumerator.
    private static readonly WarpGroupTile[] Tiles =
        [.. from g in new[] { MaxWarpGroups, MinWarpGroups } from n in Widths.Reverse() select new WarpGroupTile(g, n)];

    /// <summary>The N of the three wgmma shapes the kernel carries.</summary>
    public static ReadOnlySpan<int> FeatureWidths => Widths;

    /// <summary>The tiles the kernel takes, largest first.</summary>
    public static ReadOnlySpan<WarpGroupTile> All => Tiles;

    /// <summary>Tokens per group (rows of y).</summary>
    public int Tokens => WarpGroupLinear.WarpGroupTokens * WarpGroups;

    /// <summary>Bytes of one stage: the x tile [Tokens, 64] and the W tile [Features, 64], bf16, one 128-byte row each.</summary>
    public int StageBytes => (Tokens + Features) * WarpGroupLinear.TileIn * 2;

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
        if (WarpGroups < MinWarpGroups || WarpGroups > MaxWarpGroups || Array.IndexOf(Widths, Features) < 0)
            throw new ArgumentOutOfRangeException(nameof(WarpGroupTile), this,
                $"the warp-group kernel runs {MinWarpGroups} or {MaxWarpGroups} warp groups × {string.Join(", ", Widths)} features");
    }

    public override string ToString() => $"{Tokens}×{Features}";
}
