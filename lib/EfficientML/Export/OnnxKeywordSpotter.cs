using EfficientML.Core;
using EfficientML.Reparam;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace EfficientML.Export;

/// <summary>
/// A keyword spotter exported by <see cref="RepCnnOnnx"/>, run by ONNX Runtime on the CPU: log-mel features
/// (batch, mels, frames) → logits (batch, classes), any batch and frame count.
/// </summary>
public sealed class OnnxKeywordSpotter : IDisposable
{
    readonly InferenceSession _session;
    readonly RunOptions _run = new();

    /// <summary>Loads <paramref name="path"/>; <paramref name="threads"/> is ONNX Runtime's intra-op thread count.</summary>
    public OnnxKeywordSpotter(string path, int threads = 1)
    {
        _session = OnnxModelFile.Open(path, threads, "RepCnnOnnx.Export");
        if (!_session.InputMetadata.TryGetValue(RepCnnOnnx.InputName, out var input) || input.Dimensions.Length != 3 ||
            !_session.OutputMetadata.TryGetValue(RepCnnOnnx.OutputName, out var output) || output.Dimensions.Length != 2 ||
            input.Dimensions[1] <= 0 || output.Dimensions[1] <= 0)
        {
            _session.Dispose();
            throw new InvalidFileException(
                $"'{path}' is an ONNX model but not a keyword spotter: expected input '{RepCnnOnnx.InputName}' (batch, mels, frames) and output '{RepCnnOnnx.OutputName}' (batch, classes).");
        }
        Mels = input.Dimensions[1];
        Classes = output.Dimensions[1];
        Path = path;
        try
        {
            Config = _session.ModelMetadata.CustomMetadataMap.TryGetValue(RepCnnOnnx.ConfigKey, out var json) ? RepCnnConfig.FromJson(json) : null;
            if (Config is not null && (Config.Mels != Mels || Config.Classes != Classes))
                throw new InvalidSettingsException($"the configuration says {Config.Mels} mel bands and {Config.Classes} classes, the graph {Mels} and {Classes}");
            if (Config is not null) CheckBlocks(OnnxModelFile.ReadGraph(path), Config);
        }
        catch (InvalidSettingsException e)
        {
            _session.Dispose();
            throw new InvalidFileException($"'{path}': the configuration in its metadata does not describe its graph ({e.Message}). Re-export it with RepCnnOnnx.Export.", e);
        }
    }

    /// <summary>
    /// Each block of <paramref name="config"/> is in <paramref name="graph"/> as written: its folded kernel's output width
    /// and kernel size, its stride and dilation, and no block beyond the last; the head reads the last block's width.
    /// </summary>
    static void CheckBlocks(Onnx.GraphProto graph, RepCnnConfig config)
    {
        var dims = graph.Initializer.ToDictionary(t => t.Name, t => t.Dims.ToArray(), StringComparer.Ordinal);
        var nodes = graph.Node.ToDictionary(n => n.Name, StringComparer.Ordinal);
        for (int i = 0; i < config.Blocks; i++)
        {
            if (!dims.TryGetValue($"blocks.{i}.weight", out var w) || w.Length != 3)
                throw new InvalidSettingsException($"the configuration has {config.Blocks} blocks but the graph has no kernel for block {i}");
            if (w[0] != config.Channels[i] || w[2] != config.KernelSize)
                throw new InvalidSettingsException($"block {i} is {w[0]} channels wide with kernel {w[2]} in the graph, {config.Channels[i]} with kernel {config.KernelSize} in the configuration");
            if (nodes.TryGetValue($"blocks.{i}.conv", out var conv))
            {
                long Attribute(string name) => conv.Attribute.FirstOrDefault(a => a.Name == name)?.Ints.FirstOrDefault() ?? 1;
                if (Attribute("strides") != config.BlockStrides[i] || Attribute("dilations") != config.BlockDilations[i])
                    throw new InvalidSettingsException($"block {i} has stride {Attribute("strides")} and dilation {Attribute("dilations")} in the graph, {config.BlockStrides[i]} and {config.BlockDilations[i]} in the configuration");
            }
        }
        if (dims.ContainsKey($"blocks.{config.Blocks}.weight"))
            throw new InvalidSettingsException($"the graph has more blocks than the configuration's {config.Blocks}");
        if (dims.TryGetValue("head.weight", out var head) && (head.Length != 2 || head[1] != config.Channels[^1]))
            throw new InvalidSettingsException($"the head reads {(head.Length == 2 ? head[1] : 0)} channels in the graph, {config.Channels[^1]} in the configuration");
    }

    /// <summary>Mel bands the model expects.</summary>
    public int Mels { get; }

    /// <summary>Classes the model scores.</summary>
    public int Classes { get; }

    /// <summary>The exported model's configuration (from the file's metadata; null when it has none).</summary>
    public RepCnnConfig? Config { get; }

    /// <summary>The file this was loaded from.</summary>
    public string Path { get; }

    /// <summary>Logits, row-major (batch, classes), for <paramref name="features"/> laid out row-major as (batch, mels, frames).</summary>
    public float[] Run(float[] features, int batch, int frames)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (batch < 1 || frames < RepCnn.MinimumFrames)
            throw new InvalidSettingsException($"Batch and frames must be at least 1 (got {batch} × {frames}).");
        if (features.Length != (long)batch * Mels * frames)
            throw new InvalidSettingsException($"Expected {batch} × {Mels} × {frames} = {(long)batch * Mels * frames} feature values (batch, mels, frames), got {features.Length}.");
        using var input = OrtValue.CreateTensorValueFromMemory(features, [batch, Mels, frames]);
        using var outputs = _session.Run(_run, [RepCnnOnnx.InputName], [input], [RepCnnOnnx.OutputName]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Logits (B, Classes) float32 on the CPU for features (B, Mels, T).</summary>
    public Tensor Run(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.dim() != 3 || features.shape[1] != Mels)
            throw new InvalidSettingsException($"Features must be (batch, {Mels}, frames); got shape [{string.Join(", ", features.shape)}].");
        using var cpu = features.detach().cpu().to(ScalarType.Float32).contiguous();
        int batch = (int)cpu.shape[0], frames = (int)cpu.shape[2];
        var logits = Run(cpu.data<float>().ToArray(), batch, frames);
        return tensor(logits, [batch, Classes]);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _run.Dispose();
        _session.Dispose();
    }
}
