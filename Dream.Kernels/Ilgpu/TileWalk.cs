namespace Dream.Kernels.Ilgpu;

/// <summary>
/// The tiles of one <see cref="WarpGroupLinear"/> product, numbered for the groups that walk them: token blocks
/// fastest, then feature blocks, then split-K slices (tile = x + tilesX·(y + tilesY·z)), so that the groups running
/// at the same time share weight tiles, as the one-tile-per-group grid ordered them. A group that is launched as
/// group g of G takes tiles g, g + G, g + 2G, …: one per multiprocessor walks the whole product without a second
/// launch of a group for each tile (its barrier set-up and its first copies' latency paid once, not per tile), and
/// G = the tile count gives every tile its own group.
/// Built inside the kernel from the launch's own arguments, so the host passes nothing new.
/// </summary>
internal readonly struct TileWalk
{
    private readonly int _tilesX, _tilesY, _totalSteps, _stepsPerSplit, _tileTokens, _tileFeatures;
    private readonly bool _tokenColumns;

    /// <param name="totalSteps">Steps of 64 along In in the whole product.</param>
    /// <param name="stepsPerSplit">Steps per split-K slice (the last slice may have fewer).</param>
    /// <param name="tileTokens">Tokens per tile (its rows, or for a token-column tile its columns).</param>
    /// <param name="tileFeatures">Output features per tile.</param>
    /// <param name="tokenColumns">Whether the tile's rows are W's (A = W, B = x).</param>
    public TileWalk(int tokens, int outFeatures, int totalSteps, int stepsPerSplit, int tileTokens, int tileFeatures, bool tokenColumns)
    {
        _tilesX = (tokens + tileTokens - 1) / tileTokens;
        _tilesY = (outFeatures + tileFeatures - 1) / tileFeatures;
        _totalSteps = totalSteps;
        _stepsPerSplit = stepsPerSplit;
        _tileTokens = tileTokens;
        _tileFeatures = tileFeatures;
        _tokenColumns = tokenColumns;
        Count = _tilesX * _tilesY * ((totalSteps + stepsPerSplit - 1) / stepsPerSplit);
    }

    /// <summary>Tiles in the product (all split-K slices).</summary>
    public int Count { get; }

    /// <summary>
    /// Tile <see cref="Index"/>: its A rows start at <see cref="A0"/> and its B rows at <see cref="B0"/> (token and
    /// feature, swapped for a token-column tile), and its split-K slice <see cref="Slice"/> of In is
    /// <see cref="Steps"/> steps from step <see cref="FirstStep"/>. Past the last tile when Index ≥ Count.
    /// </summary>
    public readonly struct Tile
    {
        public Tile(int index, int steps, int slice, int firstStep, int a0, int b0)
        {
            Index = index; Steps = steps; Slice = slice; FirstStep = firstStep; A0 = a0; B0 = b0;
        }

        public int Index { get; }
        public int Steps { get; }
        /// <summary>The tile's split-K slice (0 when the product is not split): where its partial sums go.</summary>
        public int Slice { get; }
        public int FirstStep { get; }
        public int A0 { get; }
        public int B0 { get; }

        /// <summary>The column of In that step <paramref name="step"/> of this tile copies from.</summary>
        public int Column(int step) => (FirstStep + step) * WarpGroupLinear.TileIn;
    }

    /// <summary>Tile <paramref name="index"/> (any index: one past the end gives a tile the walk never reaches).</summary>
    public Tile At(int index)
    {
        int x = index % _tilesX, rest = index / _tilesX, y = rest % _tilesY, z = rest / _tilesY;
        int t0 = x * _tileTokens, o0 = y * _tileFeatures, firstStep = z * _stepsPerSplit;
        return new Tile(index, Math.Min(_stepsPerSplit, _totalSteps - firstStep), z, firstStep,
            _tokenColumns ? o0 : t0, _tokenColumns ? t0 : o0);
    }
}
