using EfficientML.Core;
using EfficientML.Slick;
using Plotly.NET;
using Plotly.NET.CSharp;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>Match scores as charts: their distribution per kind of pair, and scores side by side (keywords × clips).</summary>
public static class SlickScoreCharts
{
    /// <summary>Overlaid histograms (20 bins over 0…1) of the scores of positives, easy negatives and hard negatives.</summary>
    public static GenericChart Distribution(SlickScores scores, string? title = null)
    {
        var parts = new List<GenericChart>();
        int colour = 0;
        foreach (var kind in Enum.GetValues<SlickPairKind>())
        {
            var these = scores.Of(kind);
            int index = colour++;
            if (these.Length == 0) continue;
            var bins = Enumerable.Range(0, 20).Select(b => these.Count(s => Math.Min(19, (int)(s * 20)) == b)).ToArray();
            var bars = Chart.Column<int, double, string>(bins, Keys: Enumerable.Range(0, 20).Select(b => (b + 0.5) / 20).ToArray(),
                Name: SlickHtml.KindName(kind), MarkerColor: Color.fromString(new[] { "#1a9850", "#4575b4", "#d73027" }[index]), UseDefaults: false);
            PlotParts.Traces(bars, ("opacity", 0.6), ("width", 0.05), ("hovertemplate", $"{SlickHtml.KindName(kind)}<br>score %{{x:.2f}}: %{{y}} pairs<extra></extra>"));
            parts.Add(bars);
        }
        var chart = ChartStyle.Apply(Chart.Combine(parts), title ?? "Match scores by kind of pair", "match score", "pairs");
        GenericChart.getLayout(chart).SetProperty("barmode", "overlay");
        PlotParts.Axis(chart, "xaxis", ("range", new[] { 0.0, 1.0 }));
        return chart;
    }

    /// <summary>Grouped columns: for each label on the x axis, one column per named group (e.g. a keyword's score on clips said by several voices).</summary>
    public static GenericChart Grouped(IReadOnlyList<string> labels, IEnumerable<(string Name, IReadOnlyList<double> Values)> groups,
        string? title = null, string? xTitle = null, string? yTitle = "match score")
    {
        var parts = groups.Select((g, i) =>
        {
            if (g.Values.Count != labels.Count) throw new InvalidSettingsException($"Group '{g.Name}' has {g.Values.Count} values for {labels.Count} labels.");
            return Chart.Column<double, string, string>(g.Values.Select(v => Math.Round(v, 4)).ToArray(), Keys: labels.ToArray(), Name: g.Name,
                MarkerColor: ChartStyle.ColorAt(i), UseDefaults: false);
        }).ToList();
        if (parts.Count == 0) throw new InvalidSettingsException("Give at least one group of values.");
        var chart = ChartStyle.Apply(Chart.Combine(parts), title, xTitle, yTitle);
        GenericChart.getLayout(chart).SetProperty("barmode", "group");
        return chart;
    }
}
