using EfficientML.Prefill;
using Plotly.NET;
using Plotly.NET.CSharp;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// Charts of parallel prefill, all from <see cref="PrefillSummary"/> values (so threads and MPI processes draw alike): the
/// timeline of each worker, the partition search's candidates, and time to first token per method.
/// </summary>
public static class PrefillCharts
{
    /// <summary>Colour of each activity on a timeline.</summary>
    public static IReadOnlyDictionary<Activity, string> ActivityColours { get; } = new Dictionary<Activity, string>
    {
        [Activity.Compute] = "#1f77b4", [Activity.Wait] = "#c7c7c7", [Activity.Send] = "#ff7f0e",
    };

    /// <summary>The name of a method as charts and tables show it.</summary>
    public static string MethodName(PrefillMethod method) => method switch
    {
        PrefillMethod.Single => "single",
        PrefillMethod.AllGather => "all-gather",
        _ => "KV-Runahead",
    };

    /// <summary>Row label of worker <paramref name="worker"/> with its chunk.</summary>
    static string WorkerLabel(PrefillSummary s, int worker) =>
        worker < s.Chunks.Length ? $"worker {worker} ({s.Chunks[worker]} tok)" : $"worker {worker}";

    /// <summary>
    /// Gantt chart of <paramref name="summary"/>'s timeline: one row per worker (worker 0 on top), one bar per event, coloured by
    /// activity (compute, wait, send); the hover names the layer, start, end and duration (and bytes of a send).
    /// </summary>
    public static GenericChart Timeline(PrefillSummary summary, string? title = null)
    {
        var parts = new List<GenericChart>();
        foreach (var activity in Enum.GetValues<Activity>())
        {
            var events = summary.Timeline.Where(e => e.Activity == activity).OrderBy(e => e.Worker).ThenBy(e => e.Start).ToList();
            if (events.Count == 0) continue;
            var bars = Chart.Bar<double, string, string>(events.Select(e => Math.Round(Math.Max(e.Seconds, 0) * 1000, 4)).ToArray(),
                Keys: events.Select(e => WorkerLabel(summary, e.Worker)).ToArray(), Name: activity.ToString().ToLowerInvariant(),
                MarkerColor: Color.fromString(ActivityColours[activity]), UseDefaults: false);
            foreach (var trace in GenericChart.getTraces(bars))
            {
                trace.SetProperty("base", events.Select(e => Math.Round(e.Start * 1000, 4)).ToArray());
                trace.SetProperty("customdata", events.Select(e =>
                    $"{activity.ToString().ToLowerInvariant()} · {(e.Layer < 0 ? "embeddings / head" : $"layer {e.Layer}")}: " +
                    $"{Format.Fixed(e.Start * 1000, 3)}–{Format.Fixed(e.End * 1000, 3)} ms ({Format.Milliseconds(e.Seconds * 1000)})" +
                    (e.Bytes > 0 ? $", {Format.Bytes(e.Bytes)}" : "")).ToArray());
                trace.SetProperty("hovertemplate", "%{y}<br>%{customdata}<extra></extra>");
            }
            parts.Add(bars);
        }
        if (parts.Count == 0) parts.Add(Chart.Bar<double, string, string>(Array.Empty<double>(), Keys: Array.Empty<string>(), UseDefaults: false));
        int height = 190 + 34 * summary.Workers;
        var heading = title ?? $"{MethodName(summary.Method)} ({summary.Transport}, {summary.Workers} worker{(summary.Workers == 1 ? "" : "s")}, {summary.PromptLength} tokens): " +
                      $"first token after {Format.Milliseconds(summary.TimeToFirstToken * 1000)}";
        var chart = ChartStyle.Apply(Chart.Combine(parts), heading, "time since the workers started (ms)", null, height);
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("barmode", "overlay");
        layout.SetProperty("showlegend", true);
        layout.SetProperty("margin", new Dictionary<string, object> { ["l"] = 130, ["r"] = 20, ["t"] = ChartStyle.TopMargin(heading), ["b"] = 80 });   // room for "worker 12 (1024 tok)"
        layout.SetProperty("bargap", 0.25);
        layout.SetProperty("yaxis", new Dictionary<string, object>
        {
            ["type"] = "category", ["autorange"] = "reversed",
            ["categoryorder"] = "array", ["categoryarray"] = Enumerable.Range(0, summary.Workers).Select(w => WorkerLabel(summary, w)).ToArray(),
        });
        layout.SetProperty("shapes", new object[]
        {
            new Dictionary<string, object>
            {
                ["type"] = "line", ["xref"] = "x", ["yref"] = "paper", ["x0"] = summary.TimeToFirstToken * 1000, ["x1"] = summary.TimeToFirstToken * 1000,
                ["y0"] = 0, ["y1"] = 1, ["line"] = new Dictionary<string, object> { ["color"] = "#d62728", ["width"] = 1, ["dash"] = "dot" },
            },
        });
        return chart;
    }

