using EfficientML.Clustering;
using EfficientML.Models;
using Google.Protobuf;
using Onnx;

namespace EfficientML.Export;

/// <summary>
/// Exports a <see cref="TinyGpt"/>, plain or palettised, to an ONNX file that ONNX Runtime (or any opset-17 runtime)
/// runs: input <see cref="InputName"/> token ids (batch, time) int64, output <see cref="OutputName"/> logits
/// (batch, time, vocab) float32, both with dynamic batch and time (time ≤ the context length), positions 0..time−1,
/// causal attention. Plain weights are float32 initializers; a palettised weight is its table and its bit-packed uint8
/// indices, decoded in the graph with Gather, so the file is about as small as the palettised model's.
/// The model's configuration is stored in the file's metadata under <see cref="ConfigKey"/>.
/// </summary>
public static class TinyGptOnnx
{
    /// <summary>ONNX operator set the graph uses (LayerNormalization needs 17).</summary>
    public const int Opset = OnnxModelFile.Opset;

    /// <summary>ONNX IR version written (the one that goes with opset 17).</summary>
    public const long IrVersion = OnnxModelFile.IrVersion;

    /// <summary>Name of the graph input: token ids (batch, time), int64.</summary>
    public const string InputName = "input_ids";

    /// <summary>Name of the graph output: logits (batch, time, vocab), float32.</summary>
    public const string OutputName = "logits";

    /// <summary>Metadata key holding the TinyGpt configuration JSON.</summary>
    public const string ConfigKey = OnnxModelFile.ConfigKey;

    /// <summary>Exports a plain model (every weight a float32 initializer). Returns the file's size in bytes.</summary>
    public static long Export(TinyGpt model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var plain = PalettizedModel.Create(model, new Dictionary<string, Palette>());
        return Export(plain, path);
    }

    /// <summary>Exports a palettised model (palettes decoded in the graph). Returns the file's size in bytes.</summary>
    public static long Export(PalettizedModel model, string path)
    {
        var proto = Build(model);
        return OnnxModelFile.Write(proto, path);
    }

    /// <summary>The ONNX model in memory (to inspect, or to write elsewhere).</summary>
    public static ModelProto Build(PalettizedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var proto = OnnxModelFile.Model(TinyGptOnnxGraph.Build(model, InputName, OutputName),
            "TinyGpt forward: token ids (batch, time) -> logits (batch, time, vocab).", model.Config.ToJson());
        proto.MetadataProps.Add(new StringStringEntryProto
        {
            Key = "efficientml.palettized",
            Value = string.Join(",", model.Palettes.Select(p => $"{p.Key}:{p.Value.Bits}")),
        });
        return proto;
    }
}
