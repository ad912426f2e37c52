using EfficientML.Core;
using TorchSharp;

namespace EfficientML.Models;

public sealed partial class TinyGpt
{
    const string FormatKey = "format", FormatValue = "efficientml.tinygpt", ConfigKey = "config", TokenizerKey = "tokenizer";

    /// <summary>Saves weights and configuration as safetensors; <paramref name="metadata"/> adds notes (data, steps, loss).</summary>
    public void Save(string path, string tokenizer = "byte", IReadOnlyDictionary<string, string>? metadata = null)
    {
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>())
        {
            [FormatKey] = FormatValue, [ConfigKey] = Config.ToJson(), [TokenizerKey] = tokenizer,
        };
        Checkpoint.Save(this, path, meta);
    }

    /// <summary>
    /// Builds a model from a file written by <see cref="Save"/>, on the CPU. The file's configuration is checked against
    /// its tensors (names, shapes, floating-point dtypes) and against this machine's memory before anything is built, so a
    /// file whose metadata lies is refused at once with what does not match.
    /// </summary>
    public static TinyGpt Load(string path)
    {
        var meta = SafeTensors.ReadMetadata(path);
        if (!meta.TryGetValue(ConfigKey, out var json) || meta.GetValueOrDefault(FormatKey) != FormatValue)
            throw new CheckpointException(
                $"'{path}' is a safetensors file but not a TinyGpt checkpoint (its metadata has no TinyGpt configuration). " +
                "For a GPT-2 checkpoint from another tool, use the GPT-2 importer.");
        TinyGptConfig config;
        try { config = TinyGptConfig.FromJson(json); }
        catch (InvalidSettingsException e) { throw new CheckpointException($"'{path}' has a configuration that cannot work: {e.Message}"); }
        CheckTensors(path, config);
        var model = new TinyGpt(config);
        try
        {
            Checkpoint.Load(model, path);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    /// <summary>The file's tensors must be exactly those <paramref name="config"/> implies, stored as floating point.</summary>
    static void CheckTensors(string path, TinyGptConfig config)
    {
        var expected = config.TensorShapes();
        var entries = SafeTensors.ReadEntries(path).ToDictionary(e => e.Name, StringComparer.Ordinal);
        string Fix() => "The configuration in its metadata does not describe its tensors: re-save the model, or load the file it came from.";
        var missing = expected.Keys.Where(k => !entries.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new CheckpointException($"'{path}' says it holds a TinyGpt with {config.Layers} layers of width {config.Dim}, but it lacks {Count(missing)}. {Fix()}");
        var extra = entries.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (extra.Count > 0)
            throw new CheckpointException($"'{path}' holds {Count(extra)} that its configuration does not have. {Fix()}");
        foreach (var (name, shape) in expected)
        {
            var entry = entries[name];
            if (!entry.Shape.SequenceEqual(shape))
                throw new CheckpointException($"'{path}': tensor '{name}' has shape [{string.Join(", ", entry.Shape)}] but its configuration implies [{string.Join(", ", shape)}]. {Fix()}");
            if (entry.DType is not (TorchSharp.torch.ScalarType.Float32 or TorchSharp.torch.ScalarType.Float64 or TorchSharp.torch.ScalarType.Float16 or TorchSharp.torch.ScalarType.BFloat16))
                throw new CheckpointException($"'{path}': tensor '{name}' is stored as {entry.DType}, but a TinyGpt's weights are floating point. The file is damaged or mislabelled: re-save the model.");
        }
    }

    static string Count(List<string> names) =>
        (names.Count == 1 ? "tensor " : $"{names.Count} tensors, e.g. ") + string.Join(", ", names.Take(3).Select(n => $"'{n}'"));

    /// <summary>An independent copy: same configuration, same weights, same device and mode.</summary>
    public TinyGpt Copy()
    {
        var copy = new TinyGpt(Config);
        copy.to(Device);
        using (TorchSharp.torch.no_grad())
        {
            var source = state_dict();
            foreach (var (name, tensor) in copy.state_dict()) tensor.copy_(source[name]);
        }
        copy.train(training);
        return copy;
    }

    /// <summary>Metadata of a checkpoint written by <see cref="Save"/> (configuration, tokenizer, training notes).</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path) => SafeTensors.ReadMetadata(path);
}
