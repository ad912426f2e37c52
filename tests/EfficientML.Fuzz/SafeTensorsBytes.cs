using System.Text;
using System.Text.Json.Nodes;

namespace EfficientML.Fuzz;

/// <summary>A safetensors file taken apart (header JSON, data) so its header can be rewritten to lie, and put back together.</summary>
public sealed class SafeTensorsBytes
{
    public JsonObject Header { get; }
    public byte[] Data { get; }
    /// <summary>Offset of the first data byte in the original file (8 + header length).</summary>
    public int DataStart { get; }
    /// <summary>Where the __metadata__ entry's text lies in the original file (header bytes), or (0, 0).</summary>
    public (int Start, int End) MetadataSpan { get; }

    public SafeTensorsBytes(byte[] bytes)
    {
        var n = (int)BitConverter.ToUInt64(bytes, 0);
        var json = Encoding.UTF8.GetString(bytes, 8, n);
        Header = JsonNode.Parse(json.TrimEnd(' '))!.AsObject();
        Data = bytes[(8 + n)..];
        DataStart = 8 + n;
        int at = json.IndexOf("\"__metadata__\"", StringComparison.Ordinal);
        if (at >= 0)
        {
            // The metadata object ends at its matching brace (its strings are JSON-escaped, so braces inside them are quoted).
            int depth = 0, i = json.IndexOf('{', at);
            bool inString = false;
            for (; i < json.Length; i++)
            {
                char c = json[i];
                if (inString) { if (c == '\\') i++; else if (c == '"') inString = false; continue; }
                if (c == '"') inString = true;
                else if (c == '{') depth++;
                else if (c == '}' && --depth == 0) break;
            }
            MetadataSpan = (8 + Encoding.UTF8.GetByteCount(json[..at]), 8 + Encoding.UTF8.GetByteCount(json[..(i + 1)]));
        }
    }

    /// <summary>A deep copy of the header, to edit.</summary>
    public JsonObject CopyHeader() => Header.DeepClone().AsObject();

    /// <summary>The tensor entries (name, entry) in header order.</summary>
    public static List<(string Name, JsonObject Entry)> Entries(JsonObject header) =>
        header.Where(p => p.Key != "__metadata__" && p.Value is JsonObject).Select(p => (p.Key, p.Value!.AsObject())).ToList();

    public static JsonObject Metadata(JsonObject header) => header["__metadata__"]!.AsObject();

    /// <summary>A file from header text (padded to 8 bytes with spaces) and data; <paramref name="lengthDelta"/> makes the length field lie.</summary>
    public static byte[] Build(string json, byte[] data, long lengthDelta = 0, ulong? length = null)
    {
        var text = Encoding.UTF8.GetBytes(json);
        int padded = (text.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + data.Length];
        BitConverter.GetBytes(length ?? (ulong)(padded + lengthDelta)).CopyTo(bytes, 0);
        text.CopyTo(bytes, 8);
        for (int i = 8 + text.Length; i < 8 + padded; i++) bytes[i] = (byte)' ';
        data.CopyTo(bytes, 8 + padded);
        return bytes;
    }

    public static byte[] Build(JsonObject header, byte[] data) => Build(header.ToJsonString(), data);
}
