using System.Text.Json;
using System.Text.Json.Nodes;
using EfficientML.Core;
using EfficientML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Clustering;

public sealed partial class PalettizedModel
{
    const string FormatKey = "format", FormatValue = "efficientml.palettized-tinygpt", ConfigKey = "config",
        PalettesKey = "palettes", PackingKey = "index_packing";

    /// <summary>How indices are packed, written into every file so a reader elsewhere needs nothing else.</summary>
    public const string PackingDescription =
        "little-endian: index i occupies bits i*bits..i*bits+bits-1 of the stream; stream bit j is bit (j mod 8) of byte j/8 (bit 0 = least significant); the last byte is zero-padded";

    /// <summary>
    /// Writes the model as safetensors: for each palettised weight <c>&lt;name&gt;.table</c> (G, k) F32 and
    /// <c>&lt;name&gt;.indices</c>, a U8 vector with the indices packed at the palette's bits (see <see cref="IndexPacking"/>);
    /// every other tensor F32 under its name. Metadata: <c>format</c>, <c>config</c> (TinyGpt JSON), <c>palettes</c>
    /// (JSON: name → shape, bits, group_size) and <c>index_packing</c>. Returns the file's size in bytes.
    /// </summary>
    public long Save(string path)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>();
        var palettes = new JsonObject();
        try
        {
            foreach (var name in Names)
            {
                if (_palettes.TryGetValue(name, out var p))
                {
                    tensors.Add(new(name + ".table", p.Table));
                    using var indices = p.Indices.contiguous();
                    var bytes = IndexPacking.Pack(indices.bytes, p.Bits);
                    tensors.Add(new(name + ".indices", tensor(bytes, dtype: ScalarType.Byte)));
                    palettes[name] = new JsonObject
                    {
                        ["shape"] = new JsonArray(p.Indices.shape.Select(d => (JsonNode)d).ToArray()),
                        ["bits"] = p.Bits,
                        ["group_size"] = p.GroupSize,
                    };
                }
                else tensors.Add(new(name, _plain[name]));
            }
            SafeTensors.Write(path, tensors, new Dictionary<string, string>
            {
                [FormatKey] = FormatValue, [ConfigKey] = Config.ToJson(), [PalettesKey] = palettes.ToJsonString(), [PackingKey] = PackingDescription,
            });
        }
        finally
        {
            foreach (var (name, t) in tensors) if (name.EndsWith(".indices", StringComparison.Ordinal)) t.Dispose();
        }
        return new FileInfo(path).Length;
    }

    /// <summary>
    /// Reads a file written by <see cref="Save"/>: tables and indices come back exactly. A file that is truncated or
    /// inconsistent (a missing table or indices, index bytes that do not match the shape, an index not below k, bits
    /// outside 1–8, a plain tensor missing or of the wrong shape) gives one <see cref="CheckpointException"/> naming the tensor.
    /// </summary>
    public static PalettizedModel Load(string path)
    {
        var meta = SafeTensors.ReadMetadata(path);
        if (meta.GetValueOrDefault(FormatKey) != FormatValue || !meta.TryGetValue(ConfigKey, out var configJson))
            throw new CheckpointException(
                $"'{path}' is not a palettised TinyGpt file (its metadata has no format '{FormatValue}'). " +
                "Write one with PalettizedModel.Save; for a plain model use TinyGpt.Load.");
        TinyGptConfig config;
        JsonObject entries;
        try
        {
            config = TinyGptConfig.FromJson(configJson);
            entries = JsonNode.Parse(meta.GetValueOrDefault(PalettesKey) ?? "{}") as JsonObject
                ?? throw new JsonException("the palettes entry is not a JSON object");
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new CheckpointException($"'{path}' has unreadable metadata: {(e is InvalidSettingsException ? e.Message : $"it has {JsonProblems.Describe(e)}")}. Re-save the model.", e);
        }
        var shapes = ParameterShapes(config);
        using var file = SafeTensors.Read(path);
        var palettes = new Dictionary<string, Palette>(StringComparer.Ordinal);
        var plain = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, entry) in entries)
            {
                if (!shapes.TryGetValue(name, out var shape)) throw Fail(path, name, "is listed as palettised but the model has no such parameter");
                palettes[name] = ReadPalette(path, file, name, entry, shape);
                used.Add(name + ".table");
                used.Add(name + ".indices");
            }
            foreach (var (name, shape) in shapes)
            {
                if (palettes.ContainsKey(name)) continue;
                if (!file.Tensors.TryGetValue(name, out var t)) throw Fail(path, name, "is missing (neither a plain tensor nor a palette)");
                if (!t.shape.SequenceEqual(shape))
                    throw Fail(path, name, $"has shape [{string.Join(", ", t.shape)}] but the configuration needs [{string.Join(", ", shape)}]");
                if (!t.is_floating_point()) throw Fail(path, name, $"has dtype {t.dtype}; plain weights are floating point");
                plain[name] = t.to(ScalarType.Float32).clone();
                used.Add(name);
            }
            var extra = file.Tensors.Keys.Where(k => !used.Contains(k)).ToList();
            if (extra.Count > 0) throw Fail(path, extra[0], "belongs to no parameter of the model (a palette missing from the metadata?)");
        }
        catch
        {
            foreach (var p in palettes.Values) p.Dispose();
            foreach (var t in plain.Values) t.Dispose();
            throw;
        }
        return new PalettizedModel(config, palettes, plain);
    }

    static Palette ReadPalette(string path, SafeTensorsFile file, string name, JsonNode? entry, long[] shape)
    {
        long[] declared;
        int bits;
        int? groupSize;
        try
        {
            declared = entry!["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            bits = entry["bits"]!.GetValue<int>();
            groupSize = entry["group_size"]?.GetValue<int>();
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw Fail(path, name, "has a malformed palette entry in the metadata (it needs shape, a list of whole numbers, and bits, a whole number; group_size is optional)");
        }
        if (!declared.SequenceEqual(shape))
            throw Fail(path, name, $"is declared with shape [{string.Join(", ", declared)}] but the configuration needs [{string.Join(", ", shape)}]");
        if (bits is < 1 or > 8) throw Fail(path, name, $"has {bits} bits per index; bits must be 1–8");
        if (!file.Tensors.TryGetValue(name + ".table", out var table)) throw Fail(path, name, $"has no table: tensor '{name}.table' is missing");
        if (!file.Tensors.TryGetValue(name + ".indices", out var packed)) throw Fail(path, name, $"has no indices: tensor '{name}.indices' is missing");
        if (table.dtype != ScalarType.Float32) throw Fail(path, name, $"has a table of dtype {table.dtype}; it must be F32");
        if (packed.dtype != ScalarType.Byte || packed.dim() != 1)
            throw Fail(path, name, $"has indices of dtype {packed.dtype} and shape [{string.Join(", ", packed.shape)}]; they must be a U8 vector of packed bytes");
        long count = shape.Aggregate(1L, (a, d) => a * d);
        long needed = IndexPacking.PackedLength(count, bits);
        if (packed.numel() != needed)
            throw Fail(path, name, $"has {packed.numel()} index bytes, but shape [{string.Join(", ", shape)}] at {bits} bits needs exactly {needed}" +
                (packed.numel() < needed ? " (too short)" : " (too long)"));
        var indices = tensor(IndexPacking.Unpack(packed.bytes, count, bits), dtype: ScalarType.Byte).view(shape);
        var palette = new Palette(table.clone(), indices, bits, groupSize);
        if (Problem(palette, shape) is { } problem)
        {
            palette.Dispose();
            throw Fail(path, name, problem);
        }
        return palette;
    }

    static CheckpointException Fail(string path, string name, string what) =>
        new($"'{path}' is not a valid palettised model: tensor '{name}' {what}. Re-save the model with PalettizedModel.Save.");
}
