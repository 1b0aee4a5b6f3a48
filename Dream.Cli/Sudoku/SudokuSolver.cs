using Dream.Core.Checkpoint;
using Dream.Core.Generation;
using Dream.Core.Model;
using Dream.Core.Tokenization;

namespace Dream.Cli.Sudoku;

/// <summary>
/// Solves Sudoku with a Dream planner exactly as a 7B model generates text: the prompt `PUZZLE=` (82 tokens from
/// the model's own tokenizer.json) is followed by 82 masks — 81 answer digits and the end token — and the
/// diffusion loop fills them. A batch of puzzles is one left-to-right-free batch of equal-length rows.
/// </summary>
public sealed class SudokuSolver : IDisposable
{
    private readonly DreamCheckpoint _checkpoint;
    private readonly IForwardModel _model;
    private readonly BpeTokenizer _tokenizer;
    private readonly int[] _digitOfId;   // [V]: 0..9 for digit tokens, −1 otherwise

    public DreamConfig Config => _checkpoint.Config;
    public GenerationDefaults? Defaults => _checkpoint.GenerationDefaults;
    public string BackendName => _model.BackendName;
    public int MaskId => _checkpoint.Config.MaskTokenId;

    public SudokuSolver(string modelDir, string backend, GpuKernels kernels = GpuKernels.Auto)
    {
        _checkpoint = DreamCheckpoint.Open(modelDir);
        try
        {
            string tokenizerPath = _checkpoint.TokenizerPath
                ?? throw new UsageException($"{modelDir}: no tokenizer.json beside the weights; a Sudoku planner needs one");
            _tokenizer = BpeTokenizer.Load(tokenizerPath);
            _digitOfId = new int[_checkpoint.Config.VocabSize];
            Array.Fill(_digitOfId, -1);
            for (int d = 0; d <= 9; d++)
            {
                int[] ids = _tokenizer.Encode(d.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (ids.Length != 1) throw new UsageException($"{tokenizerPath}: digit '{d}' is not a single token; not a Sudoku planner");
                _digitOfId[ids[0]] = d;
            }
            _model = BackendFactory.Create(backend, _checkpoint.Weights, kernels);
        }
        catch
        {
            _checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>The prompt ids for `PUZZLE=` (82 tokens).</summary>
    public int[] Prompt(SudokuPuzzle puzzle) => _tokenizer.Encode(puzzle + "=");

    /// <summary>
    /// Solves every puzzle in one batch. <paramref name="onStep"/> sees the canvas [B, T] after each step (and once
    /// before the loop with step = null).
    /// </summary>
    public SudokuPuzzle?[] Solve(IReadOnlyList<SudokuPuzzle> puzzles, GenerationOptions options,
        TokensHook? onStep = null, Action<GenerationProgress>? progress = null, CancellationToken cancel = default)
    {
        var prompts = puzzles.Select(p => (IReadOnlyList<int>)Prompt(p)).ToList();
        var generator = new DiffusionGenerator(_model);
        var result = generator.Generate(new PromptBatch(prompts), options,
            new GenerationHooks { Tokens = onStep, Progress = progress }, cancel);
        var answers = new SudokuPuzzle?[puzzles.Count];
        for (int b = 0; b < puzzles.Count; b++) answers[b] = ReadAnswer(result.Generated(b));
        return answers;
    }

    /// <summary>The 81 digits after `=`; null when any of them is not a digit token.</summary>
    public SudokuPuzzle? ReadAnswer(ReadOnlySpan<int> generated)
    {
        if (generated.Length < SudokuPuzzle.Cells) return null;
        var digits = new int[SudokuPuzzle.Cells];
        for (int i = 0; i < digits.Length; i++)
        {
            int d = (uint)generated[i] < (uint)_digitOfId.Length ? _digitOfId[generated[i]] : -1;
            if (d < 0) return null;
            digits[i] = d;
        }
        return SudokuPuzzle.FromDigits(digits);
    }

    /// <summary>The answer cells of one canvas row as digits, −1 where a mask (or a non-digit) still stands.</summary>
    public int[] Cells(ReadOnlySpan<int> canvasRow, int promptLength)
    {
        var cells = new int[SudokuPuzzle.Cells];
        for (int i = 0; i < cells.Length; i++)
        {
            int id = canvasRow[promptLength + i];
            cells[i] = (uint)id < (uint)_digitOfId.Length ? _digitOfId[id] : -1;
        }
        return cells;
    }

    public void Dispose()
    {
        _model.Dispose();
        _checkpoint.Dispose();
    }
}
