using EfficientML.Audio;
using EfficientML.Slick;
using Plotly.NET;
using Plotly.NET.CSharp;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>A scan of a long recording: each enrolled keyword's score over time, the threshold, the detections and the times the keyword was really said.</summary>
public static class SlickScanCharts
{
    const string Hit = "#1a9850", Miss = "#d73027", SaidFill = "rgba(26,152,80,0.15)";

    /// <summary>
    /// One line per keyword (the score of the window centred at each time), the threshold, a marker per detection (green
    /// when it falls on a time the keyword was said, red otherwise) and, from <paramref name="said"/>, shaded bands where
    /// an enrolled keyword was really said (other phrases labelled in grey).
    /// </summary>
    public static GenericChart Scan(SlickScan scan, IReadOnlyList<KeywordEvent>? said = null, double threshold = 0.5, double tolerance = 0.5, string? title = null)
    {
        int windows = scan.Scores.GetLength(0);
        var times = Enumerable.Range(0, windows).Select(w => Math.Round(w * scan.HopSeconds + scan.WindowSeconds / 2, 3)).ToArray();
        var parts = new List<GenericChart>();
        for (int k = 0; k < scan.Keywords.Count; k++)
        {
            var line = Chart.Line<double, double, string>(times, Enumerable.Range(0, windows).Select(w => Math.Round((double)scan.Scores[w, k], 4)).ToArray(),
                Name: $"\"{scan.Keywords[k].Text}\"", LineColor: ChartStyle.ColorAt(k), UseDefaults: false);
            PlotParts.Traces(line, ("hovertemplate", $"\"{Html.Encode(scan.Keywords[k].Text)}\"<br>window centred at %{{x:.2f}} s: %{{y:.2f}}<extra></extra>"));
            parts.Add(line);
        }
        parts.Add(Chart.Line<double, double, string>(new[] { 0.0, scan.Seconds }, new[] { threshold, threshold }, Name: "threshold",
            LineColor: Color.fromString("#999"), LineDash: StyleParam.DrawingStyle.Dash, UseDefaults: false));
        var keywordTexts = scan.Keywords.Select(k => k.Text).ToHashSet(StringComparer.Ordinal);
        var events = (said ?? []).Select(e => (Event: e, Keyword: keywordTexts.Contains(Phonemizer.Normalise(e.Word)))).ToList();
        if (scan.Detections.Count > 0)
        {
            var hits = scan.Detections.Select(d => events.Any(e => e.Keyword && Phonemizer.Normalise(e.Event.Word) == d.Text
                && d.Seconds >= e.Event.Start - tolerance && d.Seconds <= e.Event.End + tolerance)).ToArray();
            var markers = Chart.Point<double, double, string>(scan.Detections.Select(d => d.Seconds).ToArray(), scan.Detections.Select(d => d.Score).ToArray(),
                Name: "detections", UseDefaults: false);
            PlotParts.Traces(markers, ("mode", "markers"), ("showlegend", false),
                ("marker", new Dictionary<string, object> { ["size"] = 11, ["symbol"] = "triangle-down", ["color"] = said is null ? scan.Detections.Select(_ => "#333").ToArray() : hits.Select(h => h ? Hit : Miss).ToArray() }),
                ("customdata", scan.Detections.Select((d, i) => $"{(said is null ? "detection" : hits[i] ? "hit" : "false alarm")}: \"{Html.Encode(d.Text)}\" at {d.Seconds:0.00} s").ToArray()),
                ("hovertemplate", "%{customdata}<br>score %{y:.2f}<extra></extra>"));
            parts.Add(markers);
        }
        var chart = ChartStyle.Apply(Chart.Combine(parts),
            title ?? $"Scanning {Format.Fixed(scan.Seconds, 0)} s in {Format.Fixed(scan.WindowSeconds, 1)}-s windows every {Format.Fixed(scan.HopSeconds * 1000, 0)} ms" +
                     (scan.Score is { } s ? $": {s}" : ""),
            "time (s)", "match score", 400);
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("xaxis", new Dictionary<string, object> { ["range"] = new[] { 0.0, scan.Seconds }, ["title"] = PlotParts.Title("time (s)") });
        layout.SetProperty("yaxis", new Dictionary<string, object> { ["range"] = new[] { 0.0, 1.12 }, ["title"] = PlotParts.Title("match score") });
        layout.SetProperty("shapes", events.Where(e => e.Keyword).Select(e => (object)new Dictionary<string, object>
        {
            ["type"] = "rect", ["xref"] = "x", ["yref"] = "paper", ["x0"] = e.Event.Start, ["x1"] = e.Event.End, ["y0"] = 0, ["y1"] = 1,
            ["fillcolor"] = SaidFill, ["line"] = new Dictionary<string, object> { ["width"] = 0 },
        }).ToArray());
        layout.SetProperty("annotations", events.Select(e => (object)PlotlyShapes.Label("x", (e.Event.Start + e.Event.End) / 2, "paper", 1.0,
            e.Keyword ? $"<b>{Html.Encode(e.Event.Word)}</b>" : Html.Encode(e.Event.Word), "center", "bottom", e.Keyword ? Hit : "#aaa", 9)).ToArray());
        return chart;
    }
}
