using System.Diagnostics.CodeAnalysis;
using EfficientML.Models;

namespace EfficientML.Interactive;

/// <summary>The models a notebook made with <c>#!model</c>, by variable name.</summary>
public sealed class ModelRegistry
{
    readonly object _gate = new();
    readonly Dictionary<string, TinyGpt> _models = new(StringComparer.Ordinal);

    /// <summary>Names in the order they were first registered.</summary>
    public IReadOnlyList<string> Names { get { lock (_gate) return _models.Keys.ToArray(); } }

    /// <summary>Registers <paramref name="model"/> as <paramref name="name"/>, replacing any model of that name.</summary>
    public void Set(string name, TinyGpt model) { lock (_gate) _models[name] = model; }

    /// <summary>The model registered as <paramref name="name"/>, if any.</summary>
    public bool TryGet(string name, [MaybeNullWhen(false)] out TinyGpt model)
    {
        lock (_gate) return _models.TryGetValue(name, out model);
    }
}
