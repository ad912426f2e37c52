using EfficientML.Core;
using EfficientML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Clustering;

/// <summary>
/// A <see cref="TinyGpt"/> stored compactly: the chosen weights as palettes (a table of k float32 values per group and a
/// small index per weight), every other tensor plain float32. Build one from a model and its palettes
/// (<see cref="Create"/>, e.g. with <see cref="ClusteredLayers.Palettize"/> after DKM fine-tuning) or by post-training
/// k-means (<see cref="Cluster"/>); <see cref="Save"/> and <see cref="Load"/> keep it in a safetensors file with the
/// indices bit-packed; <see cref="ToTinyGpt"/> decodes it into an ordinary model. All tensors live on the CPU.
/// </summary>
public sealed partial class PalettizedModel : IDisposable
{
    readonly Dictionary<string, Palette> _palettes;
    readonly Dictionary<string, Tensor> _plain;

    PalettizedModel(TinyGptConfig config, Dictionary<string, Palette> palettes, Dictionary<string, Tensor> plain)
    {
        (Config, _palettes, _plain) = (config, palettes, plain);
    }

    /// <summary>The model's sizes.</summary>
    public TinyGptConfig Config { get; }

    /// <summary>Palettised weights by parameter name (e.g. <c>blocks.0.mlp.fc.weight</c>).</summary>
    public IReadOnlyDictionary<string, Palette> Palettes => _palettes;

    /// <summary>Every other parameter, float32, by name.</summary>
    public IReadOnlyDictionary<string, Tensor> Plain => _plain;

    /// <summary>Every parameter name of the model, in the model's order.</summary>
    public IReadOnlyList<string> Names => ParameterShapes(Config).Select(p => p.Key).ToList();

