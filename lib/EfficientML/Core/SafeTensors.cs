using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Core;

/// <summary>A problem with a checkpoint file, told so the reader knows what to do.</summary>
public sealed class CheckpointException(string message, Exception? inner = null) : InvalidFileException(message, inner);

/// <summary>
/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header mapping each
/// tensor name to dtype, shape and byte range, an optional <c>__metadata__</c> string map, then the raw data.
/// Used for the project's own checkpoints and to read and write models from other tools.
/// </summary>
public static class SafeTensors
{
    const string MetadataKey = "__metadata__";

    static readonly Dictionary<string, ScalarType> DTypes = new()
    {
        ["F64"] = ScalarType.Float64, ["F32"] = ScalarType.Float32, ["F16"] = ScalarType.Float16,
        ["BF16"] = ScalarType.BFloat16, ["I64"] = ScalarType.Int64, ["I32"] = ScalarType.Int32,
        ["I16"] = ScalarType.Int16, ["I8"] = ScalarType.Int8, ["U8"] = ScalarType.Byte, ["BOOL"] = ScalarType.Bool,
    };

    /// <summary>Writes tensors (moved to CPU, made contiguous) and string metadata to <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header[MetadataKey] = meta;
        }
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            if (name == MetadataKey) throw new InvalidSettingsException($"'{MetadataKey}' is reserved and cannot name a tensor.");
            if (header.ContainsKey(name)) throw new InvalidSettingsException($"Tensor name '{name}' appears twice.");
            var dtype = DTypes.FirstOrDefault(p => p.Value == tensor.dtype).Key
                ?? throw new InvalidSettingsException($"Tensor '{name}' has dtype {tensor.dtype}, which safetensors cannot store here.");
            using var cpu = tensor.detach().cpu().contiguous();
            var bytes = cpu.bytes.ToArray();
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(tensor.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes.Length),
            };
            blobs.Add(bytes);
            offset += bytes.Length;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = (json.Length + 7) / 8 * 8; // data starts 8-byte aligned, as the format recommends
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        var temp = path + ".partial";
        using (var stream = File.Create(temp))
        {
            stream.Write(BitConverter.GetBytes((ulong)padded));
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var blob in blobs) stream.Write(blob);
        }
        File.Move(temp, path, overwrite: true); // a crash mid-write never leaves a half file under the real name
    }

    /// <summary>
    /// Reads every tensor (on the CPU) and the metadata. The header is checked against the file before any tensor is
    /// made (<see cref="ReadEntries"/>); errors name the file, the tensor and the fix.
    /// </summary>
    public static SafeTensorsFile Read(string path)
    {
        var header = ReadHeader(path);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using var stream = File.OpenRead(path);
            foreach (var entry in header.Entries)
            {
                var bytes = new byte[entry.End - entry.Begin];
                stream.Position = header.DataStart + entry.Begin;
                stream.ReadExactly(bytes);
                var tensor = torch.empty(entry.Shape, entry.DType);
                tensor.bytes = bytes;
                tensors[entry.Name] = tensor;
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return new SafeTensorsFile(tensors, header.Metadata);
    }

    /// <summary>Reads only the metadata map (cheap: the tensors are not touched, but the header is checked).</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path) => ReadHeader(path).Metadata;

    /// <summary>
    /// The tensors a file holds (name, dtype, shape), in the order of their data, without reading them: cheap, so a loader
    /// can compare them with what a model needs before it builds anything. The header must describe the file exactly:
    /// known dtypes, non-negative shapes whose byte counts match their ranges, and ranges that tile the data with no gap,
    /// overlap or trailing byte (as the format requires), so a shifted, aliased or truncated file is refused.
    /// </summary>
    public static IReadOnlyList<SafeTensorsEntry> ReadEntries(string path) => ReadHeader(path).Entries;

    sealed record Header(IReadOnlyList<SafeTensorsEntry> Entries, IReadOnlyDictionary<string, string> Metadata, long DataStart);

    static Header ReadHeader(string path)
    {
        var length = InputFiles.Length(path, "checkpoint", minimumBytes: 8,
            missing: p => new CheckpointException($"No checkpoint at '{Path.GetFullPath(p)}'. Check the path, or save a model there first."),
            tooShort: (p, n) => new CheckpointException(n == 0
                ? $"'{p}' is empty, or not a regular file (a pipe or a device): it has no safetensors header. Give the path of a .safetensors file."
                : $"'{p}' is truncated ({n} bytes): it has no safetensors header. Copy or download it again."));
        using var stream = File.OpenRead(path);
        var sizeBytes = new byte[8];
        stream.ReadExactly(sizeBytes);
        var size = BitConverter.ToUInt64(sizeBytes);
        if (size > 100_000_000 || 8 + (long)size > length)
            throw new CheckpointException(
                $"'{path}' is truncated or not a safetensors file: its header claims {size} bytes but the file has {length}. Copy or download it again.");
        var json = new byte[size];
        stream.ReadExactly(json);
        // Names are decoded lazily, long after the parse; invalid UTF-8 would surface then, outside any message.
        if (!System.Text.Unicode.Utf8.IsValid(json))
            throw new CheckpointException($"'{path}' is not a valid safetensors file: its header holds bytes that are not UTF-8 text (damaged in copying?). Copy or download it again.");
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }) as JsonObject
                   ?? throw new CheckpointException($"'{path}' is not a safetensors file: its header is not a JSON object.");
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            throw new CheckpointException($"'{path}' is not a valid safetensors file: its header is not valid JSON ({Reason(e)}). Copy or download it again.", e);
        }
        var dataStart = 8 + (long)size;
        var entries = new List<SafeTensorsEntry>();
        IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
        foreach (var (name, node) in root)
        {
            if (name == MetadataKey) { metadata = Metadata(path, node); continue; }
            entries.Add(Describe(path, name, node));
        }
        entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        long expected = 0;
        foreach (var e in entries)
        {
            if (e.Begin != expected)
                throw new CheckpointException(e.Begin > expected
                    ? $"'{path}' is malformed: bytes {expected}..{e.Begin} of its data belong to no tensor (tensor '{e.Name}' starts at {e.Begin}). The header does not match the data: re-save the model."
                    : $"'{path}' is malformed: tensor '{e.Name}' starts at byte {e.Begin}, inside the previous tensor (which ends at {expected}). Tensors must not share bytes: re-save the model.");
            expected = e.End;
        }
        if (dataStart + expected < length)
            throw new CheckpointException($"'{path}' is malformed: its header accounts for {expected} bytes of data but {length - dataStart} follow it. The header does not match the data: re-save the model.");
        if (dataStart + expected > length)
        {
            var cut = entries.First(e => dataStart + e.End > length);
            throw new CheckpointException(
                $"'{path}' is truncated: tensor '{cut.Name}' needs bytes {cut.Begin}..{cut.End} of the data, but the file holds only {length - dataStart}. " +
                "Copy or download the file again, or re-save the model.");
        }
        return new Header(entries, metadata, dataStart);
    }

    static IReadOnlyDictionary<string, string> Metadata(string path, JsonNode? node)
    {
        if (node is not JsonObject meta)
            throw new CheckpointException($"'{path}' is malformed: its {MetadataKey} entry is not a map of strings.");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in meta)
        {
            if (value is not JsonValue v || !v.TryGetValue<string>(out var text))
                throw new CheckpointException($"'{path}' is malformed: metadata entry '{key}' is not a string.");
            map[key] = text;
        }
        return map;
    }

    static SafeTensorsEntry Describe(string path, string name, JsonNode? node)
    {
        string Where() => $"'{path}': the header entry of tensor '{name}'";
        if (node is not JsonObject entry)
            throw new CheckpointException($"{Where()} is not an object with dtype, shape and data_offsets.");
        if (entry["dtype"] is not JsonValue dtypeNode || !dtypeNode.TryGetValue<string>(out var dtypeName))
            throw new CheckpointException($"{Where()} has no dtype (e.g. \"F32\").");
        if (!DTypes.TryGetValue(dtypeName, out var dtype))
            throw new CheckpointException($"'{path}': tensor '{name}' has dtype {dtypeName}, which is not supported (use F32, F16, BF16 or an integer type).");
        var shape = Integers(entry["shape"]) ?? throw new CheckpointException($"{Where()} has no shape (a list of whole numbers, e.g. [256, 128]).");
        if (shape.Any(d => d < 0))
            throw new CheckpointException($"{Where()} has a negative dimension in its shape [{string.Join(", ", shape)}].");
        var offsets = Integers(entry["data_offsets"]);
        if (offsets is not { Length: 2 } || offsets[0] < 0 || offsets[1] < offsets[0])
            throw new CheckpointException($"{Where()} has invalid data_offsets (two whole numbers, begin ≤ end).");
        long bytes;
        try { bytes = checked(shape.Aggregate(1L, (a, d) => a * d) * ElementSize(dtype)); }
        catch (OverflowException) { throw new CheckpointException($"{Where()} has an impossibly large shape [{string.Join(", ", shape)}]."); }
        if (bytes != offsets[1] - offsets[0])
            throw new CheckpointException($"'{path}' is malformed: tensor '{name}' has shape [{string.Join(", ", shape)}] ({bytes} bytes) but a byte range of {offsets[1] - offsets[0]}.");
        return new SafeTensorsEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    static long[]? Integers(JsonNode? node)
    {
        if (node is not JsonArray array) return null;
        var values = new long[array.Count];
        for (int i = 0; i < values.Length; i++)
            if (array[i] is not JsonValue v || !v.TryGetValue<long>(out values[i])) return null;
        return values;
    }

    static string Reason(Exception e) => $"it has {JsonProblems.Describe(e)}";

    static long ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };
}

/// <summary>One tensor of a safetensors file as its header describes it; <see cref="Begin"/>..<see cref="End"/> are byte offsets into the data.</summary>
public sealed record SafeTensorsEntry(string Name, ScalarType DType, long[] Shape, long Begin, long End);

/// <summary>The contents of a safetensors file: CPU tensors by name, and string metadata. Dispose to free them.</summary>
public sealed class SafeTensorsFile(Dictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata) : IDisposable
{
    /// <summary>Tensors by name, in the file's order.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; } = tensors;

    /// <summary>The <c>__metadata__</c> map (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in Tensors.Values) t.Dispose();
    }
}
