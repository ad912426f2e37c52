using EfficientML.Speculative;

namespace EfficientML.Interactive;

/// <summary>
/// Dynamic-compute operating points (<see cref="DynamicCompute"/>) as HTML: agreement and loss against the blocks run per
/// token, one line per method, then one table row per point.
/// </summary>
static class DynamicComputeHtml
{
    public static string Render(DynamicComputePoint point) =>
        $"<div class=\"efml-dynamic-compute-point\" style=\"{Html.BlockStyle}\">{Table([point])}</div>";

    public static string Render(IEnumerable<DynamicComputePoint> points)
    {
        var list = points.ToList();
        if (list.Count == 0) return $"<div style=\"{Html.BlockStyle}\">No dynamic-compute points.</div>";
        return $"<div class=\"efml-dynamic-compute-points\" style=\"{Html.BlockStyle}\">{ChartHtml.Fragment(SpeculativeCharts.DynamicCompute(list))}{Table(list)}</div>";
    }

    public static string Table(IEnumerable<DynamicComputePoint> points)
    {
        string Head(string text, bool number = true) => $"<th style=\"{(number ? Html.NumberCellStyle : Html.CellStyle)}\">{text}</th>";
        string Cell(string html) => $"<td style=\"{Html.NumberCellStyle}\">{html}</td>";
        var rows = points.Select(p =>
            $"<tr><td style=\"{Html.CellStyle};white-space:nowrap\">{Html.Encode(p.Method)}</td>" +
            Cell(Html.Number(p.Threshold)) + Cell($"{Html.Number(Math.Round(p.MeanLayers, 2))} of {p.Layers}") +
            Cell(Format.Percent(p.ComputeShare)) + Cell(Format.Percent(p.Agreement)) +
            Cell(Html.Number(Math.Round(p.Bits, 3))) + "</tr>");
        return $"<table class=\"efml-dynamic-compute-table\" style=\"{Html.TableStyle};margin-top:4px\"><tr>" +
               Head("method", number: false) + Head("threshold") + Head("blocks per token<br>(mean)") + Head("compute<br>(% of full)") +
               Head("agrees with<br>the full model") + Head("bits per<br>token") + "</tr>" + string.Concat(rows) + "</table>";
    }
}
