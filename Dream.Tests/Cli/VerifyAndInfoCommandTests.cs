using Dream.Tests.Support;

namespace Dream.Tests.Cli;

public class VerifyAndInfoCommandTests
{
    [Fact]
    public void VerifyForwardPassesOnTheGoldenFolder()
    {
        var (code, stdout, _) = CliRunner.Run("verify", "--golden", TestData.Golden, "--only", "forward");
        Assert.Equal(0, code);
        Assert.EndsWith("8 passed, 0 failed", stdout.TrimEnd());
    }

    [Fact]
    public void VerifyReportsAFailingCaseAndExitsOne()
    {
        // A golden folder whose model weights were perturbed must fail, naming the case.
        string dir = Directory.CreateTempSubdirectory("dream-verify-").FullName;
        try
        {
            File.Copy(Path.Combine(TestData.Golden, "forward-tiny-a.safetensors"), Path.Combine(dir, "forward-tiny-a.safetensors"));
            string model = Path.Combine(dir, "models", "tiny-a");
            Directory.CreateDirectory(model);
            foreach (var f in Directory.GetFiles(TestData.GoldenModel("tiny-a"))) File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
            string config = Path.Combine(model, "config.json");
            File.WriteAllText(config, File.ReadAllText(config).Replace("\"rms_norm_eps\": 1e-06", "\"rms_norm_eps\": 0.5"));
            var (code, stdout, _) = CliRunner.Run("verify", "--golden", dir, "--only", "forward");
            Assert.Equal(1, code);
            Assert.Contains("FAIL forward tiny-a", stdout);
            Assert.EndsWith("0 passed, 2 failed", stdout.TrimEnd());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void VerifyOnAFolderWithoutCasesFails()
    {
        string dir = Directory.CreateTempSubdirectory("dream-verify-empty-").FullName;
        try
        {
            var (code, stdout, _) = CliRunner.Run("verify", "--golden", dir);
            Assert.Equal(1, code);
            Assert.Contains("no golden cases found", stdout);
            Assert.EndsWith("0 passed, 1 failed", stdout.TrimEnd());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData(new[] { "verify" }, "--golden DIR is required")]
    [InlineData(new[] { "verify", "--golden", "/no/such/dir" }, "not found")]
    [InlineData(new[] { "verify", "--golden", ".", "--only", "everything" }, "--only takes")]
    [InlineData(new[] { "verify", "--golden", ".", "--backend", "quantum" }, "unknown backend 'quantum'")]
    [InlineData(new[] { "verify", "--gold", "x" }, "unknown option --gold")]
    [InlineData(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    [InlineData(new[] { "info", "--model" }, "--model needs a value")]
    public void UsageErrorsAreOneLineWithExitCodeTwo(string[] args, string expected)
    {
        var (code, _, stderr) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void InfoDescribesTheShardedTiedModel()
    {
        var (code, stdout, _) = CliRunner.Run("info", "--model", TestData.GoldenModel("tiny-b"));
        Assert.Equal(0, code);
        Assert.Contains("parameters          297,504", stdout);
        Assert.Contains("tied embeddings     yes", stdout);
        Assert.Contains("heads / kv / dim    6 / 1 / 16", stdout);
    }

    [Fact]
    public void MissingModelExplainsWhereItLookedAndHowToGetWeights()
    {
        var (code, _, stderr) = CliRunner.Run("info", "--model", "no-org/no-model");
        Assert.Equal(2, code);
        Assert.Contains("models--no-org--no-model", stderr);
        Assert.Contains("never downloads", stderr);
        Assert.Contains("dream sudoku", stderr);
    }
}
