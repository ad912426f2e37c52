using EfficientML.Core;
using EfficientML.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientML.Routing;

/// <summary>
/// A dense <see cref="TinyGpt"/> turned into a token-difficulty-routed mixture of nested experts (DynaMoE): every
/// MLP's neurons are sorted by importance so that expert j is its first m_j neurons, and a small router per layer picks
/// each token's expert. No weights are added besides the routers; with θ = 1 (or every token on the full expert) it
/// computes what the dense model computes: bit for bit what its neuron-sorted copy (<see cref="model"/>) computes, and
/// the original up to float32 rounding, since sorting the neurons changes the order of the MLP's sums (on the pretrained
/// model, differences of order 1e-5 on logits of order 10: under 1e-5 of their scale, which the tests hold it to).
/// </summary>
public sealed class RoutedGpt : nn.Module
{
    public readonly TinyGpt model;
    public readonly ModuleList<Router> routers;

    RoutedGpt(TinyGpt model, ExpertSizes sizes, int routerHidden, Tensor importance) : base(nameof(RoutedGpt))
    {
        this.model = model;
        Sizes = sizes;
        RouterHidden = routerHidden;
        Importance = importance;
        routers = nn.ModuleList(Enumerable.Range(0, model.Config.Layers)
            .Select(_ => new Router(model.Config.Dim, sizes.Count, routerHidden)).ToArray());
        RegisterComponents();
    }

    /// <summary>The nested expert sizes (the same in every layer).</summary>
    public ExpertSizes Sizes { get; }

    /// <summary>Hidden width of each router (0 = linear).</summary>
    public int RouterHidden { get; }

    /// <summary>Each layer's neuron importance in the new (sorted, decreasing) order, (L, MlpDim).</summary>
    public Tensor Importance { get; }

    /// <summary>Configuration of the underlying dense model.</summary>
    public TinyGptConfig Config => model.Config;

    /// <summary>
    /// Converts a copy of <paramref name="dense"/> (left unchanged): ranks each MLP's neurons on
    /// <paramref name="calibration"/> tokens (B, T), sorts them, and adds untrained routers (seeded).
    /// </summary>
    public static RoutedGpt FromDense(TinyGpt dense, Tensor calibration, RoutingOptions? options = null, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(dense);
        options = (options ?? new RoutingOptions()).Validate();
        var sizes = ExpertSizes.FromFractions(dense.Config.MlpDim, options.ExpertFractions);
        if (calibration.dim() != 2 || calibration.numel() == 0)
            throw new InvalidSettingsException($"Calibration tokens must be a non-empty (batch, time) tensor, not [{string.Join(", ", calibration.shape)}].");
        var copy = dense.Copy();
        copy.eval();
        try
        {
            using var importance = NestedExperts.Importance(copy, calibration.to(copy.Device));
            NestedExperts.SortNeurons(copy, importance);
            var sorted = importance.sort(dim: 1, descending: true).Values.cpu();
            Seeding.Everything(seed);
            var routed = new RoutedGpt(copy, sizes, options.RouterHidden, sorted);
            routed.routers.to(copy.Device);
            routed.eval();
            return routed;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>Device of the weights.</summary>
    public Device Device => model.Device;

    /// <summary>
    /// Logits for token ids (B, T) with each token's expert in each layer chosen by <paramref name="choice"/>;
    /// <paramref name="withRouterLogits"/> also runs the routers (on the detached MLP input) when the choice does not need them.
    /// </summary>
    public RoutedForward Run(Tensor idx, ExpertChoice choice, RoutedExecution execution = RoutedExecution.Grouped, bool withRouterLogits = false)
    {
        ArgumentNullException.ThrowIfNull(choice);
        int layers = Config.Layers;
        if (choice is ExpertChoice.Routed r) Router.CheckTheta(r.Theta);
        if (choice is ExpertChoice.Static s && (s.Expert < 0 || s.Expert >= Sizes.Count))
            throw new InvalidSettingsException($"Expert {s.Expert} does not exist: choose 0..{Sizes.Count - 1} ({Sizes}).");
        if (choice is ExpertChoice.Given g && (g.Experts.dim() != 3 || g.Experts.shape[0] != layers || g.Experts.shape[1] != idx.shape[0] || g.Experts.shape[2] != idx.shape[1]))
            throw new InvalidSettingsException($"Given experts must be (layers, batch, time) = ({layers}, {idx.shape[0]}, {idx.shape[1]}), not [{string.Join(", ", g.Experts.shape)}].");
        bool routersRun = withRouterLogits || choice is ExpertChoice.Routed;
        var experts = new Tensor[layers];
        var routerLogits = routersRun ? new Tensor[layers] : null;
        using var scope = NewDisposeScope();
        var hidden = Trace(model, idx, (l, input) =>
        {
            var mlp = model.blocks[l].mlp;
            if (routerLogits != null) routerLogits[l] = routers[l].forward(input.detach());
            if (choice is ExpertChoice.Static st)
            {
                experts[l] = full(idx.shape, st.Expert, dtype: ScalarType.Int64, device: idx.device);
                return NestedExperts.Expert(mlp, input, Sizes.Neurons[st.Expert]);
            }
            experts[l] = choice switch
            {
                ExpertChoice.Routed rt => Router.Choose(routerLogits![l], rt.Theta),
                ExpertChoice.Given gv => gv.Experts[l].to(idx.device),
                _ => throw new InvalidOperationException(),
            };
            return execution == RoutedExecution.Grouped
                ? NestedExperts.Grouped(mlp, input, experts[l], Sizes)
                : NestedExperts.Masked(mlp, input, experts[l], Sizes);
        });
        var logits = model.Logits(hidden);
        var result = new RoutedForward(logits, stack(experts), routerLogits is null ? null : stack(routerLogits));
        result.Logits.MoveToOuterDisposeScope();
        result.Experts.MoveToOuterDisposeScope();
        result.RouterLogits?.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>
    /// Runs <paramref name="model"/> on token ids (B, T) block by block as its own forward does, but with each block's MLP
    /// output computed by <paramref name="mlp"/>(layer, MLP input). Returns the final residual stream.
    /// </summary>
    public static Tensor Trace(TinyGpt model, Tensor idx, Func<int, Tensor, Tensor> mlp, Action<int, Tensor, Tensor>? beforeMlp = null) =>
        RunBlocks(model, Embed(model, idx), 0, mlp, beforeMlp);

    /// <summary>Token plus position embeddings, (B, T, d): <see cref="TinyGpt.Hidden"/> with no blocks.</summary>
    public static Tensor Embed(TinyGpt model, Tensor idx) => model.Hidden(idx, exitAfter: 0);

    /// <summary>
    /// Blocks <paramref name="from"/>..L-1 on the residual stream <paramref name="x"/>, the MLP of each computed by
    /// <paramref name="mlp"/>(layer, MLP input); <paramref name="beforeMlp"/> sees (layer, residual before the MLP, MLP input).
    /// </summary>
    public static Tensor RunBlocks(TinyGpt model, Tensor x, int from, Func<int, Tensor, Tensor> mlp, Action<int, Tensor, Tensor>? beforeMlp = null)
    {
        for (int l = from; l < model.Config.Layers; l++)
        {
            var block = model.blocks[l];
            x = x + block.attn.Forward(block.ln_1.forward(x), null, l, 0);
            var input = block.ln_2.forward(x);
            beforeMlp?.Invoke(l, x, input);
            x = x + mlp(l, input);
        }
        return x;
    }
}