    /// <summary>
    /// Time to first token per method: columns when every summary has the same prompt length (a race), else one line per
    /// method (and transport) against the prompt length.
    /// </summary>
    public static GenericChart TimeToFirstToken(IEnumerable<PrefillSummary> summaries, string? title = null)
    {
        var all = summaries.ToList();
        var lengths = all.Select(s => s.PromptLength).Distinct().ToList();
        if (lengths.Count <= 1)
        {
            var columns = all.Select((s, i) => Chart.Column<double, string, string>(new[] { Math.Round(s.TimeToFirstToken * 1000, 3) },
                Keys: new[] { $"{MethodName(s.Method)} ({s.Workers})" }, Name: MethodName(s.Method), MarkerColor: MethodColour(s.Method), UseDefaults: false)).ToList();
            foreach (var (column, s) in columns.Zip(all))
                foreach (var trace in GenericChart.getTraces(column))
                {
                    trace.SetProperty("text", new[] { Format.Milliseconds(s.TimeToFirstToken * 1000) });
                    trace.SetProperty("textposition", "outside");
                    trace.SetProperty("cliponaxis", false);               // the label above the tallest column stays whole
                    trace.SetProperty("hovertemplate", $"{MethodName(s.Method)}, {s.Transport}, chunks [{string.Join(", ", s.Chunks)}]<br>TTFT %{{y:.3f}} ms<extra></extra>");
                }
            var chart = ChartStyle.Apply(Chart.Combine(columns.Count > 0 ? columns : [Chart.Column<double, string, string>(Array.Empty<double>(), Keys: Array.Empty<string>(), UseDefaults: false)]),
                title ?? $"Time to first token, {(lengths.Count == 1 ? $"{lengths[0]}-token prompt" : "no runs")}", "method (workers)", "TTFT (ms)");
            GenericChart.getLayout(chart).SetProperty("showlegend", false);
            return chart;
        }
        var lines = all.GroupBy(s => (s.Method, s.Transport)).Select(g =>
        {
            var points = g.GroupBy(s => s.PromptLength).OrderBy(p => p.Key)
                .Select(p => (Length: p.Key, Ms: Median(p.Select(s => s.TimeToFirstToken * 1000).ToList()))).ToList();
            var line = Chart.Line<int, double, string>(points.Select(p => p.Length).ToArray(), points.Select(p => Math.Round(p.Ms, 3)).ToArray(),
                Name: $"{MethodName(g.Key.Method)} ({g.Key.Transport})", ShowMarkers: true, LineColor: MethodColour(g.Key.Method), UseDefaults: false);
            foreach (var trace in GenericChart.getTraces(line))
                trace.SetProperty("hovertemplate", $"{MethodName(g.Key.Method)}: %{{x}} tokens, TTFT %{{y:.3f}} ms<extra></extra>");
            return line;
        }).ToList();
        return ChartStyle.Apply(Chart.Combine(lines), title ?? "Time to first token against prompt length (median over rounds)", "prompt tokens", "TTFT (ms)");
    }

    /// <summary>
    /// The partition search: every candidate's measured TTFT (dots) and the cost model's prediction (rings) against the first
    /// worker's share of the prompt, with the best found (star) and even chunks (diamond) marked; hover shows the chunks.
    /// </summary>
    public static GenericChart Partition(PartitionSearchResult search, string? title = null)
    {
        double Share(PartitionCandidate c) => Math.Round(c.Chunks[0] / (double)search.Length, 4);
        string Label(PartitionCandidate c) => $"[{string.Join(", ", c.Chunks)}] (level {c.Level})";
        var tried = search.Tried.OrderBy(Share).ToList();
        GenericChart Points(IReadOnlyList<PartitionCandidate> candidates, Func<PartitionCandidate, double> ms, string name, string colour, string symbol, int size)
        {
            var chart = Chart.Point<double, double, string>(candidates.Select(Share).ToArray(), candidates.Select(c => Math.Round(ms(c), 4)).ToArray(),
                Name: name, UseDefaults: false);
            foreach (var trace in GenericChart.getTraces(chart))
            {
                trace.SetProperty("marker", new Dictionary<string, object>
                {
                    ["color"] = colour, ["symbol"] = symbol, ["size"] = size,
                    ["line"] = new Dictionary<string, object> { ["color"] = colour, ["width"] = symbol.EndsWith("open") ? 2 : 0 },
                });
                trace.SetProperty("customdata", candidates.Select(Label).ToArray());
                trace.SetProperty("hovertemplate", $"{name}: %{{customdata}}<br>first worker's share %{{x:.3f}}<br>%{{y:.3f}} ms<extra></extra>");
            }
            return chart;
        }
        var measured = tried.Where(c => c.Measured.HasValue).ToList();
        var parts = new List<GenericChart>
        {
            Points(tried, c => c.Predicted * 1000, "predicted (cost model)", "#9467bd", "circle-open", 9),
            Points(measured, c => c.Measured!.Value * 1000, "measured", ChartStyle.Palette[0], "circle", 8),
            Points([search.Even], c => (c.Measured ?? c.Predicted) * 1000, "even chunks", "#7f7f7f", "diamond", 14),
            Points([search.Best], c => (c.Measured ?? c.Predicted) * 1000, "best", "#d62728", "star", 18),
        };
        double gain = search.Even.Measured is { } e && search.Best.Measured is { } b && e > 0 ? 1 - b / e : double.NaN;
        return ChartStyle.Apply(Chart.Combine(parts),
            title ?? $"Partition search, {search.Workers} workers, {search.Length} tokens: best [{string.Join(", ", search.Best.Chunks)}]" +
                     (double.IsFinite(gain) ? $", {Format.Percent(gain)} faster than even" : ""),
            "first worker's share of the prompt", "time to first token (ms)");
    }

    static Color MethodColour(PrefillMethod method) => ChartStyle.ColorAt(method switch { PrefillMethod.Single => 7, PrefillMethod.AllGather => 1, _ => 0 });

    static double Median(List<double> values)
    {
        values.Sort();
        return values.Count == 0 ? double.NaN : values.Count % 2 == 1 ? values[values.Count / 2] : (values[values.Count / 2 - 1] + values[values.Count / 2]) / 2;
    }
}
