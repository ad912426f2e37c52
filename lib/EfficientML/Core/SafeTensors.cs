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

    /// <summary>Reads every tensor (on the CPU) and the metadata. Errors name the file, the tensor and the fix.</summary>
    public static SafeTensorsFile Read(string path)
    {
        var (header, dataStart, length) = ReadHeader(path);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using var stream = File.OpenRead(path);
            foreach (var (name, node) in header)
            {
                if (name == MetadataKey) continue;
                var (dtype, shape, begin, end) = Describe(path, name, node);
                if (dataStart + end > length)
                    throw new CheckpointException(
                        $"'{path}' is truncated: tensor '{name}' needs bytes {begin}..{end} of the data, but the file holds only {length - dataStart}. " +
                        "Copy or download the file again, or re-save the model.");
                var expected = shape.Aggregate(1L, (a, d) => a * d) * ElementSize(dtype);
                if (expected != end - begin)
                    throw new CheckpointException($"'{path}' is malformed: tensor '{name}' has shape [{string.Join(", ", shape)}] ({expected} bytes) but a byte range of {end - begin}.");
                var bytes = new byte[end - begin];
                stream.Position = dataStart + begin;
                stream.ReadExactly(bytes);
                var tensor = torch.empty(shape, dtype);
                tensor.bytes = bytes;
                tensors[name] = tensor;
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return new SafeTensorsFile(tensors, ReadMetadata(header));
    }

    /// <summary>Reads only the metadata map (cheap: the tensors are not touched).</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path) => ReadMetadata(ReadHeader(path).Header);

    static IReadOnlyDictionary<string, string> ReadMetadata(JsonObject header) =>
        header[MetadataKey] is JsonObject meta
            ? meta.ToDictionary(p => p.Key, p => p.Value?.GetValue<string>() ?? "")
            : new Dictionary<string, string>();

    static (JsonObject Header, long DataStart, long Length) ReadHeader(string path)
    {
        if (!File.Exists(path))
            throw new CheckpointException($"No checkpoint at '{Path.GetFullPath(path)}'. Check the path, or save a model there first.");
        using var stream = File.OpenRead(path);
        var length = stream.Length;
        if (length < 8)
            throw new CheckpointException($"'{path}' is truncated ({length} bytes): it has no safetensors header. Copy or download it again.");
        var sizeBytes = new byte[8];
        stream.ReadExactly(sizeBytes);
        var size = BitConverter.ToUInt64(sizeBytes);
        if (size > 100_000_000 || 8 + (long)size > length)
            throw new CheckpointException(
                $"'{path}' is truncated or not a safetensors file: its header claims {size} bytes but the file has {length}. Copy or download it again.");
        var json = new byte[size];
        stream.ReadExactly(json);
        try
        {
            return (JsonNode.Parse(json) as JsonObject ?? throw new JsonException("the header is not a JSON object"), 8 + (long)size, length);
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"'{path}' is not a valid safetensors file: {e.Message}", e);
        }
    }

    static (ScalarType DType, long[] Shape, long Begin, long End) Describe(string path, string name, JsonNode? node)
    {
        try
        {
            var dtypeName = node!["dtype"]!.GetValue<string>();
            if (!DTypes.TryGetValue(dtypeName, out var dtype))
                throw new CheckpointException($"'{path}': tensor '{name}' has dtype {dtypeName}, which is not supported (use F32, F16, BF16 or an integer type).");
            var shape = node["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            var offsets = node["data_offsets"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
                throw new CheckpointException($"'{path}': tensor '{name}' has invalid data_offsets.");
            return (dtype, shape, offsets[0], offsets[1]);
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw new CheckpointException($"'{path}': the header entry of tensor '{name}' is malformed ({e.Message}).", e);
        }
    }

    static long ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };
}

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
