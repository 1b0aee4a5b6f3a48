namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Which kernel <see cref="TensorCoreLinear.Forward"/> runs: <see cref="Auto"/> (the default: wgmma where the device
/// has it and In allows, with the tile <see cref="TensorCoreLinear.ChooseTile"/> picks, else mma.sync or the portable
/// fallback), <see cref="MmaSync"/> (<see cref="TensorCoreLinear"/>'s own kernel), or <see cref="Wgmma"/> with a
/// given tile (where the device has it). The forced ones are for comparisons and tests.
/// </summary>
public readonly record struct TensorCoreKernel
{
    /// <summary>What the model runs.</summary>
    public static TensorCoreKernel Auto => default;

    /// <summary><see cref="TensorCoreLinear"/>'s own kernel: mma.sync on CUDA, the portable fallback elsewhere.</summary>
    public static TensorCoreKernel MmaSync { get; } = new() { ForcesMmaSync = true };

    /// <summary><see cref="WarpGroupLinear"/> with <paramref name="tile"/>, where the device has it (else as <see cref="Auto"/>).</summary>
    public static TensorCoreKernel Wgmma(WarpGroupTile tile)
    {
        tile.Validate();
        return new() { Tile = tile };
    }

    /// <summary>Set for <see cref="MmaSync"/>.</summary>
    public bool ForcesMmaSync { get; private init; }

    /// <summary>The forced wgmma tile, or null.</summary>
    public WarpGroupTile? Tile { get; private init; }

    /// <summary>
    /// Most thread groups the wgmma kernel launches, each walking every that-many-th tile (<see cref="TileWalk"/>);
    /// null: one per multiprocessor, what the model runs. int.MaxValue gives every tile its own group (the launch
    /// before the walk, for comparisons); a few make each group cross tiles and wrap its ring across them (tests).
    /// </summary>
    public int? MaxGroups { get; private init; }

    /// <summary>This kernel choice with at most <paramref name="groups"/> wgmma groups (see <see cref="MaxGroups"/>).</summary>
    public TensorCoreKernel WithMaxGroups(int groups)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(groups, 1);
        return this with { MaxGroups = groups };
    }

    public override string ToString() =>
        (ForcesMmaSync ? "mma.sync" : Tile is { } tile ? $"wgmma {tile}" : "auto") +
        (MaxGroups is { } groups && !ForcesMmaSync ? groups == int.MaxValue ? ", a group per tile" : $", ≤ {groups} groups" : "");
}
