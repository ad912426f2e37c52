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

    /// <summary>Builds a model from a file written by <see cref="Save"/>, on the CPU.</summary>
    public static TinyGpt Load(string path)
    {
        var meta = SafeTensors.ReadMetadata(path);
        if (!meta.TryGetValue(ConfigKey, out var json) || meta.GetValueOrDefault(FormatKey) != FormatValue)
            throw new CheckpointException(
                $"'{path}' is a safetensors file but not a TinyGpt checkpoint (its metadata has no TinyGpt configuration). " +
                "For a GPT-2 checkpoint from another tool, use the GPT-2 importer.");
        var model = new TinyGpt(TinyGptConfig.FromJson(json));
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
