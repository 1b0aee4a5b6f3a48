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
    /// Walking from each group's first tile with <see cref="TileWalk.Next"/> — what thread 0's copy cursor does —
    /// covers every (token block, feature block, slice of In) exactly once, each tile's steps in order from its
    /// slice's first column and none past In; tiles go to groups round-robin, token blocks fastest; and
    /// <see cref="TileWalk.Count"/> is the tile count the host launches for (<see cref="WarpGroupTile.Groups"/> × splits).
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
        {
            int expectedTile = group;
            for (var p = walk.At(group); p.Tile < walk.Count; p = walk.Next(p, c.Groups))
            {
                Assert.Equal(expectedTile, p.Tile);
                int x = p.Tile % tilesX, y = p.Tile / tilesX % tilesY, z = p.Tile / (tilesX * tilesY);
                int t0 = columns ? p.B0 : p.A0, o0 = columns ? p.A0 : p.B0;
                Assert.Equal((x * c.Tile.Tokens, y * c.Tile.Features, z, z * c.StepsPerSplit), (t0, o0, p.Slice, p.FirstStep));
                Assert.True(p.Step < p.Steps && p.FirstStep + p.Steps <= c.TotalSteps, $"step {p.Step} of {p.Steps} from {p.FirstStep}");
                Assert.True(seen.Add((t0, o0, p.Column)), $"({t0}, {o0}, column {p.Column}) walked twice");
                if (p.Step + 1 == p.Steps) expectedTile += c.Groups;
            }
        }
        Assert.Equal(tilesX * tilesY * c.TotalSteps, seen.Count);
    });
}
