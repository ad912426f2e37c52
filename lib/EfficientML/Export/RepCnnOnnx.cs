using EfficientML.Core;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using static EfficientML.Export.OnnxGraphBuilder;
using DataType = Onnx.TensorProto.Types.DataType;
using EfficientML.Reparam;

namespace EfficientML.Export;

/// <summary>
/// Exports a re-parameterised <see cref="RepCnn"/> to ONNX (opset 17): one Conv (1-D, with bias) + Relu per block,
/// ReduceMean over time, Gemm. Input <see cref="InputName"/> (batch, mels, frames) float32 with symbolic batch and
/// frames; output <see cref="OutputName"/> (batch, classes). Dropout is the identity at inference and is left out.
/// The configuration is stored in the file's metadata under <see cref="ConfigKey"/>.
/// </summary>
public static class RepCnnOnnx
{
    /// <summary>ONNX operator set the graph uses.</summary>
    public const int Opset = OnnxModelFile.Opset;

    /// <summary>ONNX IR version written (the one that goes with opset 17).</summary>
    public const long IrVersion = OnnxModelFile.IrVersion;

    /// <summary>Name of the graph input: log-mel features (batch, mels, frames), float32.</summary>
    public const string InputName = "features";

    /// <summary>Name of the graph output: logits (batch, classes), float32.</summary>
    public const string OutputName = "logits";

    /// <summary>Metadata key holding the RepCnn configuration JSON.</summary>
    public const string ConfigKey = OnnxModelFile.ConfigKey;

    /// <summary>Writes the folded <paramref name="model"/> to <paramref name="path"/>; returns the file's size in bytes.</summary>
    public static long Export(RepCnn model, string path)
    {
        var proto = Build(model);
        return OnnxModelFile.Write(proto, path);
    }

    /// <summary>The ONNX model in memory. The model must be re-parameterised (one conv per block).</summary>
    public static ModelProto Build(RepCnn model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!model.IsReparameterized)
            throw new EfficientMLException(
                "Only a folded RepCnn exports to ONNX (one Conv per block): call model.eval() and model.Reparameterize() first.");
        return OnnxModelFile.Model(Graph(model),
            "RepCnn keyword spotter, re-parameterised: features (batch, mels, frames) -> logits (batch, classes).", model.Config.ToJson());
    }

    static GraphProto Graph(RepCnn model)
    {
        var g = new OnnxGraphBuilder();
        g.Graph.Name = "repcnn";
        var c = model.Config;
        g.Graph.Input.Add(Value(InputName, DataType.Float, "batch", (long)c.Mels, "frames"));
        var x = InputName;                                                                    // (B, Mels, T)
        for (int i = 0; i < model.blocks.Count; i++)
        {
            var block = model.blocks[i];
            var conv = block.FoldedConv!;
            var p = $"blocks.{i}";
            x = g.Node("Conv", p + ".conv", [x, Weights(g, p + ".weight", conv.weight!), Weights(g, p + ".bias", conv.bias!)],
                Ints("kernel_shape", block.KernelSize), Ints("strides", block.Stride), Ints("pads", block.Padding, block.Padding),
                Ints("dilations", block.Dilation), Int("group", block.Groups));                // (B, C_i, T_i)
            x = g.Op("Relu", p + ".relu", x);
        }
        var pooled = g.Node("ReduceMean", "pool", [x], Ints("axes", 2), Int("keepdims", 0));    // (B, C)
        var logits = g.Node("Gemm", "head", [pooled, Weights(g, "head.weight", model.head.weight!), Weights(g, "head.bias", model.head.bias!)],
            Int("transB", 1));                                                                // (B, Classes)
        g.Graph.Node.Add(new NodeProto { OpType = "Identity", Name = OutputName, Input = { logits }, Output = { OutputName } });
        g.Graph.Output.Add(Value(OutputName, DataType.Float, "batch", (long)c.Classes));
        return g.Graph;
    }

    static string Weights(OnnxGraphBuilder g, string name, torch.Tensor value)
    {
        using var cpu = value.detach().cpu().to(torch.ScalarType.Float32).contiguous();
        return g.Floats(name, cpu.data<float>().ToArray(), value.shape);
    }
}
