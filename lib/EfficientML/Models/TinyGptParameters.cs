using EfficientML.Core;
using static TorchSharp.torch;

namespace EfficientML.Models;

/// <summary>Looking up a TinyGpt's parameters by name, with a message that lists some that exist.</summary>
public static class TinyGptParameters
{
    /// <summary>The parameter called <paramref name="name"/> (e.g. "blocks.0.mlp.fc.weight"), or one clear message.</summary>
    public static Tensor Parameter(this TinyGpt model, string name)
    {
        ArgumentNullException.ThrowIfNull(model);
        var parameters = model.named_parameters().ToList();
        foreach (var (n, p) in parameters)
            if (n == name) return p;
        var examples = parameters.Where(p => p.parameter.dim() == 2).Select(p => p.name)
            .Where(n => !n.StartsWith("blocks.", StringComparison.Ordinal) || n.StartsWith("blocks.0.", StringComparison.Ordinal))
            .Take(8);
        throw new InvalidSettingsException($"The model has no parameter named '{name}'. Some that it has: {string.Join(", ", examples)} " +
            $"(blocks 0..{model.Config.Layers - 1}; model.named_parameters() lists all {parameters.Count}).");
    }
}
