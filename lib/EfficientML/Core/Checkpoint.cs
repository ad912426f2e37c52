using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Core;

/// <summary>Saves and restores a module's parameters and buffers as safetensors, with metadata.</summary>
public static class Checkpoint
{
    /// <summary>Writes every parameter and buffer of <paramref name="module"/> under its state-dict name.</summary>
    public static void Save(nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafeTensors.Write(path, module.state_dict(), metadata);

    /// <summary>
    /// Copies the file's tensors into <paramref name="module"/> (converted to each parameter's dtype and device).
    /// Strict: a missing, extra or differently shaped tensor is an error naming it; the module is left unchanged then.
    /// </summary>
    /// <returns>The file's metadata.</returns>
    public static IReadOnlyDictionary<string, string> Load(nn.Module module, string path)
    {
        using var file = SafeTensors.Read(path);
        var state = module.state_dict();
        var missing = state.Keys.Where(k => !file.Tensors.ContainsKey(k)).ToList();
        var extra = file.Tensors.Keys.Where(k => !state.ContainsKey(k)).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new CheckpointException(
                $"'{path}' does not fit this model." +
                (missing.Count > 0 ? $" Missing: {Names(missing)}." : "") +
                (extra.Count > 0 ? $" Not in the model: {Names(extra)}." : "") +
                " Build the model with the configuration the checkpoint was saved with (its metadata holds it).");
        foreach (var (name, target) in state)
        {
            var source = file.Tensors[name];
            if (!source.shape.SequenceEqual(target.shape))
                throw new CheckpointException(
                    $"'{path}' does not fit this model: tensor '{name}' has shape [{string.Join(", ", source.shape)}] in the file " +
                    $"but [{string.Join(", ", target.shape)}] in the model.");
        }
        using (no_grad())
        {
            foreach (var (name, target) in state)
                target.copy_(file.Tensors[name]);
        }
        return file.Metadata;
    }

    static string Names(List<string> names) =>
        string.Join(", ", names.Take(5).Select(n => $"'{n}'")) + (names.Count > 5 ? $" and {names.Count - 5} more" : "");
}
