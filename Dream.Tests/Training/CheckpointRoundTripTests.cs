using System.Text.Json;
using System.Text.Json.Nodes;
using Dream.Core.Checkpoint;
using Dream.Core.Model;
using Dream.Core.Numerics;
using Dream.Core.Training;
using Dream.Core.Training.Sudoku;
using Dream.Kernels.Training;
using Dream.Reference;

namespace Dream.Tests.Training;

/// <summary>
/// A checkpoint written by training loads through the project's ordinary path (DreamCheckpoint.Open →
/// ReferenceModel) and gives the logits of the in-memory model: exactly those of its bf16-rounded weights, and
/// within bf16 rounding of the float32 ones.
/// </summary>
public class CheckpointRoundTripTests
{
    private static readonly SudokuTask Task = new(new SudokuGrid(2));

    private static DreamConfig Config(bool tied) => new()
    {
        VocabSize = Task.VocabSize, HiddenSize = 16, IntermediateSize = 24, NumHiddenLayers = 2,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, RopeTheta = 10000.0, RmsNormEps = 1e-6, TieWordEmbeddings = tied,
        MaxPositionEmbeddings = 512, MaskTokenId = Task.MaskId, PadTokenId = Task.EosId, EosTokenId = Task.EosId, BosTokenId = Task.BosId,
    };

    private static TrainingBatch AllRows(int[] ids, int batch, int length) => new()
    {
        Batch = batch, Length = length, Ids = ids, Rows = Enumerable.Range(0, batch * length).ToArray(),
        Targets = new int[batch * length], Weights = new double[batch * length], Times = new double[batch],
    };

    private static DreamParameters<float> Rounded(DreamParameters<float> p)
    {
        var r = DreamParameters<float>.Zeros(p.Config);
        for (int i = 0; i < p.Tensors.Count; i++)
            for (int j = 0; j < p.Tensors[i].Data.Length; j++)
                r.Tensors[i].Data[j] = BFloat16.ToFloat(BFloat16.FromFloat(p.Tensors[i].Data[j]));
        return r;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WrittenCheckpointGivesTheInMemoryLogits(bool tied)
    {
        var config = Config(tied);
        var parameters = DreamParameters<float>.Initialize(config, 21, std: 0.3);
        using var dir = new TempDirectory();
        CheckpointWriter.Write(dir.Path, parameters, Task.Tokens, new GenerationSuggestion(Task.AnswerLength, Task.AnswerLength));

        const int batch = 2;
        var pairs = new SudokuGenerator(Task.Grid).GenerateMany(3, 0, batch, 6, 10);
        var ids = new int[batch * Task.Length];
        for (int b = 0; b < batch; b++) Task.Encode(pairs[b], ids.AsSpan(b * Task.Length, Task.Length));
        int rows = batch * Task.Length, vocab = config.VocabSize;

        using var checkpoint = DreamCheckpoint.Open(dir.Path);
        Assert.Equal(config with { TorchDType = "bfloat16" }, checkpoint.Config);
        Assert.Equal(tied, checkpoint.Weights.LmHead.Address == checkpoint.Weights.Embedding.Address);
        var input = new ForwardInput(batch, Task.Length);
        ids.CopyTo(input.Ids, 0);
        var loaded = new float[rows * vocab];
        new ReferenceModel(checkpoint.Weights).Forward(input, Enumerable.Range(0, rows).ToArray(), loaded);

        var rounded = new TrainableModel<float>(Rounded(parameters)).Logits(AllRows(ids, batch, Task.Length));
        var exact = new TrainableModel<float>(parameters).Logits(AllRows(ids, batch, Task.Length));
        double scale = exact.Max(Math.Abs);
        for (int i = 0; i < loaded.Length; i++)
        {
            Assert.True(Math.Abs(loaded[i] - rounded[i]) <= 1e-5 + 1e-5 * Math.Abs(rounded[i]), $"logit {i}: loaded {loaded[i]}, bf16 in memory {rounded[i]}");
            // bf16 keeps 8 significant bits: each weight moves by at most 2^-8 of itself, and two layers of
            // std-0.3 weights amplify that to a few percent of the largest logit.
            Assert.True(Math.Abs(loaded[i] - exact[i]) <= 0.05 * scale, $"logit {i}: loaded {loaded[i]}, float32 in memory {exact[i]}");
        }
    }

    [Fact]
    public void FastTrainerAsAForwardModelMatchesTheReferenceModelWithPadding()
    {
        var parameters = DreamParameters<float>.Initialize(Config(tied: true), 8, std: 0.3);
        using var dir = new TempDirectory();
        CheckpointWriter.Write(dir.Path, parameters, Task.Tokens, new GenerationSuggestion(Task.AnswerLength, Task.AnswerLength));
        using var checkpoint = DreamCheckpoint.Open(dir.Path);

        const int batch = 2, length = 10;
        var mask = new int[batch * length];
        for (int i = 0; i < mask.Length; i++) mask[i] = i < 3 ? 0 : 1;              // row 0 left-padded by 3
        var input = new ForwardInput(batch, length, mask);
        for (int i = 0; i < input.Ids.Length; i++) input.Ids[i] = i * 7 % Task.VocabSize;
        int[] rows = { 0, 4, 9, 10, 13, 19, 4 };                                     // a pad row, a repeat, both batch rows
        var expected = new float[rows.Length * Task.VocabSize];
        var actual = new float[expected.Length];
        new ReferenceModel(checkpoint.Weights).Forward(input, rows, expected);
        new CpuTrainableModel(DreamParameters<float>.From(checkpoint.Weights)).Forward(input, rows, actual);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-4);
    }

