using Dream.Kernels.Ilgpu;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Dream.Tests.Ilgpu;

/// <summary>
/// The walk the wgmma groups take through a product's tiles (<see cref="TileWalk"/>), on the host: the same code the
/// kernel runs, so the GEMM twin test on an H100/H200 checks the results and this checks the bookkeeping
/// everywhere, CI included.
/// </summary>
public class TileWalkTests
{
    public sealed record Case(int Tokens, int OutFeatures, int TotalSteps, int StepsPerSplit, WarpGroupTile Tile, int Groups);

    private static Arbitrary<Case> Cases() =>
        (from tile in Gen.Elements(WarpGroupTile.Carried.ToArray())
         from tokens in Gen.Choose(1, 3 * tile.Tokens) from outFeatures in Gen.Choose(1, 3 * tile.Features)
         from totalSteps in Gen.Choose(1, 20) from stepsPerSplit in Gen.Choose(1, 20) from groups in Gen.Choose(1, 40)
         select new Case(tokens, outFeatures, totalSteps, Math.Min(stepsPerSplit, totalSteps), tile, groups)).ToArbitrary();

    /// <summary>
    /// The tiles each group takes — g, g + G, … through <see cref="TileWalk.At"/>, each with its steps — cover every
    /// (token block, feature block, slice of In) exactly once, each tile's steps from its slice's first column and
    /// none past In; tiles go to groups round-robin, token blocks fastest; and <see cref="TileWalk.Count"/> is the
    /// tile count the host launches for (<see cref="WarpGroupTile.Groups"/> × splits).
    /// </summary>
    [Property(MaxTest = 300)]
    public Property EveryTileAndStepIsWalkedOnce() => Prop.ForAll(Cases(), c =>
    {
        bool columns = c.Tile.TokenColumns;
        var walk = new TileWalk(c.Tokens, c.OutFeatures, c.TotalSteps, c.StepsPerSplit, c.Tile.Tokens, c.Tile.Features, columns);
        int tilesX = (c.Tokens + c.Tile.Tokens - 1) / c.Tile.Tokens, tilesY = (c.OutFeatures + c.Tile.Features - 1) / c.Tile.Features;
        int splits = (c.TotalSteps + c.StepsPerSplit - 1) / c.StepsPerSplit;
        Assert.Equal(tilesX * tilesY * splits, walk.Count);
        Assert.Equal(c.Tile.Groups(c.Tokens, c.OutFeatures) * splits, walk.Count);

        var seen = new HashSet<(int T0, int O0, int Column)>();
        for (int group = 0; group < Math.Min(c.Groups, walk.Count); group++)
            for (int index = group; index < walk.Count; index += c.Groups)
            {
                var tile = walk.At(index);
                int x = index % tilesX, y = index / tilesX % tilesY, z = index / (tilesX * tilesY);
                int t0 = columns ? tile.B0 : tile.A0, o0 = columns ? tile.A0 : tile.B0;
                Assert.Equal((index, x * c.Tile.Tokens, y * c.Tile.Features, z, z * c.StepsPerSplit), (tile.Index, t0, o0, tile.Slice, tile.FirstStep));
                Assert.True(tile.Steps >= 1 && tile.FirstStep + tile.Steps <= c.TotalSteps, $"{tile.Steps} steps from {tile.FirstStep} of {c.TotalSteps}");
                for (int step = 0; step < tile.Steps; step++)
                    Assert.True(seen.Add((t0, o0, tile.Column(step))), $"({t0}, {o0}, column {tile.Column(step)}) walked twice");
            }
        Assert.Equal(tilesX * tilesY * c.TotalSteps, seen.Count);
    });
}
