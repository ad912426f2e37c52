using EfficientML.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientML.Clustering;

/// <summary>
/// DKM applied to a model's weights by layer name: one <see cref="DkmClusterer"/> (its own centroids) per linear layer
/// (and embedding, optionally), all saving into one <see cref="SavedTensorStore"/> so its report covers the model.
/// <see cref="Step"/> runs a training step with every selected weight replaced by its soft-clustered W̃ and brings the
/// gradient back to the float32 master weights through DKM; <see cref="UseHardWeights"/> evaluates the palettised model.
/// The model's own modules are not replaced (TinyGpt calls its layers directly): W̃'s values are written into the weights
/// for the forward pass and the masters restored afterwards.
/// </summary>
public sealed class ClusteredLayers : IDisposable
{
    readonly List<(string Name, Parameter Weight, DkmClusterer Clusterer)> _layers = new();
    readonly bool _ownsStore;

    /// <summary>
    /// Clusters the weights of <paramref name="layers"/> (module names as in <c>named_modules()</c>, e.g.
    /// <c>blocks.0.mlp.fc</c>); null = every linear layer, plus every embedding when <paramref name="includeEmbeddings"/>.
    /// </summary>
    public ClusteredLayers(nn.Module model, DkmOptions? options = null, SavedTensorStore? store = null,
        IEnumerable<string>? layers = null, bool includeEmbeddings = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        Options = (options ?? new DkmOptions()).Validate();
        _ownsStore = store is null;
        Store = store ?? new SavedTensorStore();
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        bool Clusterable(nn.Module m) => m is Linear || (m is Embedding && (includeEmbeddings || layers is not null));
        var names = layers?.ToList() ?? modules.Where(m => Clusterable(m.Value)).Select(m => m.Key).ToList();
        var available = modules.Where(m => m.Value is Linear || m.Value is Embedding).Select(m => m.Key).ToList();
        foreach (var name in names)
        {
            if (!modules.TryGetValue(name, out var module))
                throw new InvalidSettingsException($"No layer named '{name}' in this model. Layers that can be clustered ({available.Count}): " +
                    $"{string.Join(", ", available.Take(12))}{(available.Count > 12 ? ", …" : "")}.");
            var weight = module switch
            {
                Linear linear => linear.weight,
                Embedding embedding => embedding.weight!,
                _ => throw new InvalidSettingsException($"'{name}' is a {module.GetType().Name}, not a linear layer or an embedding; DKM clusters those weights only."),
            };
            _layers.Add((name, weight, new DkmClusterer(Options, Store)));
        }
        if (_layers.Count == 0) throw new InvalidSettingsException("No layers to cluster: the model has no linear layers (or the list was empty).");
    }

    /// <summary>The clustering settings every layer uses.</summary>
    public DkmOptions Options { get; }

    /// <summary>Where every layer's training step keeps what backward needs.</summary>
    public SavedTensorStore Store { get; }

    /// <summary>The clustered layers' names, in model order.</summary>
    public IReadOnlyList<string> Names => _layers.Select(l => l.Name).ToList();

    /// <summary>
    /// The float32 master weight of one clustered layer (the model's own parameter). Read it between steps, e.g. in a
    /// fine-tuning callback on the training thread; during <see cref="Step"/> it briefly holds W̃.
    /// </summary>
    public Parameter Weight(string name) =>
        _layers.FirstOrDefault(l => l.Name == name).Weight
        ?? throw new InvalidSettingsException($"'{name}' is not clustered here; clustered layers: {string.Join(", ", Names)}.");

    /// <summary>The clusterer of one layer (its centroids, its palette).</summary>
    public DkmClusterer this[string name] =>
        _layers.FirstOrDefault(l => l.Name == name).Clusterer
        ?? throw new InvalidSettingsException($"'{name}' is not clustered here; clustered layers: {string.Join(", ", Names)}.");

