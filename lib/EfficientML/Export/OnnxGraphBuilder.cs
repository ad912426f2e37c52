using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace EfficientML.Export;

/// <summary>
/// A thin layer over ONNX's protobuf classes (OnnxSharp): adds nodes with fresh output names, initializers and
/// constants, so the model builder reads like the forward pass it writes.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    readonly Dictionary<string, int> _counters = new(StringComparer.Ordinal);
    readonly Dictionary<float, string> _floatConstants = new();
    readonly Dictionary<long, string> _intConstants = new();
    readonly Dictionary<string, string> _vectorConstants = new(StringComparer.Ordinal);

    /// <summary>The graph being written.</summary>
    public GraphProto Graph { get; } = new() { Name = "graph" };

    /// <summary>Adds a node <paramref name="op"/> and returns its (first) output's name, made from <paramref name="name"/>.</summary>
    public string Node(string op, string name, IEnumerable<string> inputs, params AttributeProto[] attributes) =>
        NodeOutputs(op, name, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs and returns their names.</summary>
    public string[] NodeOutputs(string op, string name, IEnumerable<string> inputs, int outputs, params AttributeProto[] attributes)
    {
        var unique = Fresh(name);
        var node = new NodeProto { OpType = op, Name = unique };
        node.Input.AddRange(inputs);
        var names = Enumerable.Range(0, outputs).Select(i => outputs == 1 ? unique : $"{unique}:{i}").ToArray();
        node.Output.AddRange(names);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return names;
    }

    /// <summary>Shorthand for a node with one output.</summary>
    public string Op(string op, string name, params string[] inputs) => Node(op, name, inputs);

    /// <summary>A float32 initializer with the given shape, stored as raw little-endian bytes.</summary>
    public string Floats(string name, ReadOnlySpan<float> values, long[] shape) =>
        Initializer(name, DataType.Float, shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));

    /// <summary>A uint8 initializer.</summary>
    public string Bytes(string name, ReadOnlySpan<byte> values, long[] shape) => Initializer(name, DataType.Uint8, shape, values);

    /// <summary>An int64 initializer (a vector, or a scalar when <paramref name="scalar"/>).</summary>
    public string Int64s(string name, long[] values, bool scalar = false) =>
        Initializer(name, DataType.Int64, scalar ? [] : [values.Length], System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));

    /// <summary>A float32 scalar constant, shared by every use of the same value.</summary>
    public string Scalar(float value) =>
        _floatConstants.TryGetValue(value, out var name) ? name : _floatConstants[value] = Floats("const_f", [value], []);

    /// <summary>An int64 scalar constant, shared by every use of the same value.</summary>
    public string Scalar(long value) =>
        _intConstants.TryGetValue(value, out var name) ? name : _intConstants[value] = Int64s("const_i", [value], scalar: true);

    /// <summary>An int64 vector constant (shapes, axes, permutations), shared by every use of the same values.</summary>
    public string Vector(params long[] values)
    {
        var key = string.Join(",", values);
        return _vectorConstants.TryGetValue(key, out var name) ? name : _vectorConstants[key] = Int64s("const_v", values);
    }

    string Initializer(string name, DataType type, long[] shape, ReadOnlySpan<byte> raw)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little-endian; this exporter assumes a little-endian machine.");
        var unique = Fresh(name);
        var t = new TensorProto { Name = unique, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.AddRange(shape);
        Graph.Initializer.Add(t);
        return unique;
    }

    /// <summary>Declares a graph input or output tensor; a dimension is a fixed size (long) or a symbolic name (string).</summary>
    public static ValueInfoProto Value(string name, DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string symbol ? new TensorShapeProto.Types.Dimension { DimParam = symbol }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    /// <summary>An integer attribute.</summary>
    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>A float attribute.</summary>
    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>An integer-list attribute.</summary>
    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A one-element float tensor attribute (ConstantOfShape's value).</summary>
    public static AttributeProto FloatTensor(string name, float value)
    {
        var t = new TensorProto { DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(BitConverter.GetBytes(value)) };
        t.Dims.Add(1);
        return new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = t };
    }

    /// <summary>A name not used yet: <paramref name="name"/> itself the first time, then name_1, name_2, ….</summary>
    string Fresh(string name)
    {
        int n = _counters.GetValueOrDefault(name);
        _counters[name] = n + 1;
        return n == 0 ? name : $"{name}_{n}";
    }
}
