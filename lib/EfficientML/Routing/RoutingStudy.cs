using EfficientML.Core;

namespace EfficientML.Routing;

/// <summary>
/// Everything one DynaMoE experiment measured: the router fine-tuning run, the routed variants (one per θ), the static
/// widths of the same weights, and optionally the static widths of the elastic (Flextron-style) baseline fine-tuned with
/// the same budget.
/// </summary>
/// <param name="Sizes">The nested expert sizes.</param>
/// <param name="Options">The routing settings used.</param>
/// <param name="Run">The routers' fine-tuning record.</param>
/// <param name="Routed">One point per θ, increasing.</param>
/// <param name="Static">Each static width of the routed model's weights, smallest first.</param>
/// <param name="Elastic">Each static width after the elastic baseline's fine-tuning (null when it was not run).</param>
/// <param name="ElasticRun">The elastic baseline's fine-tuning record (null when it was not run).</param>
/// <param name="RouterFitBefore">Routers' label cross-entropy (nats) and accuracy before fine-tuning.</param>
/// <param name="RouterFitAfter">The same after fine-tuning.</param>
public sealed record RoutingStudy(
    ExpertSizes Sizes, RoutingOptions Options, TrainingRun Run,
    IReadOnlyList<RoutingPoint> Routed, IReadOnlyList<RoutingPoint> Static,
    IReadOnlyList<RoutingPoint>? Elastic, TrainingRun? ElasticRun,
    (double CrossEntropy, double Accuracy) RouterFitBefore, (double CrossEntropy, double Accuracy) RouterFitAfter)
{
    /// <summary>Fine-tuning tokens as a share of the pretrained model's training tokens.</summary>
    public double FineTuningShare => RoutingFineTuning.ShareOfPretraining(Run.Options);

    /// <summary>The dense model's loss: the routed model at θ = 1, or its full static width.</summary>
    public double DenseLoss => Static[^1].ValidationLoss;

    /// <summary>The cheapest routed variant whose loss is within <paramref name="relative"/> (e.g. 0.02) of the dense loss, if any.</summary>
    public RoutingPoint? CheapestWithin(double relative) => CheapestWithin(Routed, DenseLoss, relative);

    /// <summary>The cheapest of <paramref name="routed"/> whose loss is within <paramref name="relative"/> of <paramref name="denseLoss"/>, if any.</summary>
    public static RoutingPoint? CheapestWithin(IEnumerable<RoutingPoint> routed, double denseLoss, double relative) =>
        routed.Where(p => p.ValidationLoss <= denseLoss * (1 + relative)).OrderBy(p => p.ComputeFraction).FirstOrDefault();

    /// <summary>
    /// Loss of a static-width curve (points of increasing compute) at <paramref name="computeFraction"/>, linearly
    /// interpolated; null outside the curve's range.
    /// </summary>
    public static double? InterpolatedLoss(IReadOnlyList<RoutingPoint> curve, double computeFraction)
    {
        var sorted = curve.OrderBy(p => p.ComputeFraction).ToList();
        for (int i = 1; i < sorted.Count; i++)
        {
            var (a, b) = (sorted[i - 1], sorted[i]);
            if (computeFraction < a.ComputeFraction || computeFraction > b.ComputeFraction) continue;
            var t = (computeFraction - a.ComputeFraction) / (b.ComputeFraction - a.ComputeFraction);
            return a.ValidationLoss + t * (b.ValidationLoss - a.ValidationLoss);
        }
        return null;
    }
}
