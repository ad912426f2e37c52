using EfficientML.Core;
using Plotly.NET;
using Plotly.NET.CSharp;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>One named series of points, for <see cref="SeriesChart.Lines"/>.</summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>Simple charts of plain numbers: lines against x, bars against labels.</summary>
public static class SeriesChart
{
    /// <summary>A line of <paramref name="y"/> against <paramref name="x"/> (0, 1, 2… when null).</summary>
    public static GenericChart Line(IReadOnlyList<double> y, IReadOnlyList<double>? x = null, string? name = null,
        string? title = null, string? xTitle = null, string? yTitle = null, bool markers = false)
    {
        x ??= Enumerable.Range(0, y.Count).Select(i => (double)i).ToList();
        return Lines([new Series(name ?? "", x, y)], title, xTitle, yTitle, markers);
    }

    /// <summary>Several lines on shared axes, one colour and legend entry each.</summary>
    public static GenericChart Lines(IEnumerable<Series> series, string? title = null, string? xTitle = null, string? yTitle = null, bool markers = false)
    {
        var list = series.ToList();
        if (list.Count == 0) throw new InvalidSettingsException("Give at least one series.");
        var traces = list.Select((s, i) =>
        {
            if (s.X.Count != s.Y.Count) throw new InvalidSettingsException($"Series '{s.Name}' has {s.X.Count} x values but {s.Y.Count} y values.");
            return Chart.Line<double, double, string>(s.X, s.Y, ShowMarkers: markers, Name: s.Name,
                ShowLegend: list.Count > 1, LineColor: ChartStyle.ColorAt(i), MarkerColor: ChartStyle.ColorAt(i), UseDefaults: false);
        });
        return ChartStyle.Apply(Chart.Combine(traces), title, xTitle, yTitle);
    }

    /// <summary>Vertical bars: one per label.</summary>
    public static GenericChart Bars(IReadOnlyList<string> labels, IReadOnlyList<double> values, string? name = null,
        string? title = null, string? xTitle = null, string? yTitle = null)
    {
        if (labels.Count != values.Count) throw new InvalidSettingsException($"{labels.Count} labels but {values.Count} values.");
        var chart = Chart.Column<double, string, string>(values, Keys: labels.ToList(), Name: name ?? "",
            MarkerColor: ChartStyle.ColorAt(0), UseDefaults: false);
        return ChartStyle.Apply(chart, title, xTitle, yTitle);
    }
}
