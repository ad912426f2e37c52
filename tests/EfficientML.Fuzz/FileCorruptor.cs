using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EfficientML.Models;
using EfficientML.Reparam;
using Google.Protobuf;

namespace EfficientML.Fuzz;

/// <summary>One file to load: its loader kind, what it was made from and how, its label, and its bytes (or a special path).</summary>
public sealed record FuzzFile(string Kind, string Base, string Description, FileLabel Label, byte[]? Bytes)
{
    /// <summary>A GPT-2 checkpoint's config.json, written beside it in a folder of its own.</summary>
    public string? ConfigJson { get; init; }
    /// <summary>The config.json beside it is a named pipe (or, with <see cref="ConfigJson"/> "folder", a folder).</summary>
    public string? ConfigSpecial { get; init; }
    /// <summary>Not bytes but a path: a folder, /dev/zero, a pipe, a missing file …</summary>
    public string? SpecialPath { get; init; }
}

/// <summary>
/// Corrupted copies of the <see cref="FileCorpus"/> files, from a seed: bit flips in the header and in the data, truncation
/// at random points, appended bytes, files loaded as the wrong kind, and structured lies in each format (safetensors headers
/// and metadata, TinyGpt and palette configurations, GPT-2 metadata and config.json, ONNX metadata and graphs, WAV headers).
/// Each is labelled: <see cref="FileLabel.Detectable"/> when the format or a cross-check can tell (every header lie, every
/// truncation that cuts declared data, every contradiction between a configuration and the tensors or graph), else
/// <see cref="FileLabel.Undetectable"/> (a flipped byte inside a tensor; a change that leaves a consistent file).
/// </summary>
public sealed class FileCorruptor
{
    readonly Random _random;
    readonly IReadOnlyList<BaseFile> _bases;

    public FileCorruptor(IReadOnlyList<BaseFile> bases, int seed)
    {
        _bases = bases;
        _random = new Random(seed);
    }

