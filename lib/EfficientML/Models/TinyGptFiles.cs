using EfficientML.Core;

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

    /// <summary>Metadata of a checkpoint written by <see cref="Save"/> (configuration, tokenizer, training notes).</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path) => SafeTensors.ReadMetadata(path);
}
