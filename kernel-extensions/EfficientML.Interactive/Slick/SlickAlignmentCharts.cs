using EfficientML.Slick;
using Plotly.NET;
using Plotly.NET.CSharp;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// Where a keyword's phonemes look in the audio: the matcher's cross-attention as a heat map (one row per keyword
/// phoneme, one column per audio encoding), and beside it the subsequence head's probability of each prefix.
/// </summary>
public static class SlickAlignmentCharts
{
    /// <summary>
    /// The heat map of <paramref name="match"/>'s attention [keyword phonemes × audio time], phoneme names on the y axis
    /// (first phoneme on top), and on the right the probability that the audio contains the keyword up to that phoneme.
    /// </summary>
    public static GenericChart Alignment(SlickMatch match, string? title = null)
    {
        int n = match.Attention.GetLength(0), frames = match.Attention.GetLength(1);
        var rows = Enumerable.Range(0, n).Select(k => $"{k + 1} · {match.Keyword.Phonemes.Select(Phonemizer.Name).ElementAt(k)}").ToArray();
        var times = Enumerable.Range(0, frames).Select(t => Math.Round((t + 0.5) * match.FrameSeconds, 3)).ToArray();
        var z = Enumerable.Range(0, n).Select(k => Enumerable.Range(0, frames).Select(t => Math.Round((double)match.Attention[k, t], 4)).ToArray()).ToArray();
        var heat = Chart.Heatmap<double, double, string, string>(z, X: times, Y: rows, Name: "attention", UseDefaults: false);
        PlotParts.Traces(heat,
            ("colorscale", AudioCharts.Viridis.Select((c, i) => new object[] { (double)i / (AudioCharts.Viridis.Count - 1), c }).ToArray()),
            ("colorbar", new Dictionary<string, object> { ["title"] = new Dictionary<string, object> { ["text"] = "attention", ["side"] = "right" }, ["x"] = 0.67, ["xanchor"] = "left", ["thickness"] = 12, ["len"] = 0.9 }),
            ("hovertemplate", "phoneme %{y} at %{x:.2f} s<br>attention %{z:.3f}<extra></extra>"));
        var prefixes = Chart.Bar<double, string, string>(match.Prefixes.Select(p => Math.Round((double)p, 4)).ToArray(), Keys: rows,
            Name: "prefix probability", MarkerColor: ChartStyle.ColorAt(1), UseDefaults: false);
        PlotParts.Traces(prefixes, ("xaxis", "x2"), ("yaxis", "y"), ("showlegend", false),
            ("marker", new Dictionary<string, object> { ["color"] = match.Prefixes.Select(p => p >= 0.5 ? "#1a9850" : "#d73027").ToArray() }),
            ("hovertemplate", "the audio holds the keyword up to %{y}: p = %{x:.2f}<extra></extra>"));
        int height = Math.Max(300, 130 + 22 * n);
        var chart = ChartStyle.Apply(Chart.Combine([heat, prefixes]),
            title ?? $"\"{match.Keyword.Text}\" /{match.Keyword.PhonemeNames}/ against the audio: match {Format.Percent(match.Score)}",
            null, null, height);
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("xaxis", new Dictionary<string, object> { ["domain"] = new[] { 0.0, 0.64 }, ["title"] = PlotParts.Title("time in the window (s)") });
        layout.SetProperty("xaxis2", new Dictionary<string, object> { ["domain"] = new[] { 0.8, 1.0 }, ["range"] = new[] { 0.0, 1.0 }, ["anchor"] = "y",
            ["title"] = PlotParts.Title("prefix in the audio? (p)") });
        layout.SetProperty("yaxis", new Dictionary<string, object> { ["autorange"] = "reversed", ["type"] = "category", ["title"] = PlotParts.Title("keyword phoneme") });
        layout.SetProperty("showlegend", false);
        layout.SetProperty("shapes", new object[] { PlotlyShapes.VerticalLine(0.5, "#999", "dot", 1, "x2") });
        return chart;
    }
}
