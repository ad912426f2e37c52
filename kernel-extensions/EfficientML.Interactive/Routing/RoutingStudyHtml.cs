using EfficientML.Routing;

namespace EfficientML.Interactive;

/// <summary>
/// One DynaMoE experiment as HTML: a summary (fine-tuning tokens as a share of pretraining, the routers' fit before → after,
/// the cheapest routed variant within 2 % of the dense loss), the loss-vs-compute chart, the table of every variant, and the
/// share of tokens on each expert at the θ the fine-tuning was evaluated at.
/// </summary>
static class RoutingStudyHtml
{
    /// <summary>How far above the dense loss the headline's cheapest variant may be.</summary>
    public const double Within = 0.02;

    public static string Render(RoutingStudy s)
    {
        var all = s.Routed.Concat(s.Static).Concat(s.Elastic ?? []).ToList();
        var usage = AtEvalTheta(s);
        return $"<div class=\"efml-routing-study\" style=\"{Html.BlockStyle}\">" +
               $"<div style=\"margin-bottom:4px\">{Headline(s)}</div>" +
               TrainingRunHtml.Status(s.Run) + (s.ElasticRun is { } elastic ? TrainingRunHtml.Status(elastic) : "") +
               RoutingCharts.ParetoFragment(s.Routed, s.Static, s.Elastic,
                   $"Validation loss vs MLP compute ({s.Sizes.Count} nested experts: {Sizes(s.Sizes)})") +
               RoutingPointHtml.Table(all, s.DenseLoss) +
               (usage is null ? "" : ChartHtml.Fragment(RoutingCharts.ExpertUsage(usage.Usage, s.Sizes,
                   $"Share of validation tokens on each expert at θ = {Html.Number(usage.Theta ?? 0)}"))) +
               "</div>";
    }

    /// <summary>The summary line.</summary>
    public static string Headline(RoutingStudy s)
    {
        var o = s.Run.Options;
        long tokens = (long)o.Steps * o.BatchSize * o.BlockSize;
        var parts = new List<string>
        {
            "<b>DynaMoE routing</b>",
            $"fine-tuned on {Html.Count(tokens)} tokens ({Format.Percent(s.FineTuningShare)} of pretraining)",
            $"router fit {Html.Number(Math.Round(s.RouterFitBefore.CrossEntropy, 3))} → {Html.Number(Math.Round(s.RouterFitAfter.CrossEntropy, 3))} nats " +
            $"(accuracy {Format.Percent(s.RouterFitBefore.Accuracy)} → {Format.Percent(s.RouterFitAfter.Accuracy)})",
        };
        var cheapest = s.CheapestWithin(Within);
        parts.Add(cheapest is null
            ? $"no routed variant is within {Html.Number(100 * Within)}% of the dense loss"
            : $"cheapest within {Html.Number(100 * Within)}% of dense: <b>{Html.Encode(cheapest.Method)}</b> at " +
              $"<b>{Format.Percent(cheapest.ComputeFraction)}</b> of the dense MLP compute " +
              $"({RoutingPointHtml.Signed(cheapest.ValidationLoss / s.DenseLoss - 1)} loss)");
        return string.Join(" · ", parts);
    }

    /// <summary>The routed point at the fine-tuning's θ (or the nearest θ measured).</summary>
    static RoutingPoint? AtEvalTheta(RoutingStudy s) =>
        s.Routed.Where(p => p.Theta is not null && p.Usage.Length > 0).OrderBy(p => Math.Abs(p.Theta!.Value - s.Options.EvalTheta)).FirstOrDefault();

    static string Sizes(ExpertSizes sizes) =>
        string.Join(", ", Enumerable.Range(0, sizes.Count).Select(j => $"{Html.Number(Math.Round(100 * sizes.Fraction(j), 1))}%")) +
        $" of {sizes.Width} neurons";
}
