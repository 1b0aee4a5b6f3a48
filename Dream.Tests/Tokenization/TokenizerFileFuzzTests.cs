using System.Text;
using Dream.Core;
using Dream.Core.Tokenization;
using FsCheck;
using FsCheck.Xunit;
using Xunit;

namespace Dream.Tests.Tokenization;

/// <summary>Cut or scribbled-on tokenizer files either load or throw <see cref="DreamFormatException"/> — nothing else.</summary>
public sealed class TokenizerFileFuzzTests : IDisposable
{
    private static readonly byte[] Valid = Encoding.UTF8.GetBytes(TinyTokenizerFiles.TokenizerJson().ToJsonString());
    private readonly string _dir = Directory.CreateTempSubdirectory("dream-tok-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Property(MaxTest = 150)]
    public void DamagedTokenizerJsonFailsCleanly(NonNegativeInt cut, (NonNegativeInt At, byte Value)[] scribbles)
    {
        byte[] bytes = Valid[..(cut.Get % (Valid.Length + 1))];
        foreach (var (at, value) in scribbles)
            if (bytes.Length > 0) bytes[at.Get % bytes.Length] = value;
        string path = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllBytes(path, bytes);
        try { BpeTokenizer.Load(path).Encode("hello world"); }
        catch (DreamFormatException e) { Assert.Equal(path, e.FilePath); }
    }

    [Property(MaxTest = 100)]
    public void DamagedMergesTxtFailsCleanly(string line)
    {
        TinyTokenizerFiles.WriteLegacy(_dir);
        File.AppendAllText(Path.Combine(_dir, "merges.txt"), (line ?? "") + "\n");
        try { BpeTokenizer.Load(_dir).Encode("hello world"); }
        catch (DreamFormatException e) { Assert.EndsWith("merges.txt", e.FilePath); }
    }
}
