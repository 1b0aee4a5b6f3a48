using System.Text;
using Dream.Core;
using Dream.Core.Checkpoint;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Dream.Tests.Checkpoint;

/// <summary>
/// Corrupted safetensors files must end in <see cref="DreamFormatException"/> naming the file — never an
/// IndexOutOfRange, Overflow or OutOfMemory exception, never a hang. Each property starts from a valid file
/// and breaks one thing; a file that still parses must hand out only in-bounds views.
/// </summary>
public class SafetensorsFuzzTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dream-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] ValidFile()
    {
        var path = Path.GetTempFileName();
        try
        {
            SafetensorsFile.Write(path, new[]
            {
                ("a", TensorDType.F32, new long[] { 2, 3 }, new byte[24]),
                ("b", TensorDType.BF16, new long[] { 4 }, new byte[8]),
                ("c", TensorDType.I64, new long[] { 1 }, new byte[8]),
            }, new Dictionary<string, string> { ["format"] = "pt" });
            return File.ReadAllBytes(path);
        }
        finally { File.Delete(path); }
    }

    private static byte[] WithHeader(string json, int dataBytes)
    {
        byte[] header = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + header.Length + dataBytes];
        BitConverter.GetBytes((ulong)header.Length).CopyTo(bytes, 0);
        header.CopyTo(bytes, 8);
        return bytes;
    }

    /// <summary>Opens the bytes as a file; true if it parsed (and then every view was in bounds), false if refused properly.</summary>
    private bool OpensOrFailsCleanly(byte[] bytes)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, bytes);
        try
        {
            using var file = SafetensorsFile.Open(path);
            foreach (var name in file.Names)
            {
                var view = file[name];
                Assert.InRange(view.ByteLength, 0, bytes.Length);
                _ = view.Bytes.Length; // touching the span proves it lies inside the mapping
                Assert.True(view.ElementCount * TensorDTypes.SizeOf(view.DType) == view.ByteLength);
            }
            return true;
        }
        catch (DreamFormatException e)
        {
            Assert.Equal(path, e.FilePath);
            Assert.Contains(path, e.Message);
            return false;
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void ValidFileRoundTrips()
    {
        Assert.True(OpensOrFailsCleanly(ValidFile()));
    }

    [Property(MaxTest = 200)]
    public void TruncatedFilesFailCleanly(PositiveInt cut)
    {
        byte[] valid = ValidFile();
        int length = cut.Get % valid.Length; // strictly shorter than the valid file
        bool opened = OpensOrFailsCleanly(valid[..length]);
        // A prefix that keeps the whole header but loses data must be refused: the offsets point past the end.
        Assert.False(opened, $"a {length}-byte prefix of a {valid.Length}-byte file was accepted");
    }

    [Property(MaxTest = 200)]
    public void ArbitraryHeaderLengthsFailCleanly(ulong headerLength)
    {
        byte[] bytes = ValidFile();
        ulong original = BitConverter.ToUInt64(bytes, 0);
        if (headerLength == original) return;
        BitConverter.GetBytes(headerLength).CopyTo(bytes, 0);
        OpensOrFailsCleanly(bytes);
    }

    [Property(MaxTest = 300)]
    public void RandomByteCorruptionFailsCleanly(PositiveInt position, byte value)
    {
        byte[] bytes = ValidFile();
        int headerEnd = 8 + (int)BitConverter.ToUInt64(bytes, 0);
        bytes[position.Get % headerEnd] = value;
        OpensOrFailsCleanly(bytes);
    }

    [Property(MaxTest = 100)]
    public void ArbitraryBytesFailCleanly(byte[] bytes) => OpensOrFailsCleanly(bytes);

    public static Arbitrary<string> BrokenEntries() => Gen.Elements(
        """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}""",                 // size mismatch
        """{"x":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"y":{"dtype":"F32","shape":[2],"data_offsets":[0,9]}}""", // overlap (y size wrong too)
        """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", // overlap
        """{"x":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}""",                 // negative offset
        """{"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}""",                  // reversed
        """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,9999999999999]}}""",      // past the end
        """{"x":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}""",                   // unknown dtype
        """{"x":{"dtype":"F32","shape":[9223372036854775807,9223372036854775807],"data_offsets":[0,8]}}""", // overflow
        """{"x":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}}""", // huge dims
        """{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""",                 // negative dim
        """{"x":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}""",                // fractional dim
        """{"x":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}""",                  // shape not array
        """{"x":{"dtype":"F32","shape":[2]}}""",                                       // no offsets
        """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0]}}""",                    // one offset
        """{"x":{"shape":[2],"data_offsets":[0,8]}}""",                                // no dtype
        """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"x":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", // duplicate
        """{"x":[1,2,3]}""",                                                           // entry not object
        """{"__metadata__":{"a":1}}""",                                                // metadata not strings
        """[1,2]""",                                                                   // not an object
        """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""",                   // truncated JSON
        "{\"x\":\"\uFFFF\"}",                                                          // odd char, wrong type
        """{"x":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}}"""   // rank too high
    ).ToArbitrary();

    [Property(MaxTest = 100, Arbitrary = new[] { typeof(SafetensorsFuzzTests) })]
    public void BrokenHeadersAreRefused(string header)
    {
        Assert.False(OpensOrFailsCleanly(WithHeader(header, 16)), $"accepted: {header}");
    }

    [Fact]
    public void InvalidUtf8HeaderIsRefused()
    {
        byte[] bytes = WithHeader("{\"x\":1}", 0);
        bytes[10] = 0xFF; // not valid UTF-8
        Assert.False(OpensOrFailsCleanly(bytes));
    }

    [Fact]
    public void MissingFileNamesThePath()
    {
        var e = Assert.Throws<DreamFormatException>(() => SafetensorsFile.Open(Path.Combine(_dir, "nope.safetensors")));
        Assert.Contains("nope.safetensors", e.Message);
    }

    [Fact]
    public void WrongShapeNamesTensorAndBothShapes()
    {
        string path = Path.Combine(_dir, "w.safetensors");
        SafetensorsFile.Write(path, new[] { ("w", TensorDType.F32, new long[] { 2, 3 }, new byte[24]) });
        using var file = SafetensorsFile.Open(path);
        var e = Assert.Throws<DreamFormatException>(() => file["w"].Expect(3, 2));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("[3, 2]", e.Message);
        Assert.Contains("[2, 3]", e.Message);
    }
}
