using EfficientML.Core;
using EfficientML.Models;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Export;

/// <summary>
/// A TinyGpt exported by <see cref="TinyGptOnnx"/>, run by ONNX Runtime on the CPU: token ids → logits, and greedy
/// generation. No KV cache: every step runs the whole window (the last <see cref="TinyGptConfig.ContextLength"/> tokens).
/// </summary>
public sealed class OnnxLanguageModel : IDisposable
{
    readonly InferenceSession _session;
    readonly RunOptions _run = new();

    /// <summary>Loads <paramref name="path"/>; <paramref name="threads"/> is ONNX Runtime's intra-op thread count.</summary>
    public OnnxLanguageModel(string path, int threads = 1)
    {
        _session = OnnxModelFile.Open(path, threads, "TinyGptOnnx.Export");
        if (!_session.ModelMetadata.CustomMetadataMap.TryGetValue(TinyGptOnnx.ConfigKey, out var json))
        {
            _session.Dispose();
            throw new InvalidFileException($"'{path}' is an ONNX model but not one exported by TinyGptOnnx (no '{TinyGptOnnx.ConfigKey}' metadata).");
        }
        try
        {
            Config = TinyGptConfig.FromJson(json);
            Path = path;
            CheckGraph();
            CheckWeights(OnnxModelFile.ReadGraph(path), Config);
        }
        catch (Exception e) when (e is InvalidSettingsException or OnnxRuntimeException)
        {
            _session.Dispose();
            var why = e is OnnxRuntimeException ort ? OnnxModelFile.Describe(ort) : e.Message;
            throw new InvalidFileException($"'{path}': the configuration in its metadata does not describe its graph ({why}). Re-export it with TinyGptOnnx.Export.", e);
        }
    }

    /// <summary>
    /// The metadata's configuration must be the graph's: the logits' width is the vocabulary, and a full window of
    /// <see cref="TinyGptConfig.ContextLength"/> tokens runs (the position table is that long).
    /// </summary>
    /// <summary>
    /// Every parameter the configuration implies is in <paramref name="graph"/> with as many values as it says (plain
    /// weights; a palettised one by its table), and no layer lies beyond the last: a configuration whose sizes or
    /// layer count were changed, or left out and so defaulted, does not describe the graph.
    /// </summary>
    static void CheckWeights(Onnx.GraphProto graph, TinyGptConfig config)
    {
        var sizes = graph.Initializer.ToDictionary(t => t.Name, t => t.Dims.Aggregate(1L, (a, d) => a * d), StringComparer.Ordinal);
        foreach (var (name, shape) in Clustering.PalettizedModel.ParameterShapes(config))
        {
            long expected = shape.Aggregate(1L, (a, d) => a * d);
            if (sizes.TryGetValue(name, out var actual))
            {
                if (actual != expected)
                    throw new InvalidSettingsException($"{name} holds {actual:N0} values in the graph but the configuration implies [{string.Join(", ", shape)}]");
            }
            else if (!sizes.ContainsKey(name + ".table"))
                throw new InvalidSettingsException($"the graph has no weights for {name}, which the configuration implies");
        }
        var beyond = $"blocks.{config.Layers}.";
        if (graph.Initializer.Any(t => t.Name.StartsWith(beyond, StringComparison.Ordinal)))
            throw new InvalidSettingsException($"the graph has more layers than the configuration's {config.Layers}");
    }

    void CheckGraph()
    {
        if (_session.OutputMetadata.TryGetValue(TinyGptOnnx.OutputName, out var output) && output.Dimensions is { Length: 3 } dims &&
            dims[2] > 0 && dims[2] != Config.VocabSize)
            throw new InvalidSettingsException($"the graph's logits are {dims[2]} wide but the configuration says {Config.VocabSize} tokens");
        var logits = Logits(new long[Config.ContextLength], 1, Config.ContextLength);
        if (logits.Length != (long)Config.ContextLength * Config.VocabSize)
            throw new InvalidSettingsException($"a window of {Config.ContextLength} tokens gave {logits.Length} logits, not {Config.ContextLength} × {Config.VocabSize}");
    }

    /// <summary>The exported model's sizes (from the file's metadata).</summary>
    public TinyGptConfig Config { get; }

    /// <summary>The file this was loaded from.</summary>
    public string Path { get; }

    /// <summary>Logits (B, T, V) float32 on the CPU for token ids (B, T); T at most the context length.</summary>
    public Tensor Forward(Tensor idx)
    {
        ArgumentNullException.ThrowIfNull(idx);
        if (idx.dim() != 2) throw new InvalidSettingsException($"Token ids must be (batch, time); got shape [{string.Join(", ", idx.shape)}].");
        using var ids = idx.detach().cpu().to(ScalarType.Int64).contiguous();
        var logits = Logits(ids.data<long>().ToArray(), (int)ids.shape[0], (int)ids.shape[1]);
        return tensor(logits, [ids.shape[0], ids.shape[1], Config.VocabSize]);
    }

    /// <summary>Logits, row-major (batch, time, vocab), for <paramref name="ids"/> laid out row-major as (batch, time).</summary>
    public float[] Logits(long[] ids, int batch, int time)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (batch < 1 || time < 1 || ids.Length != (long)batch * time)
            throw new InvalidSettingsException($"Expected {batch} × {time} token ids, got {ids.Length}.");
        if (time > Config.ContextLength)
            throw new InvalidSettingsException($"Sequence of {time} tokens exceeds the context length {Config.ContextLength}; crop the input.");
        foreach (var id in ids)
            if (id < 0 || id >= Config.VocabSize)
                throw new InvalidSettingsException($"Token id {id} is outside 0..{Config.VocabSize - 1}: use the tokenizer the model was trained with.");
        using var input = OrtValue.CreateTensorValueFromMemory(ids, [batch, time]);
        using var outputs = _session.Run(_run, [TinyGptOnnx.InputName], [input], [TinyGptOnnx.OutputName]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>
    /// Greedy continuation of <paramref name="prompt"/>: each step picks the most likely next token from the last
    /// window of tokens. Equals <see cref="TinyGpt.Generate"/> with temperature 0 and no cache (and with the cache while
    /// prompt and output fit in the context).
    /// </summary>
    public int[] Generate(IReadOnlyList<int> prompt, int maxNewTokens, int? stopToken = null, Action<int>? onToken = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Count == 0) throw new InvalidSettingsException("The prompt needs at least one token.");
        if (maxNewTokens < 0) throw new InvalidSettingsException("maxNewTokens cannot be negative.");
        var tokens = prompt.Select(t => (long)t).ToList();
        var produced = new List<int>();
        int vocab = Config.VocabSize;
        for (int i = 0; i < maxNewTokens && !cancellation.IsCancellationRequested; i++)
        {
            var window = tokens.Skip(Math.Max(0, tokens.Count - Config.ContextLength)).ToArray();
            var logits = Logits(window, 1, window.Length).AsSpan((window.Length - 1) * vocab, vocab);
            int next = 0;
            for (int v = 1; v < vocab; v++) if (logits[v] > logits[next]) next = v;    // first maximum, like argmax
            tokens.Add(next);
            produced.Add(next);
            onToken?.Invoke(next);
            if (next == stopToken) break;
        }
        return produced.ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _run.Dispose();
        _session.Dispose();
    }
}
