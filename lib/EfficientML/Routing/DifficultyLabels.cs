using EfficientML.Core;
using EfficientML.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Routing;

/// <summary>
/// Token difficulty labels from the model itself: run the model at each expert size (every layer's MLP narrowed to it);
/// a token's label is the smallest expert whose next-token loss is within a tolerance of the full model's loss.
/// </summary>
public static class DifficultyLabels
{
    /// <summary>Labels (B, T) int64 for inputs (B, T) and their next tokens (B, T), with the model's current weights.</summary>
    public static Tensor Compute(RoutedGpt routed, Tensor idx, Tensor targets, double tolerance)
    {
        if (!(tolerance >= 0) || double.IsInfinity(tolerance))
            throw new InvalidSettingsException($"The tolerance is a loss difference in nats and must be 0 or more, not {tolerance}.");
        if (!targets.shape.SequenceEqual(idx.shape))
            throw new InvalidSettingsException($"Targets [{string.Join(", ", targets.shape)}] must have the inputs' shape [{string.Join(", ", idx.shape)}].");
        var sizes = routed.Sizes;
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var bound = TokenLoss(routed, idx, targets, sizes.Full) + tolerance;
        var label = full(idx.shape, sizes.Full, dtype: ScalarType.Int64, device: idx.device);
        for (int j = sizes.Full - 1; j >= 0; j--) // largest first, so each token ends on the smallest expert that fits
        {
            var fits = TokenLoss(routed, idx, targets, j).le(bound);
            label = where(fits, full_like(label, j), label);
        }
        return label.MoveToOuterDisposeScope();
    }

    /// <summary>The same label for every layer: (L, B, T), for <see cref="ExpertChoice.Given"/>.</summary>
    public static Tensor PerLayer(Tensor labels, int layers) => labels.unsqueeze(0).expand(layers, -1, -1).contiguous();

    /// <summary>Share of tokens with each label, or on each expert (K values summing to 1).</summary>
    public static double[] Shares(Tensor labels, int experts)
    {
        using var counts = labels.reshape(-1).bincount(null, minlength: experts).to(ScalarType.Float64).cpu();
        var values = counts.data<double>().ToArray();
        var total = values.Sum();
        return values.Select(c => total > 0 ? c / total : 0).ToArray();
    }

    /// <summary>Per-token cross-entropy (B, T) with every token on expert <paramref name="expert"/>.</summary>
    static Tensor TokenLoss(RoutedGpt routed, Tensor idx, Tensor targets, int expert)
    {
        using var output = routed.Run(idx, new ExpertChoice.Static(expert));
        var logits = output.Logits;
        return F.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1), reduction: nn.Reduction.None).reshape(targets.shape);
    }
}
