using EfficientML.Core;
using static TorchSharp.torch;

namespace EfficientML.Routing;

/// <summary>
/// Measured wall-clock time of the dense model against routed execution at one θ, on the same tokens in the same run:
/// the MLPs alone (routers, expert choice, gather and scatter included) and the whole forward pass.
/// </summary>
/// <param name="Theta">The sensitivity measured.</param>
/// <param name="Tokens">Tokens per forward pass.</param>
/// <param name="ActiveFraction">Mean share of MLP neurons the routed tokens used.</param>
/// <param name="DenseMlpMs">Median time of all dense MLPs (ms).</param>
/// <param name="RoutedMlpMs">Median time of all routed MLPs, routers included (ms).</param>
/// <param name="DenseForwardMs">Median time of the dense model's forward pass (ms).</param>
/// <param name="RoutedForwardMs">Median time of the routed model's forward pass (ms).</param>
public sealed record RoutingSpeed(double Theta, long Tokens, double ActiveFraction, double DenseMlpMs, double RoutedMlpMs, double DenseForwardMs, double RoutedForwardMs)
{
    /// <summary>Dense MLP time over routed MLP time.</summary>
    public double MlpSpeedUp => DenseMlpMs / RoutedMlpMs;

    /// <summary>Dense forward time over routed forward time.</summary>
    public double ForwardSpeedUp => DenseForwardMs / RoutedForwardMs;

    /// <summary>
    /// Times dense and routed execution on <paramref name="idx"/> (B, T), alternating them <paramref name="repeats"/>
    /// times after one warm-up each, and keeps the medians.
    /// </summary>
    public static RoutingSpeed Measure(RoutedGpt routed, Tensor idx, double theta, int repeats = 7)
    {
        Router.CheckTheta(theta);
        if (repeats < 1) throw new InvalidSettingsException($"repeats must be at least 1, not {repeats}.");
        var model = routed.model;
        int layers = routed.Config.Layers;
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var evalMode = new EvalMode(routed);
        var inputs = new Tensor[layers];
        double active;
        using (var output = routed.Run(idx, ExpertChoice.AtTheta(theta)))
        {
            var experts = output.Experts;
            RoutedGpt.Trace(model, idx, (l, input) =>
            {
                inputs[l] = input;
                return NestedExperts.Grouped(model.blocks[l].mlp, input, experts[l], routed.Sizes);
            });
            using var neurons = tensor(routed.Sizes.Neurons.Select(m => (double)m).ToArray());
            active = neurons.index_select(0, experts.reshape(-1).cpu()).mean().item<double>() / routed.Sizes.Width;
        }
        void DenseMlps()
        {
            using var s = NewDisposeScope();
            for (int l = 0; l < layers; l++) model.blocks[l].mlp.forward(inputs[l]);
        }
        void RoutedMlps()
        {
            using var s = NewDisposeScope();
            for (int l = 0; l < layers; l++)
            {
                var choice = Router.Choose(routed.routers[l].forward(inputs[l]), theta);
                NestedExperts.Grouped(model.blocks[l].mlp, inputs[l], choice, routed.Sizes);
            }
        }
        void DenseForward() { using var s = NewDisposeScope(); model.Forward(idx); }
        void RoutedForward() { using var s = NewDisposeScope(); routed.Run(idx, ExpertChoice.AtTheta(theta)).Dispose(); }
        var mlp = Latency.Medians([DenseMlps, RoutedMlps], repeats, warmup: 1);
        var forward = Latency.Medians([DenseForward, RoutedForward], repeats, warmup: 1);
        var (denseMlp, routedMlp, denseForward, routedForward) = (mlp[0], mlp[1], forward[0], forward[1]);
        return new RoutingSpeed(theta, idx.numel(), active, denseMlp, routedMlp, denseForward, routedForward);
    }
}
