using EfficientML.Speculative;

namespace EfficientML.Interactive;

/// <summary>
/// The layer-wise profile (<see cref="LayerAnalysis.Measure"/>) as HTML: the agreement and distance chart, then one table row
/// per layer with the slow stream's figures and, where measured, the fast stream's.
/// </summary>
static class LayerProfileHtml
{
    public static string Render(LayerProfile profile) =>
        $"<div class=\"efml-layer-profile-row\" style=\"{Html.BlockStyle}\">{Table([profile])}</div>";

    public static string Render(IEnumerable<LayerProfile> profiles)
    {
        var list = profiles.OrderBy(p => p.Layer).ToList();
        if (list.Count == 0) return $"<div style=\"{Html.BlockStyle}\">No layer profiles.</div>";
        return $"<div class=\"efml-layer-profiles\" style=\"{Html.BlockStyle}\">{ChartHtml.Fragment(SpeculativeCharts.LayerProfile(list))}{Table(list)}</div>";
    }

    public static string Table(IReadOnlyList<LayerProfile> list)
    {
        bool fast = list.Any(p => p.FastAgreement is not null);
        string Head(string text) => $"<th style=\"{Html.NumberCellStyle}\">{text}</th>";
        string Cell(string html) => $"<td style=\"{Html.NumberCellStyle}\">{html}</td>";
        string Value(double? v, int digits) => v is double d ? Html.Number(Math.Round(d, digits)) : "";
        string Share(double? v) => v is double d ? Format.Percent(d) : "";
        var rows = list.Select(p =>
            $"<tr>{Cell(p.Layer == 0 ? "0 (embeddings)" : Html.Count(p.Layer))}{Cell(Share(p.Agreement))}{Cell(Value(p.Distance, 3))}{Cell(Value(p.Bits, 3))}" +
            (fast ? $"{Cell(Share(p.FastAgreement))}{Cell(Value(p.FastDistance, 3))}{Cell(Value(p.FastBits, 3))}" : "") + "</tr>");
        return $"<table class=\"efml-layer-table\" style=\"{Html.TableStyle};margin-top:4px\"><tr>" +
               Head("layer") + Head("agrees with<br>the final layer") + Head("distance to<br>the final state") + Head("bits per<br>token") +
               (fast ? Head("fast stream:<br>agrees") + Head("fast stream:<br>distance") + Head("fast stream:<br>bits per token") : "") +
               "</tr>" + string.Concat(rows) + "</table>";
    }
}