    T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];
    bool Chance(double p) => _random.NextDouble() < p;

    const FileLabel D = FileLabel.Detectable, U = FileLabel.Undetectable;

    /// <summary>The next corrupted file (of <paramref name="only"/> kind, when given).</summary>
    public FuzzFile Next(string? only = null)
    {
        for (int attempt = 0; ; attempt++)
        {
            var kind = only ?? Pick(FileCorpus.Kinds);
            var b = Pick(_bases.Where(x => x.Kind == kind).ToList());
            double r = _random.NextDouble();
            FuzzFile? f = r switch
            {
                < 0.12 => FlipHeader(b),
                < 0.20 => FlipData(b),
                < 0.33 => Truncate(b),
                < 0.38 => Append(b),
                < 0.42 => only is null ? CrossKind(b) : null,
                _ => Structured(b),
            };
            if (f != null) return f;
            if (attempt > 50) throw new InvalidOperationException($"no corruption applies to {b.Name}");
        }
    }

    /// <summary>Every base file as it is (must load), and the paths that are not files (must be refused), for every kind.</summary>
    public static IEnumerable<FuzzFile> Fixed(IReadOnlyList<BaseFile> bases)
    {
        foreach (var b in bases) yield return new FuzzFile(b.Kind, b.Name, "valid file, unchanged", FileLabel.Valid, b.Bytes);
        foreach (var kind in FileCorpus.Kinds)
            foreach (var special in new[] { "folder", "/dev/zero", "named pipe", "missing file", "empty file", "/proc/self/status", "symlink to /dev/zero", "symlink loop" })
                yield return new FuzzFile(kind, "-", $"path: {special}", D, null) { SpecialPath = special };
    }

    FuzzFile F(BaseFile b, string description, FileLabel label, byte[] bytes, string? kind = null) =>
        new(kind ?? b.Kind, b.Name, description, label, bytes);

    // ---------------------------------------------------------------- generic corruptions

    FuzzFile? FlipHeader(BaseFile b)
    {
        var bytes = (byte[])b.Bytes.Clone();
        int bit = _random.Next(8);
        if (b.Kind == "wav") return WavFieldFlip(b, bytes, bit);
        if (b.Kind.StartsWith("onnx", StringComparison.Ordinal))
        {
            // Structure bytes of the protobuf: no claim either way (the conservative label); crashes, hangs and wording still count.
            int at = _random.Next(Math.Min(bytes.Length, 64));
            bytes[at] ^= (byte)(1 << bit);
            return F(b, $"flip: bit {bit} of byte {at} (protobuf structure)", U, bytes);
        }
        var st = new SafeTensorsBytes(b.Bytes);
        int pos = _random.Next(st.DataStart);
        bool inMetadata = pos >= st.MetadataSpan.Start && pos < st.MetadataSpan.End;
        bytes[pos] ^= (byte)(1 << bit);
        // A flip in the length, in a tensor entry or in the padding breaks the header; one inside the metadata text may not.
        return F(b, $"flip: bit {bit} of header byte {pos}{(pos < 8 ? " (length)" : inMetadata ? " (inside __metadata__)" : "")}", inMetadata ? U : D, bytes);
    }

    FuzzFile? FlipData(BaseFile b)
    {
        var bytes = (byte[])b.Bytes.Clone();
        int bit = _random.Next(8);
        if (b.Kind == "wav")
        {
            var w = b.Wav!;
            int at = w.DataStart + _random.Next(w.DataLength);
            bytes[at] ^= (byte)(1 << bit);
            bool nonFinite = w.Format == 3 && NonFiniteSample(bytes, w, at);
            return F(b, $"flip: bit {bit} of sample byte {at}{(nonFinite ? " (the sample becomes NaN or infinite)" : "")}", nonFinite ? D : U, bytes);
        }
        if (b.Kind.StartsWith("onnx", StringComparison.Ordinal))
        {
            var model = Onnx.ModelProto.Parser.ParseFrom(b.Bytes);
            var init = Pick(model.Graph.Initializer.Where(t => t.RawData.Length > 0).ToList());
            var raw = init.RawData.ToByteArray();
            int at = _random.Next(raw.Length);
            raw[at] ^= (byte)(1 << bit);
            init.RawData = ByteString.CopyFrom(raw);
            return F(b, $"flip: bit {bit} of byte {at} of initializer '{init.Name}'", U, model.ToByteArray());
        }
        var st = new SafeTensorsBytes(b.Bytes);
        int pos = st.DataStart + _random.Next(st.Data.Length);
        bytes[pos] ^= (byte)(1 << bit);
        return F(b, $"flip: bit {bit} of data byte {pos - st.DataStart}", U, bytes);
    }

    FuzzFile? Truncate(BaseFile b)
    {
        int at = _random.Next(b.Bytes.Length);
        var label = D;
        string where = "";
        if (b.Kind.StartsWith("onnx", StringComparison.Ordinal) && TopLevelBoundaries(b.Bytes).Contains(at))
        {
            label = U; // cut between two whole fields: no declared length is broken
            where = " (between two top-level protobuf fields)";
        }
        return F(b, $"truncated to {at} of {b.Bytes.Length} bytes{where}", label, b.Bytes[..at]);
    }

    FuzzFile? Append(BaseFile b)
    {
        var extra = new byte[Pick([1, 7, 8, 100, 1000])];
        if (Chance(0.5)) _random.NextBytes(extra);
        // ONNX: appended bytes may parse as unknown fields, so no claim; safetensors and WAV declare their lengths.
        return F(b, $"{extra.Length} {(extra.Any(x => x != 0) ? "random" : "zero")} bytes appended", b.Kind.StartsWith("onnx", StringComparison.Ordinal) ? U : D,
            [.. b.Bytes, .. extra]);
    }

    FuzzFile? CrossKind(BaseFile b)
    {
        var other = Pick(FileCorpus.Kinds.Where(k => k != b.Kind).ToList());
        return F(b, $"a valid {b.Kind} file loaded as {other}", D, b.Bytes, kind: other);
    }

    /// <summary>Offsets at which a protobuf message's top-level fields start (and its end).</summary>
    static HashSet<int> TopLevelBoundaries(byte[] bytes)
    {
        var set = new HashSet<int> { 0 };
        int at = 0;
        while (at < bytes.Length)
        {
            ulong tag = Varint(bytes, ref at);
            switch ((int)(tag & 7))
            {
                case 0: Varint(bytes, ref at); break;
                case 1: at += 8; break;
                case 2: at += (int)Varint(bytes, ref at); break;
                case 5: at += 4; break;
                default: return set;
            }
            set.Add(at);
        }
        return set;
    }

    static ulong Varint(byte[] bytes, ref int at)
    {
        ulong value = 0;
        for (int shift = 0; at < bytes.Length && shift < 64; shift += 7)
        {
            byte x = bytes[at++];
            value |= (ulong)(x & 0x7F) << shift;
            if ((x & 0x80) == 0) break;
        }
        return value;
    }

    // ---------------------------------------------------------------- structured lies

    FuzzFile? Structured(BaseFile b) => b.Kind switch
    {
        "tinygpt" => Chance(0.5) ? SafeTensorsLie(b) : TinyGptMetadataLie(b),
        "palettized" => _random.Next(3) switch { 0 => SafeTensorsLie(b), 1 => TinyGptMetadataLie(b), _ => PaletteLie(b) },
        "gpt2" => _random.Next(3) switch { 0 => SafeTensorsLie(b), 1 => Gpt2MetadataLie(b), _ => Gpt2ConfigJsonLie(b) },
        "onnx-lm" or "onnx-kws" => OnnxLie(b),
        "wav" => WavLie(b),
        _ => null,
    };

    FuzzFile? SafeTensorsLie(BaseFile b)
    {
        var st = new SafeTensorsBytes(b.Bytes);
        var h = st.CopyHeader();
        var entries = SafeTensorsBytes.Entries(h);
        var (name, e) = Pick(entries);
        long[] Shape(JsonObject x) => x["shape"]!.AsArray().Select(d => (long)d!).ToArray();
        JsonArray Arr(params long[] v) => new(v.Select(x => (JsonNode)x).ToArray());
        long[] Offsets(JsonObject x) => x["data_offsets"]!.AsArray().Select(d => (long)d!).ToArray();
        FuzzFile Out(string what, FileLabel label) => F(b, $"safetensors: {what} ('{name}')", label, SafeTensorsBytes.Build(h, st.Data));
        var shape = Shape(e);
        var dtype = (string)e["dtype"]!;
        switch (_random.Next(30))
        {
            case 0:
                if (shape.Length != 2 || shape[0] == shape[1]) return null;
                e["shape"] = Arr(shape[1], shape[0]);
                return Out("shape dims swapped, same bytes", D);
            case 1:
                if (shape.Length == 2) e["shape"] = Arr(shape[0] * shape[1]);
                else if (shape.Length == 1 && shape[0] % 2 == 0) e["shape"] = Arr(shape[0] / 2, 2);
                else return null;
                return Out("shape reshaped, same bytes", D);
            case 2:
                shape[0] *= 2; e["shape"] = Arr(shape);
                return Out("one dimension doubled", D);
            case 3:
                e["shape"] = Arr(shape.Select(d => -d).ToArray());
                return Out("negative dimensions" + (shape.Length % 2 == 0 ? " with the same product" : ""), D);
            case 4:
                e["shape"] = Arr(1L << 40, 1L << 40, 1L << 40);
                return Out("impossibly large shape", D);
            case 5:
                e.Remove(Pick(["shape", "dtype", "data_offsets"]));
                return Out("a field missing", D);
            case 6:
                e["shape"] = Pick<JsonNode>(["16", JsonValue.Create(16), new JsonArray(JsonValue.Create(1.5)), new JsonArray(JsonValue.Create("4"))]);
                return Out("shape not a list of whole numbers", D);
            case 7 or 8:
            {
                if (dtype == "F32") { e["dtype"] = Pick(["I32", "I32", "U8", "F16", "BF16", "F64", "I64", "BOOL"]); }
                else if (dtype == "U8") { e["dtype"] = Pick(["I8", "BOOL", "F32"]); }
                else return null;
                return Out($"dtype {dtype} relabelled {(string)e["dtype"]!}", D);
            }
            case 9:
                e["dtype"] = Pick<JsonNode>(["F8_E4M3", "f32", "FLOAT", "", "F32 ", JsonValue.Create(5), new JsonArray()]);
                return Out("dtype unknown or not a string", D);
            case 10:
            {
                var o = Offsets(e);
                e["data_offsets"] = Arr(o[0] + 4, o[1] + 4);
                return Out("data_offsets shifted by 4", D);
            }
            case 11:
            {
                if (Offsets(e)[0] == 0) return null;
                var o = Offsets(e);
                e["data_offsets"] = Arr(o[0] - 4, o[1] - 4);
                return Out("data_offsets overlap the previous tensor", D);
            }
            case 12 or 13:
            {
                var o = Offsets(e);
                var same = entries.Where(x => x.Name != name && Offsets(x.Entry)[1] - Offsets(x.Entry)[0] == o[1] - o[0] && (string)x.Entry["dtype"]! == dtype).ToList();
                if (same.Count == 0) return null;
                var (otherName, other) = Pick(same);
                var p = Offsets(other);
                if (Chance(0.5))
                {
                    other["data_offsets"] = Arr(o);
                    return Out($"data_offsets aliased with '{otherName}'", D);
                }
                other["data_offsets"] = Arr(o);
                e["data_offsets"] = Arr(p);
                // Two tensors of the same size and dtype swap their bytes: the file is consistent, the weights are wrong.
                return Out($"data_offsets swapped with '{otherName}'", U);
            }
            case 14:
            {
                var o = Offsets(e);
                e["data_offsets"] = Pick<JsonNode>([Arr(o[1], o[0]), Arr(o[0], o[1], o[1]), Arr(o[0]), new JsonArray(JsonValue.Create(o[0].ToString()), JsonValue.Create(o[1].ToString())),
                    Arr(1L << 62, (1L << 62) + (o[1] - o[0])), new JsonArray(JsonValue.Create(o[0] + 0.5), JsonValue.Create(o[1] + 0.5)), Arr(-o[1] + o[0] - 1, -1)]);
                return Out("data_offsets malformed", D);
            }
            case 15:
            {
                h.Remove(name);
                if (Chance(0.5)) return Out("entry removed (its bytes belong to no tensor)", D);
                // Remove its bytes too, so the rest tiles the data exactly: only the model's own check can tell.
                var o = Offsets(e);
                var data = st.Data[..(int)o[0]].Concat(st.Data[(int)o[1]..]).ToArray();
                foreach (var (_, x) in SafeTensorsBytes.Entries(h))
                {
                    var p = Offsets(x);
                    if (p[0] >= o[1]) x["data_offsets"] = Arr(p[0] - (o[1] - o[0]), p[1] - (o[1] - o[0]));
                }
                return F(b, $"safetensors: tensor '{name}' and its bytes removed", D, SafeTensorsBytes.Build(h, data));
            }
            case 16:
            {
                h["extra.weight"] = new JsonObject { ["dtype"] = "F32", ["shape"] = Arr(4), ["data_offsets"] = Arr(st.Data.Length, st.Data.Length + 16) };
                return F(b, "safetensors: an extra tensor 'extra.weight' the model does not have", D, SafeTensorsBytes.Build(h, [.. st.Data, .. new byte[16]]));
            }
            case 17:
            {
                // The same tensor name twice (raw JSON: a JsonObject cannot hold it).
                var json = h.ToJsonString();
                var entry = $"\"{name}\":{e.ToJsonString()}";
                return F(b, $"safetensors: tensor '{name}' listed twice", D, SafeTensorsBytes.Build(json[..^1] + "," + entry + "}", st.Data));
            }
            case 18:
            {
                var json = h.ToJsonString();
                return F(b, "safetensors: __metadata__ listed twice", D, SafeTensorsBytes.Build(json[..^1] + ",\"__metadata__\":{\"format\":\"x\"}}", st.Data));
            }
            case 19 or 20:
            {
                var json = h.ToJsonString();
                long delta = Pick([1L, -1L, 8L, -8L]);
                var (lie, length) = Pick(new (string, ulong?)[] { ($"header length {delta:+0;-0}", null), ("header length 0", 0UL), ("header length 7", 7UL),
                    ("header length 2^63", 1UL << 63), ("header length 2^64-1", ulong.MaxValue), ("header length = file length", (ulong)b.Bytes.Length),
                    ("header length 100,000,001", 100_000_001UL) });
                return F(b, $"safetensors: {lie}", D, SafeTensorsBytes.Build(json, st.Data, lie.Contains('+') || lie.Contains("-1") || lie.Contains("-8") ? delta : 0, length));
            }
            case 21:
                return F(b, "safetensors: header is a JSON array", D, SafeTensorsBytes.Build("[" + h.ToJsonString() + "]", st.Data));
            case 22:
                return F(b, "safetensors: text after the header's JSON", D, SafeTensorsBytes.Build(h.ToJsonString() + Pick(["x", "{}", "\0", "//"]), st.Data));
            case 23:
                SafeTensorsBytes.Metadata(h)[Pick(SafeTensorsBytes.Metadata(h).Select(p => p.Key).ToList())] = Pick<JsonNode>([JsonValue.Create(5), new JsonObject(), new JsonArray(), JsonValue.Create(true)]);
                return Out("a metadata value that is not a string", D);
            case 24:
                h["__metadata__"] = Pick<JsonNode>(["x", new JsonArray(), JsonValue.Create(1)]);
                return Out("__metadata__ not a map", D);
            case 25:
            {
                // Padding with NUL bytes instead of spaces.
                var bytes = SafeTensorsBytes.Build(h.ToJsonString() + "   ", st.Data);
                int jsonEnd = 8 + Encoding.UTF8.GetByteCount(h.ToJsonString());
                for (int i = jsonEnd; i < jsonEnd + 3; i++) bytes[i] = 0;
                return F(b, "safetensors: header padded with NUL bytes", D, bytes);
            }
            case 26:
            {
                // A tensor name that is not UTF-8.
                var bytes = SafeTensorsBytes.Build(h, st.Data);
                var key = Encoding.UTF8.GetBytes($"\"{name}\"");
                int at = bytes.AsSpan(8).IndexOf(key) + 8 + 1;
                bytes[at] = 0xFF;
                return F(b, $"safetensors: tensor name not UTF-8 ('{name}')", D, bytes);
            }
            case 27:
                // Names that differ only by case or by an invisible character are other names: the model lacks the real one.
                h.Remove(name);
                h[Pick([name.ToUpperInvariant(), name + "\u200B", " " + name, name.Replace('.', '/')])] = e;
                return Out("tensor renamed (case, invisible character, separator)", D);
            case 28:
                // Metadata notes the loaders do not read: harmless (a control).
                SafeTensorsBytes.Metadata(h)["note"] = new string('é', 2000);
                return Out("a long metadata note added", U);
            default:
            {
                // The header is fine but the data are cut at a tensor boundary: the last tensor is missing its bytes.
                var last = entries.OrderBy(x => Offsets(x.Entry)[1]).Last();
                var o = Offsets(last.Entry);
                return F(b, $"safetensors: data cut at the start of the last tensor ('{last.Name}')", D, SafeTensorsBytes.Build(h, st.Data[..(int)o[0]]));
            }
        }
    }

    /// <summary>True when <paramref name="json"/> cannot be a configuration or implies other tensor shapes than <paramref name="original"/>.</summary>
    static bool ConfigDetectable(string json, TinyGptConfig original)
    {
        TinyGptConfig parsed;
        try { parsed = TinyGptConfig.FromJson(json); }
        catch (Exception) { return true; }
        var a = parsed.TensorShapes();
        var b = original.TensorShapes();
        return a.Count != b.Count || a.Any(p => !b.TryGetValue(p.Key, out var s) || !s.SequenceEqual(p.Value));
    }

    /// <summary>A lie in a TinyGpt configuration (in safetensors metadata or ONNX metadata): the new text and its label.</summary>
    (string What, string Json, FileLabel Label)? ConfigLie(string json, TinyGptConfig original)
    {
        var config = JsonNode.Parse(json)!.AsObject();
        string[] sizes = ["Layers", "Dim", "Heads", "KvHeads", "MlpDim", "ContextLength", "VocabSize"];
        switch (_random.Next(8))
        {
            case 0 or 1 or 2:
            {
                var field = Pick(sizes);
                if (config[field] is null) return null;
                long v = (long)config[field]!;
                long value = Pick([v + 1, v * 2, v - 1, 0, -1, 1 << 20, 4096, int.MaxValue, int.MinValue, v == 2 ? 4 : 2]);
                config[field] = value;
                var text = config.ToJsonString();
                return ($"config {field} {v} → {value}", text, ConfigDetectable(text, original) ? D : U);
            }
            case 3:
            {
                var (field, value) = Pick(new (string, JsonNode?)[]
                {
                    ("NormEps", 0), ("NormEps", -1e-5), ("NormEps", 1e-3), ("NormEps", 1e300), ("Activation", "relu"), ("Activation", ""), ("Activation", null),
                    ("Activation", TinyGptConfig.Gelu), ("Activation", TinyGptConfig.GeluTanh), ("TiedHead", !(bool)config["TiedHead"]!),
                });
                config[field] = value;
                var text = config.ToJsonString();
                return ($"config {field} → {value?.ToJsonString() ?? "null"}", text, ConfigDetectable(text, original) ? D : U);
            }
            case 4:
            {
                var (field, value) = Pick(new (string, JsonNode?)[]
                {
                    ("Dim", "16"), ("Layers", 1.5), ("TiedHead", "yes"), ("Layers", null), ("Dim", 1e10), ("Dim", new JsonArray(16)), ("Heads", new JsonObject()), ("VocabSize", "256"),
                });
                config[field] = value;
                return ($"config {field} of the wrong type ({value?.ToJsonString() ?? "null"})", config.ToJsonString(), D);
            }
            case 5:
            {
                var field = Pick(config.Select(p => p.Key).ToList());
                config.Remove(field);
                var text = config.ToJsonString();
                return ($"config field {field} missing", text, ConfigDetectable(text, original) ? D : U);
            }
            case 6:
            {
                var field = Pick(sizes.Where(s => config[s] != null).ToList());
                var text = config.ToJsonString()[..^1] + $",\"{field}\":{(long)config[field]! * 2}}}";
                return ($"config field {field} given twice", text, D);
            }
            default:
            {
                var text = Pick(["{", "not json", "", "null", "[]", "16", "{\"Dim\":16,}", "{'Dim':16}", json + "x"]);
                return ($"config not a JSON object ({(text.Length > 12 ? text[..12] + "…" : text)})", text, D);
            }
        }
    }

    FuzzFile? TinyGptMetadataLie(BaseFile b)
    {
        var st = new SafeTensorsBytes(b.Bytes);
        var h = st.CopyHeader();
        var meta = SafeTensorsBytes.Metadata(h);
        FuzzFile Out(string what, FileLabel label) => F(b, $"metadata: {what}", label, SafeTensorsBytes.Build(h, st.Data));
        double r = _random.NextDouble();
        if (r < 0.15)
        {
            var (what, change) = Pick(new (string, Action)[]
            {
                ("config missing", () => meta.Remove("config")),
                ("format missing", () => meta.Remove("format")),
                ("format changed", () => meta["format"] = Pick(["efficientml.tinygpt2", "", "EFFICIENTML.TINYGPT", "efficientml.palettized-tinygpt", "efficientml.tinygpt"])),
            });
            var before = (string?)meta["format"];
            change();
            // Relabelling a palettised file as a TinyGpt (or the reverse) is as detectable as any other format lie;
            // writing the format the file already has is not a lie at all.
            bool same = (string?)meta["format"] == before && what == "format changed";
            return Out(what + (meta["format"] is JsonNode f ? $" ('{f}')" : ""), same ? U : D);
        }
        var lie = ConfigLie((string)meta["config"]!, b.Config!);
        if (lie is null) return null;
        meta["config"] = lie.Value.Json;
        return Out(lie.Value.What, lie.Value.Label);
    }

    FuzzFile? PaletteLie(BaseFile b)
    {
        var st = new SafeTensorsBytes(b.Bytes);
        var h = st.CopyHeader();
        var meta = SafeTensorsBytes.Metadata(h);
        var palettes = JsonNode.Parse((string)meta["palettes"]!)!.AsObject();
        var name = Pick(palettes.Select(p => p.Key).ToList());
        var entry = palettes[name]!.AsObject();
        var shape = entry["shape"]!.AsArray().Select(d => (long)d!).ToArray();
        int bits = (int)entry["bits"]!;
        int? group = (int?)entry["group_size"];
        long rows = shape[0];
        long groups = group is int g ? rows / g : 1;
        FuzzFile Out(string what, FileLabel label)
        {
            meta["palettes"] = palettes.ToJsonString();
            return F(b, $"palettes: {what} ('{name}')", label, SafeTensorsBytes.Build(h, st.Data));
        }
        switch (_random.Next(9))
        {
            case 0 or 1:
            {
                var value = Pick<JsonNode?>([bits + 1, bits - 1, 0, 9, -1, 255, "3", 3.5, null]);
                entry["bits"] = value;
                return Out($"bits {bits} → {value?.ToJsonString() ?? "null"}", D);
            }
            case 2 or 3:
            {
                var value = Pick<JsonNode?>([8, 16, 3, 0, -8, (int)rows, 1, "8", 1e10, null]);
                entry["group_size"] = value;
                long? newGroups = value is null ? 1 : value is JsonValue v && v.TryGetValue<int>(out var s) ? (s > 0 && rows % s == 0 ? rows / s : null) : null;
                // One table either way (no groups, or one group of all rows) is the same file.
                return Out($"group_size {group?.ToString() ?? "null"} → {value?.ToJsonString() ?? "null"}", newGroups == groups && (value is null || value is JsonValue) ? U : D);
            }
            case 4:
                entry["shape"] = new JsonArray(shape.Reverse().Select(d => (JsonNode)d).ToArray());
                if (shape.Length == 2 && shape[0] == shape[1]) return null;
                return Out("shape reversed", D);
            case 5:
                palettes.Remove(name);
                return Out("palette entry removed (its table and indices are left over)", D);
            case 6:
                palettes["blocks.99.mlp.fc.weight"] = entry.DeepClone();
                return Out("a palette for a parameter the model lacks", D);
            case 7:
                palettes[name] = Pick<JsonNode>([5, new JsonArray(), new JsonObject(), "x"]);
                return Out("palette entry not an object", D);
            default:
            {
                var (what, change, label) = Pick(new (string, Action, FileLabel)[]
                {
                    ("palettes not JSON", () => meta["palettes"] = "{", D),
                    ("palettes a JSON array", () => meta["palettes"] = "[]", D),
                    ("palettes missing", () => meta.Remove("palettes"), D),
                    ("index_packing text changed", () => meta["index_packing"] = "big-endian", U),
                });
                change();
                return F(b, $"palettes: {what}", label, SafeTensorsBytes.Build(h, st.Data));
            }
        }
    }

    FuzzFile? Gpt2MetadataLie(BaseFile b)
    {
        var st = new SafeTensorsBytes(b.Bytes);
        var h = st.CopyHeader();
        var meta = SafeTensorsBytes.Metadata(h);
        var c = b.Config!;
        FuzzFile Out(string what, FileLabel label) => F(b, $"gpt2 metadata: {what}", label, SafeTensorsBytes.Build(h, st.Data));
        switch (_random.Next(6))
        {
            case 0 or 1:
            {
                var value = Pick(["3", "5", "7", "0", "-2", "x", "", "2.0", "1e1", "1", "4", "8", "16", "2147483648"]);
                meta["n_head"] = value;
                bool divides = int.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 && c.Dim % n == 0;
                // Another head count that divides the width changes nothing the tensors show.
                return Out($"n_head {c.Heads} → '{value}'", divides ? U : D);
            }
            case 2:
            {
                var (key, actual) = Pick(new (string, int)[] { ("n_layer", c.Layers), ("n_embd", c.Dim), ("vocab_size", c.VocabSize), ("n_positions", c.ContextLength), ("n_inner", c.MlpDim) });
                var value = Pick([actual + 1, actual * 2, 0]);
                meta[key] = value.ToString();
                return Out($"{key} {actual} → {value} (contradicts the tensors)", D);
            }
            case 3:
            {
                var value = Pick(["NaN", "-1", "0", "abc", "Infinity", "", "1e-3", "1e-5"]);
                meta["layer_norm_epsilon"] = value;
                return Out($"layer_norm_epsilon '{value}'", value is "1e-3" or "1e-5" ? U : D);
            }
            case 4:
            {
                var value = Pick(["relu", "", "GELU", "gelu", "gelu_new", "gelu_pytorch_tanh", "swish"]);
                meta["activation_function"] = value;
                return Out($"activation_function '{value}'", value is "gelu" or "gelu_new" or "gelu_pytorch_tanh" ? U : D);
            }
            default:
            {
                var key = Pick(["n_head", "n_layer", "layer_norm_epsilon", "format"]);
                meta.Remove(key);
                // Without n_head (and no config.json) the head count is unknown: the loader must say so.
                return Out($"{key} removed", key == "n_head" ? D : U);
            }
        }
    }

    FuzzFile? Gpt2ConfigJsonLie(BaseFile b)
    {
        var c = b.Config!;
        var config = new JsonObject
        {
            ["model_type"] = "gpt2", ["n_head"] = c.Heads, ["n_layer"] = c.Layers, ["n_embd"] = c.Dim, ["n_positions"] = c.ContextLength,
            ["vocab_size"] = c.VocabSize, ["n_inner"] = c.MlpDim, ["layer_norm_epsilon"] = 1e-5,
            ["activation_function"] = c.Activation == TinyGptConfig.GeluTanh ? "gelu_new" : "gelu",
        };
        FuzzFile Out(string what, FileLabel label, string? text = null, string? special = null) =>
            F(b, $"gpt2 config.json: {what}", label, b.Bytes) with { ConfigJson = text ?? config.ToJsonString(), ConfigSpecial = special };
        switch (_random.Next(9))
        {
            case 0:
                return Out("matches the file", U);
            case 1 or 2:
            {
                var key = Pick(["n_embd", "n_layer", "vocab_size", "n_positions", "n_inner"]);
                long v = long.Parse(config[key]!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
                config[key] = v + Pick([1, 2, 10]);
                return Out($"{key} {v} → {config[key]} (contradicts the tensors)", D);
            }
            case 3:
            {
                var value = Pick<JsonNode>([3, 0, -2, "2", 2.5, 1e300, 4, 1]);
                config["n_head"] = value;
                bool divides = value is JsonValue v && v.TryGetValue<int>(out var n) && n > 0 && c.Dim % n == 0 && v.GetValueKind() == JsonValueKind.Number && !value.ToJsonString().Contains('.');
                return Out($"n_head {value.ToJsonString()}", divides ? U : D);
            }
            case 4:
                return Out("not JSON", D, Pick(["{", "", "not json", "{\"n_head\": 2,}"]));
            case 5:
                return Out("a JSON array", D, "[]");
            case 6:
            {
                var (key, value) = Pick(new (string, JsonNode)[] { ("layer_norm_epsilon", "x"), ("layer_norm_epsilon", -1), ("activation_function", 5),
                    ("activation_function", "relu"), ("scale_attn_by_inverse_layer_idx", true), ("scale_attn_weights", false), ("n_embd", "16") });
                config[key] = value;
                return Out($"{key} {value.ToJsonString()}", D);
            }
            case 7:
                return Out("is a named pipe", D, special: "fifo");
            default:
                return Out("is a folder", U, special: "folder");
        }
    }

    FuzzFile? OnnxLie(BaseFile b)
    {
        var model = Onnx.ModelProto.Parser.ParseFrom(b.Bytes);
        var graph = model.Graph;
        bool lm = b.Kind == "onnx-lm";
        const string ConfigKey = EfficientML.Export.TinyGptOnnx.ConfigKey;
        var meta = model.MetadataProps.FirstOrDefault(p => p.Key == ConfigKey);
        FuzzFile Out(string what, FileLabel label) => F(b, $"onnx: {what}", label, model.ToByteArray());
        switch (_random.Next(14))
        {
            case 0 or 1 or 2:
            {
                if (meta is null) return null;
                if (lm)
                {
                    var lie = ConfigLie(meta.Value, b.Config!);
                    if (lie is null) return null;
                    meta.Value = lie.Value.Json;
                    return Out($"metadata {lie.Value.What}", lie.Value.Label);
                }
                var config = JsonNode.Parse(meta.Value)!.AsObject();
                var (field, value, label) = Pick(new (string, JsonNode?, FileLabel)[]
                {
                    ("Classes", 5, D), ("Classes", 2, D), ("Mels", 80, D), ("Channels", new JsonArray(8, 16), D), ("Channels", new JsonArray(8), D),
                    ("KernelSize", 3, D), ("Dropout", 0.5, U), ("Classes", "4", D), ("Mels", -1, D), ("Channels", null, D),
                });
                config[field] = value;
                meta.Value = config.ToJsonString();
                return Out($"metadata config {field} → {value?.ToJsonString() ?? "null"}", label);
            }
            case 3:
                if (meta is null) return null;
                meta.Value = Pick(["{", "not json", "", "null", "[]"]);
                return Out($"metadata config not a JSON object ('{meta.Value}')", D);
            case 4:
                if (meta is null) return null;
                model.MetadataProps.Remove(meta);
                // The language model needs its configuration; the keyword spotter's is optional.
                return Out("metadata config removed", lm ? D : U);
            case 5:
                graph.Input[0].Name = Pick(["x", "input", "", "idx "]);
                return Out($"graph input renamed '{graph.Input[0].Name}'", D);
            case 6:
                graph.Output[0].Name = Pick(["y", "", "logits2"]);
                return Out($"graph output renamed '{graph.Output[0].Name}'", D);
            case 7:
            {
                var (what, change) = Pick(new (string, Action)[]
                {
                    ("opset 1", () => model.OpsetImport[0].Version = 1),
                    ("opset 9999", () => model.OpsetImport[0].Version = 9999),
                    ("IR version 99", () => model.IrVersion = 99),
                    ("IR version 0", () => model.IrVersion = 0),
                    ("no opset import", () => model.OpsetImport.Clear()),
                });
                change();
                return Out(what, D);
            }
            case 8:
            {
                var init = Pick(graph.Initializer.Where(t => t.Dims.Count > 0).ToList());
                init.Dims[0] += Pick([1, -1, 1000]);
                return Out($"initializer '{init.Name}' dims changed", D);
            }
            case 9:
            {
                var init = Pick(graph.Initializer.Where(t => t.RawData.Length > 4).ToList());
                init.RawData = ByteString.CopyFrom(init.RawData.Span[..^4]);
                return Out($"initializer '{init.Name}' data 4 bytes short", D);
            }
            case 10:
            {
                var init = Pick(graph.Initializer.ToList());
                if (Chance(0.5))
                {
                    graph.Initializer.Remove(init);
                    return Out($"initializer '{init.Name}' removed", D);
                }
                var type = Pick(new[] { 1, 6, 7, 11, 0, 99 }.Where(t => t != init.DataType).ToList());
                init.DataType = type;
                return Out($"initializer '{init.Name}' data type {init.DataType}", D);
            }
            case 11:
            {
                var node = Pick(graph.Node.ToList());
                if (Chance(0.5))
                {
                    node.OpType = node.OpType + "x";
                    return Out($"node op '{node.OpType}' unknown", D);
                }
                if (node.Input.Count == 0) return null;
                node.Input[0] = "missing_value";
                return Out($"node '{node.Name}' reads a value nothing produces", D);
            }
            case 12:
                graph.Input[0].Type.TensorType.ElemType = Pick([1, 6, 9, 0]);
                if (graph.Input[0].Type.TensorType.ElemType == (lm ? 7 : 1)) return null;
                return Out($"graph input element type {graph.Input[0].Type.TensorType.ElemType}", D);
            default:
            {
                var dims = graph.Input[0].Type.TensorType.Shape.Dim;
                var fixedDim = dims.FirstOrDefault(d => d.DimValue > 0);
                if (fixedDim is null) return null;
                fixedDim.DimValue = Pick([fixedDim.DimValue + 1, 1, 4096]);
                return Out($"graph input dimension {fixedDim.DimValue} contradicts the weights", D);
            }
        }
    }

    // ---------------------------------------------------------------- WAV

    static readonly (string Name, int Offset, int Size)[] WavFields =
    [
        ("RIFF id", 0, 4), ("RIFF size", 4, 4), ("WAVE id", 8, 4), ("fmt id", 12, 4), ("fmt size", 16, 4), ("format tag", 20, 2), ("channels", 22, 2),
        ("sample rate", 24, 4), ("byte rate", 28, 4), ("block align", 32, 2), ("bits per sample", 34, 2),
    ];

    FuzzFile WavFieldFlip(BaseFile b, byte[] bytes, int bit)
    {
        var w = b.Wav!;
        var fields = WavFields.Concat([("data id", w.DataHeader, 4), ("data size", w.DataHeader + 4, 4)]).ToList();
        if (w.Extensible) fields.AddRange([("extensible valid bits", 38, 2), ("extensible channel mask", 40, 4), ("extensible sub-format tag", 44, 2), ("extensible GUID suffix", 46, 14)]);
        var (name, offset, size) = Pick(fields);
        int at = offset + _random.Next(size);
        bytes[at] ^= (byte)(1 << bit);
        // Every field but the extensible extras (valid bits, mask, GUID suffix) is checked or cross-checked by the format:
        // ids, sizes against the file, block align = channels × bits / 8, byte rate = rate × block align.
        bool extra = name is "extensible valid bits" or "extensible channel mask" or "extensible GUID suffix";
        return F(b, $"WAV: bit {bit} of the {name} flipped", extra ? U : D, bytes);
    }

    static bool NonFiniteSample(byte[] bytes, WavLayout w, int at)
    {
        int width = w.Bits / 8;
        int start = w.DataStart + (at - w.DataStart) / width * width;
        return width == 4 ? !float.IsFinite(BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(start))) : !double.IsFinite(BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(start)));
    }

    FuzzFile? WavLie(BaseFile b)
    {
        var w = b.Wav!;
        var bytes = (byte[])b.Bytes.Clone();
        void U16(int at, int v) => BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at), (ushort)v);
        void U32(int at, long v) => BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), (uint)v);
        var span = bytes.AsSpan();
        FuzzFile Out(string what, FileLabel label, byte[]? content = null) => F(b, $"WAV: {what}", label, content ?? bytes);
        int dataSizeAt = w.DataHeader + 4;
        switch (_random.Next(16))
        {
            case 0:
            {
                long size = Pick([(long)w.DataLength + 1, w.DataLength + 1000, 0x7FFFFFFF, w.DataLength * 2L]);
                U32(dataSizeAt, size);
                return Out($"data size {size} larger than the file", D);
            }
            case 1:
            {
                long size = Pick([0L, 0xFFFFFFFFL]);
                U32(dataSizeAt, size);
                // Streaming writers leave 0 or 0xFFFFFFFF there; reading to the end of the file is the convention.
                return Out($"data size {size:X} (streaming convention)", U);
            }
            case 2:
            {
                U32(dataSizeAt, w.DataLength - 2 * (w.Bits / 8) * w.Channels);
                return Out("data size two frames short of the data (bytes left over after the chunk)", D);
            }
            case 3:
            {
                int channels = Pick(new[] { 0, 65535, w.Channels + 1, 3 }.Where(c => c != w.Channels).ToList());
                U16(22, channels);
                return Out($"channels {w.Channels} → {channels}", D);
            }
            case 4:
            {
                long rate = Pick([0L, 1L, 0xFFFFFFFFL, 0x80000000L, 7999L]);
                U32(24, rate);
                return Out($"sample rate {rate}", D);
            }
            case 5:
            {
                // Sample rate and byte rate changed together, consistently: a different (valid) clip.
                U32(24, 8000);
                U32(28, 8000L * w.Channels * w.Bits / 8);
                return Out("sample rate 8000 with a matching byte rate", U);
            }
            case 6:
            {
                int bits = Pick([12, 0, 1, 7, 48, 65535, w.Bits == 16 ? 24 : 16]);
                U16(34, bits);
                if (w.Extensible) U16(38, bits);
                return Out($"bits per sample {w.Bits} → {bits}", D);
            }
            case 7 or 8:
            {
                // PCM ↔ float relabelled, bits unchanged.
                int to = w.Format == 1 ? 3 : 1;
                if (w.Extensible) U16(44, to); else U16(20, to);
                bool valid = to == 3 ? w.Bits is 32 or 64 : w.Bits is 8 or 16 or 24 or 32;
                bool nonFinite = false;
                if (valid && to == 3)
                    for (int at = w.DataStart; at + w.Bits / 8 <= w.DataStart + w.DataLength && !nonFinite; at += w.Bits / 8)
                        nonFinite = NonFiniteSample(bytes, w with { Format = 3 }, at);
                // 32-bit PCM read as float gives NaN/∞ or absurd values; 16-bit float does not exist; float read as PCM is noise but valid.
                var label = !valid || nonFinite ? D : U;
                return Out($"format {(w.Format == 1 ? "PCM" : "float")} relabelled {(to == 1 ? "PCM" : "float")} ({w.Bits}-bit){(nonFinite ? ", non-finite samples" : "")}", label);
            }
            case 9:
                U16(20, Pick(new[] { 0, 2, 0xFFFE, 0x55, 6 }.Where(t => t != BinaryPrimitives.ReadUInt16LittleEndian(b.Bytes.AsSpan(20))).ToList()));
                if (!w.Extensible && BinaryPrimitives.ReadUInt16LittleEndian(span[20..]) == 0xFFFE)
                    return Out("format tag WAVE_FORMAT_EXTENSIBLE with a 16-byte fmt chunk", D);
                return Out($"format tag {BinaryPrimitives.ReadUInt16LittleEndian(span[20..])}", D);
            case 10:
            {
                long size = Pick([0L, 14L, 15L, 0xFFFFFFFFL, 0xFFFFFFF0L, 18L]);
                U32(16, size);
                return Out($"fmt chunk size {size}", D);
            }
            case 11:
            {
                int align = w.Channels * w.Bits / 8;
                U16(32, Pick(new[] { 0, 1, 3, 65535 }.Where(a => a != align).ToList()));
                return Out("block align contradicts channels × bits", D);
            }
            case 12:
            {
                U32(4, Pick([0L, 4L, 0xFFFFFFFFL, bytes.Length * 2L]));
                return Out("RIFF size contradicts the file length", D);
            }
            case 13:
            {
                // A LIST chunk of odd size before the data: with its pad byte it is valid; without, the chunks are misaligned.
                bool padded = Chance(0.5);
                var list = new List<byte>(Encoding.ASCII.GetBytes("LIST"));
                list.AddRange(BitConverter.GetBytes(5u));
                list.AddRange(Encoding.ASCII.GetBytes("INFOx"));
                if (padded) list.Add(0);
                var content = bytes[..w.DataHeader].Concat(list).Concat(bytes[w.DataHeader..]).ToArray();
                BinaryPrimitives.WriteUInt32LittleEndian(content.AsSpan(4), (uint)(content.Length - 8));
                return Out(padded ? "an odd-sized LIST chunk, padded (valid)" : "an odd-sized LIST chunk without its pad byte", padded ? U : D, content);
            }
            case 14:
            {
                // No data chunk, or no fmt chunk.
                if (Chance(0.5)) return Out("no data chunk", D, bytes[..w.DataHeader]);
                var content = bytes[..12].Concat(bytes[w.DataHeader..]).ToArray();
                return Out("no fmt chunk", D, content);
            }
            default:
            {
                var id = Pick(["RIFX", "RIFF"]) == "RIFX" ? (0, "RIFX") : (8, "WAVX");
                Encoding.ASCII.GetBytes(id.Item2).CopyTo(span[id.Item1..]);
                return Out($"'{id.Item2}' instead of the RIFF/WAVE id", D);
            }
        }
    }
}