    /// <summary>
    /// One training step: every clustered weight becomes W̃ = A C, <paramref name="loss"/> runs the forward pass and
    /// returns the loss, which is differentiated; the gradients reach the master weights through DKM (and the other
    /// parameters directly). Gradients accumulate like <c>backward()</c>; zero them and step the optimiser as usual.
    /// Returns the loss, detached.
    /// </summary>
    public Tensor Step(Func<Tensor> loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        using var scope = NewDisposeScope();
        var soft = new List<Tensor>();
        var masters = new List<Tensor>();
        var earlier = new List<Tensor?>();
        foreach (var (_, weight, clusterer) in _layers)
        {
            soft.Add(clusterer.Soft(weight));                                                  // W̃, graph back to the master
            using var _ = no_grad();
            masters.Add(weight.detach().clone());
            earlier.Add(weight.grad is { } g ? g.clone() : null);
            weight.grad?.zero_();
            weight.copy_(soft[^1]);
        }
        Tensor value;
        try
        {
            value = loss();
            value.backward();                                                                  // weight.grad = ∂loss/∂W̃
        }
        finally
        {
            using var _ = no_grad();
            for (int i = 0; i < _layers.Count; i++) _layers[i].Weight.copy_(masters[i]);
        }
        var upstream = new List<Tensor>();
        using (no_grad())
            for (int i = 0; i < _layers.Count; i++)
            {
                var weight = _layers[i].Weight;
                upstream.Add(weight.grad is { } g ? g.clone() : zeros_like(weight));
                weight.grad?.zero_();
                if (earlier[i] is { } e) weight.grad!.add_(e);
            }
        // Second stage: Σ ⟨W̃, ∂loss/∂W̃⟩ differentiated through DKM adds ∂loss/∂master to each weight's gradient.
        var surrogate = soft.Zip(upstream, (w, g) => (w * g).sum()).Aggregate((a, b) => a + b);
        surrogate.backward();
        return value.detach().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Writes every clustered weight's hard-clustered value (nearest centroid) into the model until the returned
    /// object is disposed, which restores the master weights exactly.
    /// </summary>
    public IDisposable UseHardWeights()
    {
        var masters = new List<Tensor>();
        using var _ = no_grad();
        foreach (var (_, weight, clusterer) in _layers)
        {
            masters.Add(weight.detach().clone().DetachFromDisposeScope());
            using var hard = clusterer.Hard(weight);
            weight.copy_(hard);
        }
        return new Restore(() =>
        {
            using var __ = no_grad();
            for (int i = 0; i < _layers.Count; i++) { _layers[i].Weight.copy_(masters[i]); masters[i].Dispose(); }
        });
    }

    /// <summary>
    /// Writes every clustered weight's hard-clustered value (nearest centroid) into the model for good: the model becomes
    /// the palettised model, with at most k distinct values per table, and the float32 master weights are gone. Use
    /// <see cref="UseHardWeights"/> instead to evaluate and keep training. The centroids stay, so
    /// <see cref="Palettize"/> still gives the same tables.
    /// </summary>
    public void ApplyHardWeights()
    {
        using var _ = no_grad();
        foreach (var (_, weight, clusterer) in _layers)
        {
            using var hard = clusterer.Hard(weight);
            weight.copy_(hard);
        }
    }

    /// <summary>True when every clustered weight is a parameter of <paramref name="model"/>.</summary>
    internal bool BelongTo(nn.Module model)
    {
        var parameters = model.parameters().ToList();
        return _layers.All(l => parameters.Any(p => ReferenceEquals(p, l.Weight)));
    }

    /// <summary>Every clustered layer's palette (table + indices), by name.</summary>
    public IReadOnlyDictionary<string, Palette> Palettize() =>
        _layers.ToDictionary(l => l.Name, l => l.Clusterer.Palettize(l.Weight));

    sealed class Restore(Action action) : IDisposable
    {
        Action? _action = action;
        public void Dispose() { _action?.Invoke(); _action = null; }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var layer in _layers) layer.Clusterer.Dispose();
        if (_ownsStore) Store.Dispose();
    }
}
