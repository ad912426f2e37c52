using EfficientML.Core;
using EfficientML.Routing;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Speculative.ExpertPrefetch;

/// <summary>
/// M2R2's ahead-of-time expert prediction (reconstruction): from the residual state after <see cref="FromLayer"/> blocks
/// (the slow state, or the fast state of <see cref="AcceleratorAdapters"/>), one small head per later block
/// l = FromLayer … L−1 (0-based) gives logits over that block's experts, so their weights can be loaded before the
/// blocks run. Each head is a LayerNorm and a linear layer, or with <c>hidden</c> &gt; 0 a LayerNorm and a one-hidden-layer MLP.
/// </summary>
public sealed class ExpertPredictor : nn.Module
{
    public readonly ModuleList<Sequential> heads;

    /// <summary>
    /// Heads reading states of width <paramref name="dim"/> after <paramref name="fromLayer"/> blocks of a
    /// <paramref name="layers"/>-layer model with <paramref name="experts"/> experts per layer (seeded).
    /// </summary>
    public ExpertPredictor(int dim, int layers, int fromLayer, int experts, int hidden = 64, long seed = 0) : base(nameof(ExpertPredictor))
    {
        CheckFromLayer(fromLayer, layers);
        if (dim < 1) throw new InvalidSettingsException($"The state width must be positive, not {dim}.");
        if (experts < 2) throw new InvalidSettingsException($"There is nothing to predict with {experts} expert(s) per layer: give at least 2.");
        if (hidden < 0) throw new InvalidSettingsException($"The heads' hidden width must be 0 (a linear head) or more, not {hidden}.");
        TorchNative.EnsureLoaded();
        Seeding.Everything(seed);
        Dim = dim;
        Layers = layers;
        FromLayer = fromLayer;
        Experts = experts;
        Hidden = hidden;
        heads = nn.ModuleList(Enumerable.Range(fromLayer, layers - fromLayer).Select(_ => hidden == 0
            ? nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, experts))
            : nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, experts))).ToArray());
        RegisterComponents();
    }

    /// <summary>A predictor for <paramref name="routed"/>'s experts from the state after <paramref name="fromLayer"/> blocks, on its device.</summary>
    public static ExpertPredictor For(RoutedGpt routed, int fromLayer, int hidden = 64, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(routed);
        var p = new ExpertPredictor(routed.Config.Dim, routed.Config.Layers, fromLayer, routed.Sizes.Count, hidden, seed);
        p.to(routed.Device);
        return p;
    }

    /// <summary>Throws one clear message when no block follows the state after <paramref name="fromLayer"/> blocks.</summary>
    public static void CheckFromLayer(int fromLayer, int layers)
    {
        if (fromLayer < 1 || fromLayer > layers - 1)
            throw new InvalidSettingsException($"Cannot predict experts from layer {fromLayer} of a {layers}-layer model: choose fromLayer in 1..{layers - 1} " +
                "(the state after that many blocks predicts the blocks after it).");
    }

    /// <summary>Width of the states read.</summary>
    public int Dim { get; }

    /// <summary>Layers (blocks) of the model.</summary>
    public int Layers { get; }

    /// <summary>The predictor reads the state after this many blocks, 1 … L−1.</summary>
    public int FromLayer { get; }

    /// <summary>Experts per layer.</summary>
    public int Experts { get; }

    /// <summary>Hidden width of each head (0 = linear).</summary>
    public int Hidden { get; }

    /// <summary>Blocks predicted: FromLayer … L−1.</summary>
    public int PredictedLayers => Layers - FromLayer;

    /// <summary>Logits (L − FromLayer, B, T, experts) for states (B, T, C): row i is block FromLayer + i.</summary>
    public Tensor Logits(Tensor state)
    {
        if (state.dim() != 3 || state.shape[2] != Dim)
            throw new InvalidSettingsException($"States must be (batch, time, {Dim}), not [{string.Join(", ", state.shape)}].");
        return stack(heads.Select(h => h.forward(state)).ToArray());
    }

    /// <summary>The most likely expert of every later block, (L − FromLayer, B, T) int64.</summary>
    public Tensor Predict(Tensor state)
    {
        using var scope = NewDisposeScope();
        return Logits(state).argmax(-1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean cross-entropy over the later blocks of predicting <paramref name="experts"/> (L, B, T) — the experts the
    /// routed model used — from <paramref name="state"/> (B, T, C).
    /// </summary>
    public Tensor Loss(Tensor state, Tensor experts)
    {
        if (experts.dim() != 3 || experts.shape[0] != Layers || experts.shape[1] != state.shape[0] || experts.shape[2] != state.shape[1])
            throw new InvalidSettingsException($"Experts must be (layers, batch, time) = ({Layers}, {state.shape[0]}, {state.shape[1]}), not [{string.Join(", ", experts.shape)}].");
        var logits = Logits(state);                                                   // (L−k, B, T, K)
        var labels = experts.narrow(0, FromLayer, PredictedLayers).to(ScalarType.Int64);
        return F.cross_entropy(logits.reshape(-1, Experts), labels.reshape(-1));
    }
}
