using System.Diagnostics.CodeAnalysis;

namespace EfficientML.Interactive;

/// <summary>
/// The models a notebook's magics made, by variable name, of any kind (a TinyGpt, a RepCnn, a conformer …):
/// a magic asks for the kind it works on with <see cref="TryGet{T}"/>, and offers completions with <see cref="NamesOf{T}"/>.
/// </summary>
public sealed class ModelRegistry
{
    readonly object _gate = new();
    readonly Dictionary<string, object> _models = new(StringComparer.Ordinal);

    /// <summary>Every name, in the order first registered.</summary>
    public IReadOnlyList<string> Names { get { lock (_gate) return _models.Keys.ToArray(); } }

    /// <summary>Names of the models that are a <typeparamref name="T"/>, in the order first registered.</summary>
    public IReadOnlyList<string> NamesOf<T>() { lock (_gate) return _models.Where(m => m.Value is T).Select(m => m.Key).ToArray(); }

    /// <summary>Registers <paramref name="model"/> as <paramref name="name"/>, replacing any model of that name.</summary>
    public void Set(string name, object model)
    {
        ArgumentNullException.ThrowIfNull(model);
        lock (_gate) _models[name] = model;
    }

    /// <summary>The model registered as <paramref name="name"/> if it is a <typeparamref name="T"/>.</summary>
    public bool TryGet<T>(string name, [MaybeNullWhen(false)] out T model) where T : class
    {
        lock (_gate)
        {
            model = _models.TryGetValue(name, out var value) ? value as T : null;
            return model != null;
        }
    }

    /// <summary>What is registered as <paramref name="name"/> (any kind), or null.</summary>
    public object? Get(string name) { lock (_gate) return _models.GetValueOrDefault(name); }
}