    [Fact]
    public void TokenizerAndGenerationConfigDescribeTheTask()
    {
        using var dir = new TempDirectory();
        CheckpointWriter.Write(dir.Path, DreamParameters<float>.Initialize(Config(true), 1), Task.Tokens,
            new GenerationSuggestion(Task.AnswerLength, Task.AnswerLength));
        using var checkpoint = DreamCheckpoint.Open(dir.Path);
        var g = checkpoint.GenerationDefaults!;
        Assert.Equal((17, 17, "entropy", 0.0, 8), (g.MaxNewTokens, g.Steps, g.Alg, g.Temperature, g.MaskTokenId));

        using var tok = JsonDocument.Parse(File.ReadAllText(checkpoint.TokenizerPath!));
        var model = tok.RootElement.GetProperty("model");
        Assert.Equal("BPE", model.GetProperty("type").GetString());
        Assert.Equal(0, model.GetProperty("merges").GetArrayLength());
        var vocab = model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(new Dictionary<string, int> { ["0"] = 0, ["1"] = 1, ["2"] = 2, ["3"] = 3, ["4"] = 4, ["="] = 5 }, vocab);
        var added = tok.RootElement.GetProperty("added_tokens").EnumerateArray()
            .ToDictionary(a => a.GetProperty("content").GetString()!, a => a.GetProperty("id").GetInt32());
        Assert.Equal(new Dictionary<string, int> { ["<|endoftext|>"] = 6, ["<|beginoftext|>"] = 7, ["<|mask|>"] = 8 }, added);
        Assert.Contains("<|mask|>", File.ReadAllText(checkpoint.TokenizerPath!)); // not escaped as \u003C
    }

    [Fact]
    public void ProjectTokenizerReadsTheWrittenTokenizer()
    {
        using var dir = new TempDirectory();
        CheckpointWriter.Write(dir.Path, DreamParameters<float>.Initialize(Config(true), 1), Task.Tokens,
            new GenerationSuggestion(Task.AnswerLength, Task.AnswerLength));
        var tokenizer = Core.Tokenization.BpeTokenizer.Load(Path.Combine(dir.Path, "tokenizer.json"));
        Assert.Equal(new[] { 1, 0, 3, 4, 5, 8, 6 }, tokenizer.Encode("1034=<|mask|><|endoftext|>"));
        Assert.Equal("1034=", tokenizer.Decode(new[] { 1, 0, 3, 4, 5, 8, 6 }, skipSpecialTokens: true));
    }

    [Fact]
    public void NineByNineTableMatchesTheEmbeddedPlannersTokenizer()
    {
        // The embedded 9×9 planner's tokenizer.json (written by the PyTorch recipe) and ours agree on every id.
        var nine = new SudokuTask(new SudokuGrid(3));
        var ours = CheckpointWriter.TokenizerJson(nine.Tokens);
        using var theirs = JsonDocument.Parse(File.ReadAllText(Path.Combine(Support.TestData.SudokuModel, "tokenizer.json")));
        var theirVocab = theirs.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        var ourVocab = ours["model"]!["vocab"]!.AsObject().ToDictionary(p => p.Key, p => (int)p.Value!);
        Assert.Equal(theirVocab, ourVocab);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(theirs.RootElement.GetProperty("pre_tokenizer").GetRawText()), ours["pre_tokenizer"]),
            "pre_tokenizer differs from the embedded planner's");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(theirs.RootElement.GetProperty("added_tokens").GetRawText()), ours["added_tokens"]),
            "added_tokens differ from the embedded planner's");
    }
}