    /// <summary>
    /// Copies <paramref name="model"/>'s weights, replacing those named in <paramref name="palettes"/> (keys are parameter
    /// names, or layer names as <see cref="ClusteredLayers.Palettize"/> gives them, meaning the layer's weight) by copies of
    /// their palettes. An empty map gives a model with every weight plain.
    /// </summary>
    public static PalettizedModel Create(TinyGpt model, IReadOnlyDictionary<string, Palette> palettes)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(palettes);
        var shapes = ParameterShapes(model.Config);
        var state = model.state_dict();
        var chosen = new Dictionary<string, Palette>(StringComparer.Ordinal);
        var plain = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using var _ = no_grad();
            foreach (var (key, palette) in palettes)
            {
                var name = shapes.ContainsKey(key) ? key : shapes.ContainsKey(key + ".weight") ? key + ".weight"
                    : throw new InvalidSettingsException($"'{key}' names no parameter of this model (e.g. {string.Join(", ", shapes.Keys.Take(4))}, …).");
                if (chosen.ContainsKey(name)) throw new InvalidSettingsException($"Parameter '{name}' has two palettes.");
                var table = palette.Table.detach().cpu().to(ScalarType.Float32).contiguous().clone();
                var indices = palette.Indices.detach().cpu().to(ScalarType.Byte).contiguous().clone();
                var copy = new Palette(table, indices, palette.Bits, palette.GroupSize);
                chosen[name] = copy;
                if (Problem(copy, shapes[name]) is { } problem) throw new InvalidSettingsException($"The palette of '{name}' {problem}.");
            }
            foreach (var (name, shape) in shapes)
                if (!chosen.ContainsKey(name))
                    plain[name] = state[name].detach().cpu().to(ScalarType.Float32).contiguous().clone();
        }
        catch
        {
            foreach (var p in chosen.Values) p.Dispose();
            foreach (var t in plain.Values) t.Dispose();
            throw;
        }
        return new PalettizedModel(model.Config, chosen, plain);
    }

    /// <summary>
    /// Post-training palettisation, no fine-tuning: k-means (seeded per <paramref name="options"/>) on each chosen weight
    /// (as DKM's initialisation does, on the 16-bit weights), then every weight set to its nearest centroid.
    /// <paramref name="layers"/>: module names as in <see cref="ClusteredLayers"/>; null = every linear layer (plus the
    /// embeddings when <paramref name="includeEmbeddings"/>).
    /// </summary>
    public static PalettizedModel Cluster(TinyGpt model, DkmOptions? options = null, IEnumerable<string>? layers = null, bool includeEmbeddings = false)
    {
        using var clustered = new ClusteredLayers(model, options, layers: layers, includeEmbeddings: includeEmbeddings);
        var palettes = clustered.Palettize();
        try
        {
            return Create(model, palettes);
        }
        finally
        {
            foreach (var p in palettes.Values) p.Dispose();
        }
    }

    /// <summary>
    /// Palettises a model whose chosen weights already hold at most 2^<paramref name="bits"/> distinct values each (for
    /// example after DKM fine-tuning with the hard-clustered weights written in): the table is exactly those values, so
    /// decoding gives the weights back bit for bit. A weight with more distinct values is refused, naming it.
    /// </summary>
    public static PalettizedModel FromClusteredWeights(TinyGpt model, int bits, IEnumerable<string>? layers = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (bits is < 1 or > 8) throw new InvalidSettingsException($"Bits must lie in 1..8 (got {bits}).");
        int k = 1 << bits;
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        var names = layers?.ToList() ?? modules.Where(m => m.Value is TorchSharp.Modules.Linear).Select(m => m.Key).ToList();
        var palettes = new Dictionary<string, Palette>();
        try
        {
            foreach (var name in names)
            {
                var weight = modules.TryGetValue(name, out var module) && module is TorchSharp.Modules.Linear linear ? linear.weight!
                    : throw new InvalidSettingsException($"'{name}' is not a linear layer of this model.");
                using var scope = NewDisposeScope();
                var (values, inverse, _) = unique(weight.detach().cpu().flatten(), sorted: true, return_inverse: true);
                if (values.numel() > k)
                    throw new InvalidSettingsException($"'{name}' holds {values.numel()} distinct values, more than the {k} a {bits}-bit palette can index: " +
                        "cluster it first (ClusteredLayers, #!cluster) or use PalettizedModel.Cluster.");
                var table = cat([values, values[-1].repeat(k - values.numel())]).unsqueeze(0);   // pad unused entries with the last value
                var palette = new Palette(table.MoveToOuterDisposeScope(),
                    inverse!.to(ScalarType.Byte).view(weight.shape).MoveToOuterDisposeScope(), bits, null);
                palettes[name] = palette;
            }
            return Create(model, palettes);
        }
        finally
        {
            foreach (var p in palettes.Values) p.Dispose();
        }
    }

    /// <summary>The weight <paramref name="name"/> as float32: decoded from its palette, or a copy of the plain tensor.</summary>
    public Tensor Weight(string name) =>
        _palettes.TryGetValue(name, out var palette) ? palette.Decode()
        : _plain.TryGetValue(name, out var plain) ? plain.clone()
        : throw new InvalidSettingsException($"No parameter named '{name}'; the model has {string.Join(", ", Names.Take(4))}, ….");

    /// <summary>An ordinary <see cref="TinyGpt"/> (CPU, eval mode) whose weights are the decoded palettes and the plain tensors.</summary>
    public TinyGpt ToTinyGpt()
    {
        var model = new TinyGpt(Config);
        using (no_grad())
        {
            foreach (var (name, target) in model.state_dict())
            {
                using var value = Weight(name);
                target.copy_(value);
            }
        }
        model.eval();
        return model;
    }

    /// <summary>Storage cost: payload bytes and bits per weight, against float32.</summary>
    public PalettizedSize Size
    {
        get
        {
            long palettized = _palettes.Values.Sum(p => p.Count);
            long tables = _palettes.Values.Sum(p => p.Table.numel() * 4);
            long indices = _palettes.Values.Sum(p => IndexPacking.PackedLength(p.Count, p.Bits));
            long plain = _plain.Values.Sum(t => t.numel());
            return new PalettizedSize(palettized, plain, tables, indices, plain * 4);
        }
    }

    /// <summary>
    /// What is wrong with <paramref name="palette"/> as the palette of a weight of shape <paramref name="shape"/>
    /// ("has …", "is …"), or null when it fits. Indices are checked against the table width k.
    /// </summary>
    internal static string? Problem(Palette palette, long[] shape)
    {
        if (palette.Bits is < 1 or > 8) return $"has {palette.Bits} bits per index; bits must be 1–8";
        if (!palette.Indices.shape.SequenceEqual(shape))
            return $"has indices of shape [{string.Join(", ", palette.Indices.shape)}] but the weight is [{string.Join(", ", shape)}]";
        if (palette.Table.dim() != 2) return $"has a table of shape [{string.Join(", ", palette.Table.shape)}]; it must be (groups, k)";
        long groups = palette.Table.shape[0], k = palette.Table.shape[1];
        if (k < 1 || k > 1L << palette.Bits) return $"has a table of {k} values per group; at {palette.Bits} bits it holds 1–{1L << palette.Bits}";
        long rows = shape.Length == 0 ? 1 : shape[0];
        long expectedGroups = palette.GroupSize is int size ? (size > 0 && rows % size == 0 ? rows / size : -1) : 1;
        if (expectedGroups < 0) return $"has group size {palette.GroupSize}, which does not divide the {rows} rows";
        if (groups != expectedGroups)
            return $"has a table of {groups} groups but group size {palette.GroupSize?.ToString() ?? "none (one table)"} over {rows} rows needs {expectedGroups}";
        if (palette.Indices.numel() > 0)
        {
            using var largest = palette.Indices.max();
            int top = largest.item<byte>();
            if (top >= k)
            {
                using var where = palette.Indices.flatten().ge(k).nonzero();
                return $"has index {top} (first out-of-range one at position {where[0, 0].item<long>()}), but its table has only k = {k} values per group";
            }
        }
        return null;
    }

    /// <summary>Every parameter of a TinyGpt with this configuration and its shape, in the model's order (its state dict).</summary>
    internal static IReadOnlyDictionary<string, long[]> ParameterShapes(TinyGptConfig c)
    {
        long d = c.Dim, q = (long)c.Heads * c.HeadDim, kv = (long)c.KvHeads * c.HeadDim, m = c.MlpDim;
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal)
        {
            ["wte.weight"] = [c.VocabSize, d], ["wpe.weight"] = [c.ContextLength, d],
        };
        for (int i = 0; i < c.Layers; i++)
        {
            var b = $"blocks.{i}.";
            void Linear(string name, long output, long input) { shapes[b + name + ".weight"] = [output, input]; shapes[b + name + ".bias"] = [output]; }
            void Norm(string name) { shapes[b + name + ".weight"] = [d]; shapes[b + name + ".bias"] = [d]; }
            Norm("ln_1"); Norm("ln_2");                                      // the order TinyGpt's Block declares them
            Linear("attn.q_proj", q, d); Linear("attn.k_proj", kv, d); Linear("attn.v_proj", kv, d); Linear("attn.o_proj", d, q);
            Linear("mlp.fc", m, d); Linear("mlp.proj", d, m);
        }
        shapes["ln_f.weight"] = [d];
        shapes["ln_f.bias"] = [d];
        if (!c.TiedHead) shapes["lm_head.weight"] = [c.VocabSize, d];
        return shapes;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var p in _palettes.Values) p.Dispose();
        foreach (var t in _plain.Values) t.Dispose();
        _palettes.Clear();
        _plain.Clear();
    }
}
