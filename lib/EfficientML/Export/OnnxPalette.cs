using EfficientML.Clustering;
using TorchSharp;
using DataType = Onnx.TensorProto.Types.DataType;
using static EfficientML.Export.OnnxGraphBuilder;

namespace EfficientML.Export;

/// <summary>
/// Writes a palettised weight into an ONNX graph as its table (float32 initializer) and its indices (uint8 initializer,
/// bit-packed exactly as in the palettised file), decoded inside the graph: unpack each index from its two bytes with
/// integer arithmetic (opset 17 has no bitwise And/Or), add its group's offset, Gather from the flattened table,
/// Reshape to the weight's shape. Everything depends on initializers only, so ONNX Runtime folds it once at load.
/// </summary>
internal sealed class OnnxPalette(OnnxGraphBuilder g)
{
    readonly Dictionary<string, (string Byte, string Next, string Divisor)> _unpacking = new(StringComparer.Ordinal);
    readonly Dictionary<string, string> _positions = new(StringComparer.Ordinal), _offsets = new(StringComparer.Ordinal);
    int _count;

    /// <summary>
    /// Adds the initializers <c>name.table</c> and <c>name.indices</c> and the decoding nodes; returns the name of the
    /// decoded float32 weight (<paramref name="name"/> itself). Index arithmetic that depends only on the weight's size
    /// is shared between weights of the same size, and intermediate values get short names, so the graph stays small.
    /// </summary>
    public string Decode(string name, Palette palette)
    {
        long count = palette.Count, groups = palette.Table.shape[0], k = palette.Table.shape[1], perGroup = count / groups;
        int bits = palette.Bits;
        var id = $"p{_count++}.";                                                                      // short prefix of intermediates
        using var tableCpu = palette.Table.detach().cpu().to(torch.ScalarType.Float32).contiguous();
        var table = g.Floats(name + ".table", tableCpu.data<float>().ToArray(), [groups, k]);         // (G, k)
        var flatTable = g.Op("Reshape", name + ".table_flat", table, g.Vector(-1));                   // (G·k)
        using var indicesCpu = palette.Indices.detach().cpu().to(torch.ScalarType.Byte).contiguous();
        var raw = indicesCpu.bytes;
        string index;                                                                                  // (N) int64, 0..k−1
        if (bits == 8)
        {
            var bytes = g.Bytes(name + ".indices", raw, [count]);
            index = g.Node("Cast", id + "index", [bytes], Int("to", (long)DataType.Int64));
        }
        else
        {
            // Index i sits at stream bits p = i·bits … p + bits − 1, inside bytes p/8 and p/8 + 1 (bits ≤ 8, shift ≤ 7):
            // value = ((byte[p/8] + 256·byte[p/8 + 1]) / 2^(p mod 8)) mod 2^bits. One zero byte of padding keeps p/8 + 1 in range.
            var packed = IndexPacking.Pack(raw, bits);
            var padded = new byte[packed.Length + 1];
            packed.CopyTo(padded, 0);
            var bytes = g.Bytes(name + ".indices", padded, [padded.Length]);
            var (at, next, divisor) = Unpacking(count, bits);
            var low = g.Node("Cast", id + "lo", [g.Op("Gather", id + "lo8", bytes, at)], Int("to", (long)DataType.Int64));
            var high = g.Node("Cast", id + "hi", [g.Op("Gather", id + "hi8", bytes, next)], Int("to", (long)DataType.Int64));
            var word = g.Op("Add", id + "word", low, g.Op("Mul", id + "hi256", high, g.Scalar(256L)));
            index = g.Op("Mod", id + "index", g.Op("Div", id + "shifted", word, divisor), g.Scalar(1L << bits));
        }
        if (groups > 1) index = g.Op("Add", id + "flat", index, Offsets(count, perGroup, k));
        var values = g.Op("Gather", id + "values", flatTable, index);                                  // (N)
        return g.Op("Reshape", name, values, g.Vector(palette.Indices.shape));                         // weight's shape
    }

    /// <summary>0..N−1, once per size.</summary>
    string Positions(long count) =>
        _positions.TryGetValue($"{count}", out var done) ? done
        : _positions[$"{count}"] = g.Op("Range", $"n{count}.position", g.Scalar(0L), g.Scalar(count), g.Scalar(1L));

    /// <summary>For every index: its first byte p/8, the next byte, and 2^(p mod 8); once per (size, bits).</summary>
    (string, string, string) Unpacking(long count, int bits)
    {
        var key = $"n{count}.b{bits}.";
        if (_unpacking.TryGetValue(key, out var done)) return done;
        var bit = g.Op("Mul", key + "bit", Positions(count), g.Scalar((long)bits));
        var at = g.Op("Div", key + "byte", bit, g.Scalar(8L));
        var next = g.Op("Add", key + "next", at, g.Scalar(1L));
        var shift = g.Op("Mod", key + "shift", bit, g.Scalar(8L));
        var divisor = g.Op("Gather", key + "divisor", g.Vector(1, 2, 4, 8, 16, 32, 64, 128), shift);
        return _unpacking[key] = (at, next, divisor);
    }

    /// <summary>Each index's group start in the flattened table: (i / (N/G))·k; once per layout.</summary>
    string Offsets(long count, long perGroup, long k)
    {
        var key = $"n{count}.g{perGroup}.k{k}";
        return _offsets.TryGetValue(key, out var done) ? done
            : _offsets[key] = g.Op("Mul", key + ".offset", g.Op("Div", key + ".group", Positions(count), g.Scalar(perGroup)), g.Scalar(k));
    }
}
