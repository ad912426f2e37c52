using EfficientML.Slick;
using Plotly.NET;
using Plotly.NET.CSharp;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// ROC curves of SLiCK's match scores: several curves on one chart (variants, sets), each with its equal-error point
/// marked, and the chance diagonal; and the phrase-length distribution that fixes the maximum keyword length L.
/// </summary>
public static class SlickRocCharts
{
    /// <summary>
    /// One line per named ROC (false-positive rate against true-positive rate), each with a marker at its equal error
    /// rate (where FPR = 1 − TPR) and the AUC and EER in its legend entry, over the chance diagonal and the EER line.
    /// </summary>
    public static GenericChart Curves(IEnumerable<(string Name, SlickRoc Roc)> curves, string? title = null)
    {
        var list = curves.ToList();
        if (list.Count == 0) throw new ArgumentException("Give at least one ROC curve to draw.", nameof(curves));
        var parts = new List<GenericChart>
        {
            Chart.Line<double, double, string>(new[] { 0.0, 1.0 }, new[] { 0.0, 1.0 }, Name: "chance", LineColor: Color.fromString("#bbb"),
                LineDash: StyleParam.DrawingStyle.Dot, UseDefaults: false),
            Chart.Line<double, double, string>(new[] { 0.0, 1.0 }, new[] { 1.0, 0.0 }, Name: "FPR = FNR", LineColor: Color.fromString("#ddd"),
                LineDash: StyleParam.DrawingStyle.Dash, UseDefaults: false),
        };
        for (int i = 0; i < list.Count; i++)
        {
            var (name, roc) = list[i];
            var colour = ChartStyle.ColorAt(i);
            var line = Chart.Line<double, double, string>(roc.FalsePositiveRates.Select(v => Math.Round(v, 4)).ToArray(),
                roc.TruePositiveRates.Select(v => Math.Round(v, 4)).ToArray(),
                Name: $"{name}: AUC {Format.Percent(roc.Auc)}, EER {Format.Percent(roc.Eer)}", LineColor: colour, UseDefaults: false);
            PlotParts.Traces(line, ("hovertemplate", $"{Html.Encode(name)}<br>false positives %{{x:.1%}}<br>true positives %{{y:.1%}}<extra></extra>"));
            var eer = Chart.Point<double, double, string>(new[] { Math.Round(roc.Eer, 4) }, new[] { Math.Round(1 - roc.Eer, 4) },
                Name: $"{name}: EER", MarkerColor: colour, UseDefaults: false);
            PlotParts.Traces(eer, ("showlegend", false), ("marker", new Dictionary<string, object> { ["size"] = 10, ["symbol"] = "diamond", ["color"] = ChartStyle.Palette[i % ChartStyle.Palette.Count] }),
                ("hovertemplate", $"{Html.Encode(name)}: EER {Format.Percent(roc.Eer)} at threshold {Format.Fixed(roc.EerThreshold, 3)}<extra></extra>"));
            parts.Add(line);
            parts.Add(eer);
        }
        var chart = ChartStyle.Apply(Chart.Combine(parts), title ?? "ROC: matches against non-matches (◆ equal error rate)", "false-positive rate", "true-positive rate", 460);
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("xaxis", new Dictionary<string, object> { ["range"] = new[] { -0.01, 1.01 }, ["title"] = PlotParts.Title("false-positive rate"), ["tickformat"] = ".0%" });
        layout.SetProperty("yaxis", new Dictionary<string, object> { ["range"] = new[] { -0.01, 1.01 }, ["title"] = PlotParts.Title("true-positive rate"), ["tickformat"] = ".0%" });
        return chart;
    }

    /// <summary>How many phrases have each number of phonemes, with the maximum keyword length L marked (phrases longer are dropped).</summary>
    public static GenericChart Lengths(SlickPhrases phrases, string? title = null)
    {
        var counts = phrases.LengthCounts;
        var lengths = Enumerable.Range(0, counts.Count).Where(n => counts[n] > 0).ToArray();
        var kept = Chart.Column<int, int, string>(lengths.Select(n => counts[n]).ToArray(), Keys: lengths,
            Name: "phrases", MarkerColor: ChartStyle.ColorAt(0), UseDefaults: false);
        PlotParts.Traces(kept, ("marker", new Dictionary<string, object>
        {
            ["color"] = lengths.Select(n => n <= phrases.MaxKeywordLength ? ChartStyle.Palette[0] : "#ccc").ToArray(),
        }), ("hovertemplate", "%{x} phonemes: %{y} phrases<extra></extra>"));
        var chart = ChartStyle.Apply(kept, title ?? $"Phonemes per phrase; L = {phrases.MaxKeywordLength} keeps {Format.Percent(phrases.Coverage)} of them",
            "phonemes in the phrase", "phrases");
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("shapes", new object[] { PlotlyShapes.VerticalLine(phrases.MaxKeywordLength + 0.5, "#d62728", "dash") });
        layout.SetProperty("annotations", new object[] { PlotlyShapes.Label("x", phrases.MaxKeywordLength + 0.5, "paper", 1.0, $"L = {phrases.MaxKeywordLength}") });
        layout.SetProperty("showlegend", false);
        return chart;
    }
}
