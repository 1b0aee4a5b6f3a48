using System.IO.MemoryMappedFiles;
using System.Text;
using System.Text.Json;

namespace Dream.Core.Checkpoint;

/// <summary>
/// A memory-mapped safetensors file. Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`), then the data section;
/// offsets are relative to the data section. Nothing is copied: a 15 GB checkpoint costs page cache, not heap.
/// Every structural rule is checked at open, so a <see cref="TensorView"/> handed out is always in bounds.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>Headers above this are refused before anything is allocated (real ones are well under 1 MB).</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private readonly Dictionary<string, TensorView> _tensors = new(StringComparer.Ordinal);

    public string Path { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyCollection<string> Names => _tensors.Keys;

    private SafetensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePtr,
        Dictionary<string, string> metadata)
    {
        Path = path;
        _map = map;
        _view = view;
        _base = basePtr;
        Metadata = metadata;
    }

    public static SafetensorsFile Open(string path)
    {
        long fileLength;
        try { fileLength = new FileInfo(path).Length; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new DreamFormatException(path, null, $"cannot read file: {e.Message}", e); }
        if (!File.Exists(path)) throw new DreamFormatException(path, null, "file not found");
        if (fileLength < 8) throw new DreamFormatException(path, null, $"file is {fileLength} bytes; a safetensors file starts with an 8-byte header length");

        MemoryMappedFile map;
        try { map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new DreamFormatException(path, null, $"cannot map file: {e.Message}", e); }

        MemoryMappedViewAccessor? view = null;
        byte* basePtr = null;
        try
        {
            view = map.CreateViewAccessor(0, fileLength, MemoryMappedFileAccess.Read);
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
            basePtr += view.PointerOffset;
            var file = new SafetensorsFile(path, map, view, basePtr, new Dictionary<string, string>());
            file.ParseHeader(fileLength);
            return file;
        }
        catch
        {
            if (basePtr != null) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map.Dispose();
            throw;
        }
    }

    private void ParseHeader(long fileLength)
    {
        ulong headerLength = *(ulong*)_base; // little-endian on every platform .NET runs ILGPU on
        if (!BitConverter.IsLittleEndian) headerLength = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(headerLength);
        if (headerLength > (ulong)(fileLength - 8))
            throw new DreamFormatException(Path, null, $"header length {headerLength} runs past the end of the {fileLength}-byte file");
        if (headerLength > MaxHeaderBytes)
            throw new DreamFormatException(Path, null, $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit");
        if (headerLength < 2)
            throw new DreamFormatException(Path, null, $"header length {headerLength} is too short for a JSON object");

        var headerBytes = new ReadOnlySpan<byte>(_base + 8, (int)headerLength);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        if (!System.Text.Unicode.Utf8.IsValid(headerBytes))
            throw new DreamFormatException(Path, null, "header is not valid UTF-8");
        JsonDocument doc;
        try
        {
            // Strict UTF-8: the JSON reader rejects invalid sequences itself.
            doc = JsonDocument.Parse(headerBytes.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        { throw new DreamFormatException(Path, null, $"header is not valid JSON: {e.Message}", e); }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new DreamFormatException(Path, null, "header must be a JSON object");

            var spans = new List<(long Begin, long End, string Name)>();
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                string name = property.Name;
                if (name == "__metadata__")
                {
                    ParseMetadata(property.Value);
                    continue;
                }
                if (_tensors.ContainsKey(name))
                    throw new DreamFormatException(Path, name, "tensor name appears twice in the header");
                var (view, begin, end) = ParseEntry(name, property.Value, dataStart, dataLength);
                _tensors.Add(name, view);
                spans.Add((begin, end, name));
            }

            spans.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            for (int i = 1; i < spans.Count; i++)
            {
                if (spans[i].Begin < spans[i - 1].End)
                    throw new DreamFormatException(Path, spans[i].Name,
                        $"data [{spans[i].Begin}, {spans[i].End}) overlaps tensor '{spans[i - 1].Name}' [{spans[i - 1].Begin}, {spans[i - 1].End})");
            }
        }
    }

    private void ParseMetadata(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new DreamFormatException(Path, "__metadata__", "must be an object of strings");
        var metadata = (Dictionary<string, string>)Metadata;
        foreach (var p in element.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw new DreamFormatException(Path, "__metadata__", $"value of '{p.Name}' must be a string");
            metadata[p.Name] = p.Value.GetString()!;
        }
    }

    private (TensorView View, long Begin, long End) ParseEntry(string name, JsonElement entry, long dataStart, long dataLength)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw new DreamFormatException(Path, name, "entry must be an object with dtype, shape and data_offsets");
        if (!entry.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new DreamFormatException(Path, name, "missing string field 'dtype'");
        string dtypeName = dtypeElement.GetString()!;
        if (!TensorDTypes.TryParse(dtypeName, out var dtype))
            throw new DreamFormatException(Path, name, $"unknown dtype '{dtypeName}' (expected F64, F32, F16, BF16, I64, I32, I16, I8, U8 or BOOL)");

        if (!entry.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new DreamFormatException(Path, name, "missing array field 'shape'");
        int rank = shapeElement.GetArrayLength();
        if (rank > 8) throw new DreamFormatException(Path, name, $"rank {rank} is above the supported 8");
        var shape = new long[rank];
        long count = 1;
        int d = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long extent) || extent < 0)
                throw new DreamFormatException(Path, name, $"shape[{d}] must be a non-negative integer");
            shape[d++] = extent;
            // Any product above the file size is already wrong; stopping there also rules out overflow.
            count = extent == 0 || count == 0 ? 0 : (count > dataLength / extent ? long.MaxValue : count * extent);
        }

        if (!entry.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw new DreamFormatException(Path, name, "missing field 'data_offsets' of two integers");
        if (!offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end))
            throw new DreamFormatException(Path, name, "data_offsets must be integers");
        if (begin < 0 || end < begin || end > dataLength)
            throw new DreamFormatException(Path, name, $"data_offsets [{begin}, {end}] lie outside the data section of {dataLength} bytes");

        int elementSize = TensorDTypes.SizeOf(dtype);
        if (count == long.MaxValue || count > (end - begin) / elementSize || count * elementSize != end - begin)
            throw new DreamFormatException(Path, name,
                $"shape [{string.Join(", ", shape)}] of {dtypeName} needs {(count == long.MaxValue ? "more than the file's" : (count * elementSize).ToString())} bytes, data_offsets give {end - begin}");

        var view = new TensorView(Path, name, dtype, shape, _base + dataStart + begin, end - begin);
        return (view, begin, end);
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public bool TryGet(string name, out TensorView view) => _tensors.TryGetValue(name, out view);

    public TensorView this[string name] => _tensors.TryGetValue(name, out var v)
        ? v
        : throw new DreamFormatException(Path, name, "tensor not found in this file");

    public void Dispose()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }

    /// <summary>Writes tensors as a safetensors file (used by tests and by training checkpoints).</summary>
    public static void Write(string path, IEnumerable<(string Name, TensorDType DType, long[] Shape, byte[] Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        WriteStreaming(path, list.Select(t => (t.Name, t.DType, t.Shape)).ToList(), (i, stream) => stream.Write(list[i].Data), metadata);
    }

    /// <summary>
    /// Writes the header for <paramref name="tensors"/>, then asks <paramref name="writeData"/> for each tensor's
    /// bytes in order, so a multi-gigabyte file never has to sit in memory at once. Each callback must write exactly
    /// product(shape) × dtype size bytes.
    /// </summary>
    public static void WriteStreaming(string path, IReadOnlyList<(string Name, TensorDType DType, long[] Shape)> tensors,
        Action<int, Stream> writeData, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var header = new MemoryStream();
        var sizes = tensors.Select(t => t.Shape.Aggregate(1L, (a, b) => checked(a * b)) * TensorDTypes.SizeOf(t.DType)).ToArray();
        using (var w = new Utf8JsonWriter(header))
        {
            w.WriteStartObject();
            if (metadata is not null)
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            for (int i = 0; i < tensors.Count; i++)
            {
                var t = tensors[i];
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", TensorDTypes.Name(t.DType));
                w.WriteStartArray("shape");
                foreach (var s in t.Shape) w.WriteNumberValue(s);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + sizes[i]);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += sizes[i];
            }
            w.WriteEndObject();
        }
        // Pad the header with spaces to 8 bytes, as the reference writer does, so data stays aligned.
        while (header.Length % 8 != 0) header.WriteByte((byte)' ');
        using var f = File.Create(path);
        Span<byte> len = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        f.Write(len);
        header.Position = 0;
        header.CopyTo(f);
        for (int i = 0; i < tensors.Count; i++)
        {
            long before = f.Position;
            writeData(i, f);
            if (f.Position - before != sizes[i])
                throw new InvalidOperationException($"{path}: tensor '{tensors[i].Name}' wrote {f.Position - before} bytes, expected {sizes[i]}");
        }
    }
}
