using EfficientML.Routing;

namespace EfficientML.Interactive;

/// <summary>
/// Routed and static-width variants as HTML: a table (method, θ or width, validation loss, how far above the dense model,
/// MLP compute and active neurons as shares of the dense MLP) and, for a list, the loss-vs-compute chart.
/// </summary>
static class RoutingPointHtml
{
    public static string Render(RoutingPoint point) =>
        $"<div class=\"efml-routing-point\" style=\"{Html.BlockStyle}\">{Table([point], dense: null)}</div>";

    /// <summary>
    /// A list from <see cref="RoutingEvaluation"/>: routed points are those with a θ; static widths whose method names the
    /// elastic baseline are the baseline's, the other static widths are the routed model's own weights.
    /// </summary>
    public static string Render(IEnumerable<RoutingPoint> points)
    {
        var list = points.ToList();
        if (list.Count == 0) return $"<div style=\"{Html.BlockStyle}\">No routing points.</div>";
        var routed = list.Where(p => p.Theta is not null).ToList();
        var elastic = list.Where(p => p.Theta is null && IsElastic(p)).ToList();
        var widths = list.Where(p => p.Theta is null && !IsElastic(p)).ToList();
        return $"<div class=\"efml-routing-points\" style=\"{Html.BlockStyle}\">" +
               RoutingCharts.ParetoFragment(routed, widths, elastic.Count > 0 ? elastic : null) +
               Table(list, DenseLoss(widths, routed)) +
               "</div>";
    }

    /// <summary>Whether a static width comes from the elastic baseline (as <c>#!route</c> and the notebooks name them).</summary>
    public static bool IsElastic(RoutingPoint p) => p.Method.Contains("elastic", StringComparison.OrdinalIgnoreCase);

    /// <summary>The full static width's loss (nats), else the routed variant's at θ = 1.</summary>
    public static double? DenseLoss(IEnumerable<RoutingPoint> staticWidths, IEnumerable<RoutingPoint> routed) =>
        staticWidths.Where(p => Math.Abs(p.ActiveFraction - 1) < 1e-9).Select(p => (double?)p.ValidationLoss).FirstOrDefault()
        ?? routed.Where(p => p.Theta == 1).Select(p => (double?)p.ValidationLoss).FirstOrDefault();

    /// <summary>One row per point; with a dense loss, a column of each point's loss above it.</summary>
    public static string Table(IEnumerable<RoutingPoint> points, double? dense)
    {
        string Head(string text, bool number = true) => $"<th style=\"{(number ? Html.NumberCellStyle : Html.CellStyle)}\">{text}</th>";
        string Cell(string html) => $"<td style=\"{Html.NumberCellStyle}\">{html}</td>";
        var rows = points.Select(p =>
            $"<tr><td style=\"{Html.CellStyle};white-space:nowrap\">{Html.Encode(p.Method)}</td>" +
            Cell(p.Theta is double t ? $"θ = {Html.Number(t)}" : p.Expert is int e ? $"expert {e}" : "") +
            Cell(Html.Number(Math.Round(p.ValidationBits, 4))) +
            (dense is double d ? Cell(d > 0 ? Signed(p.ValidationLoss / d - 1) : "") : "") +
            Cell(Format.Percent(p.ComputeFraction)) +
            Cell(Format.Percent(p.ActiveFraction)) +
            "</tr>");
        return $"<table class=\"efml-routing-table\" style=\"{Html.TableStyle};margin-top:4px\">" +
               "<tr>" + Head("method", number: false) + Head("θ / width") + Head("validation loss<br>(bits per byte)") +
               (dense is not null ? Head("vs<br>dense") : "") +
               Head("MLP compute, routers included<br>(% of dense)") + Head("active MLP neurons<br>(% of dense)") + "</tr>" +
               string.Concat(rows) + "</table>";
    }

    /// <summary>0.0123 → "+1.23%".</summary>
    public static string Signed(double change) =>
        !double.IsFinite(change) ? "–" : (change >= 0 ? "+" : "−") + Html.Number(Math.Round(100 * Math.Abs(change), 2)) + "%";
}
