using EfficientML.GatedConformer;
using Plotly.NET;
using Plotly.NET.CSharp;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// Charts of dynamic-depth keyword spotting: the gate raster (which modules ran, gate block by gate block) under the
/// recording's spectrogram, with the words really said and the detections, and the keyword probability below; and the
/// share of modules skipped per module kind.
/// </summary>
public static class GatedCharts
{
    const string Ran = "#fdb863", Skipped = "#1d1d35", SaidFill = "rgba(255,255,255,0.18)", Hit = "#1a9850", Miss = "#d73027";

    /// <summary>Row names of the raster, block by block: "block 1 · FF ½ in" …</summary>
    public static IReadOnlyList<string> ModuleNames(int blocks) =>
        Enumerable.Range(0, blocks).SelectMany(b => new[] { "FF ½ in", "attention", "convolution", "FF ½ out" }.Select(m => $"block {b + 1} · {m}")).ToList();

    /// <summary>
    /// The gate raster of <paramref name="run"/>: top, the log-mel spectrogram with the words said (white bands, the
    /// word above) and the detections (green: hit, red: false alarm); middle, one row per gated module, lit where it ran;
    /// bottom, the highest keyword probability per step with the detector's threshold. One time axis for all three.
    /// </summary>
    public static GenericChart Raster(GateRun run, double threshold = 0.5, string? title = null)
    {
        var output = run.Output;
        int modules = output.Ran.GetLength(0), blocks = output.Ran.GetLength(1), steps = output.Steps;
        double blockSeconds = blocks == 0 ? 0 : steps * output.StepSeconds / blocks, seconds = run.Seconds;
        var parts = new List<GenericChart>();

        var logMel = AudioHtml.LogMelOf(run.Samples, run.SampleRate);
        int mels = logMel?.GetLength(0) ?? 0;
        if (logMel is not null)
        {
            int frames = logMel.GetLength(1), every = Math.Max(1, frames / 1500);      // at most ~1,500 columns
            var times = Enumerable.Range(0, frames / every).Select(f => Math.Round((f * every + 0.5) * 0.01, 3)).ToArray();
            var z = Enumerable.Range(0, mels).Select(b => times.Select((_, f) => Math.Round((double)logMel[b, f * every], 2)).ToArray()).ToArray();
            var spectrogram = Chart.Heatmap<double, double, int, string>(z, X: times, Y: Enumerable.Range(0, mels).ToArray(), Name: "log-mel", UseDefaults: false);
            foreach (var trace in GenericChart.getTraces(spectrogram))
            {
                trace.SetProperty("yaxis", "y3");
                trace.SetProperty("colorscale", AudioCharts.Viridis.Select((c, i) => new object[] { (double)i / (AudioCharts.Viridis.Count - 1), c }).ToArray());
                trace.SetProperty("showscale", false);
                trace.SetProperty("hovertemplate", "%{x:.2f} s, mel band %{y}<br>log energy %{z:.2f}<extra></extra>");
            }
            parts.Add(spectrogram);
        }

        var names = ModuleNames(modules / 4);
        var raster = Enumerable.Range(0, modules).Select(m => Enumerable.Range(0, blocks).Select(j => output.Ran[m, j] ? 1.0 : 0.0).ToArray()).ToArray();
        var blockTimes = Enumerable.Range(0, blocks).Select(j => Math.Round((j + 0.5) * blockSeconds, 3)).ToArray();
        var rasterChart = Chart.Heatmap<double, double, int, string>(raster, X: blockTimes, Y: Enumerable.Range(0, modules).ToArray(), Name: "modules", UseDefaults: false);
        foreach (var trace in GenericChart.getTraces(rasterChart))
        {
            trace.SetProperty("yaxis", "y2");
            trace.SetProperty("zmin", 0);
            trace.SetProperty("zmax", 1);
            trace.SetProperty("colorscale", new object[] { new object[] { 0.0, Skipped }, new object[] { 0.5, Skipped }, new object[] { 0.5, Ran }, new object[] { 1.0, Ran } });
            trace.SetProperty("showscale", false);
            trace.SetProperty("xgap", blocks > 300 ? 0 : 1);
            trace.SetProperty("ygap", 1);
            trace.SetProperty("customdata", Enumerable.Range(0, modules).Select(m => Enumerable.Range(0, blocks).Select(_ => names[m]).ToArray()).ToArray());
            trace.SetProperty("hovertemplate", "%{customdata} at %{x:.2f} s<br>ran (1) or skipped (0): %{z}<extra></extra>");
        }
        parts.Add(rasterChart);

        var stepTimes = Enumerable.Range(0, steps).Select(t => Math.Round((t + 0.5) * output.StepSeconds, 3)).ToArray();
        var best = Enumerable.Range(0, steps).Select(t => Math.Round(Enumerable.Range(0, output.Posteriors.GetLength(1) - 1).Max(k => (double)output.Posteriors[t, k]), 3)).ToArray();
        var probability = Chart.Line<double, double, string>(stepTimes, best, Name: "highest keyword probability", LineColor: ChartStyle.ColorAt(0), UseDefaults: false);
        var thresholdLine = Chart.Line<double, double, string>(new[] { 0.0, seconds }, new[] { threshold, threshold }, Name: "threshold",
            LineColor: Color.fromString("#999"), LineDash: StyleParam.DrawingStyle.Dash, UseDefaults: false);
        foreach (var trace in GenericChart.getTraces(probability).Concat(GenericChart.getTraces(thresholdLine)))
        {
            trace.SetProperty("yaxis", "y");
            trace.SetProperty("showlegend", false);
        }
        parts.Add(probability);
        parts.Add(thresholdLine);

        if (run.Detections.Count > 0)
        {
            var hits = run.Hits;
            var markers = Chart.Point<double, double, string>(run.Detections.Select(d => d.Seconds).ToArray(),
                run.Detections.Select(d => Math.Min(1.0, d.Score)).ToArray(), Name: "detections", UseDefaults: false);
            foreach (var trace in GenericChart.getTraces(markers))
            {
                trace.SetProperty("yaxis", "y");
                trace.SetProperty("mode", "markers+text");
                trace.SetProperty("text", run.Detections.Select(d => d.Word).ToArray());
                trace.SetProperty("textposition", "top center");
                trace.SetProperty("marker", new Dictionary<string, object> { ["size"] = 8, ["color"] = hits.Select(h => h ? Hit : Miss).ToArray() });
                trace.SetProperty("customdata", run.Detections.Select((d, i) =>
                    $"{(hits[i] ? "hit" : "false alarm")}: '{d.Word}' at {d.Seconds:0.00} s, placed {d.Start:0.00}–{d.End:0.00} s").ToArray());
                trace.SetProperty("hovertemplate", "%{customdata}<br>probability %{y:.2f}<extra></extra>");
                trace.SetProperty("showlegend", false);
            }
            parts.Add(markers);
        }

        int height = 120 + (mels > 0 ? 170 : 0) + Math.Max(120, 9 * modules) + 110;
        var chart = ChartStyle.Apply(Chart.Combine(parts), title ?? $"{run.Model}: which modules ran ({run.Kind.ToString().ToLowerInvariant()}, {run.Seconds:0} s, skipped {run.Output.SkippedShare * 100:0}%)",
            "time (s)", null, height);
        var layout = GenericChart.getLayout(chart);
        double rasterShare = Math.Max(120, 9 * modules) / (double)(height - 120);
        double probTop = 90.0 / (height - 120), rasterTop = Math.Min(0.95, probTop + 0.04 + rasterShare);
        layout.SetProperty("yaxis", new Dictionary<string, object> { ["domain"] = new[] { 0.0, probTop }, ["range"] = new[] { 0.0, 1.15 }, ["title"] = new Dictionary<string, object> { ["text"] = "keyword p" } });
        layout.SetProperty("yaxis2", new Dictionary<string, object>
        {
            ["domain"] = new[] { probTop + 0.04, rasterTop }, ["tickvals"] = Enumerable.Range(0, modules).Where(m => m % 4 == 1).ToArray(),
            ["ticktext"] = Enumerable.Range(0, modules).Where(m => m % 4 == 1).Select(m => $"block {m / 4 + 1}").ToArray(), ["showgrid"] = false,
        });
        if (mels > 0)
            layout.SetProperty("yaxis3", new Dictionary<string, object> { ["domain"] = new[] { rasterTop + 0.03, 1.0 }, ["title"] = new Dictionary<string, object> { ["text"] = "mel band" }, ["showgrid"] = false });
        layout.SetProperty("xaxis", new Dictionary<string, object> { ["range"] = new[] { 0.0, seconds }, ["title"] = new Dictionary<string, object> { ["text"] = "time (s)" } });
        layout.SetProperty("showlegend", false);
        layout.SetProperty("shapes", run.Events.Where(e => e.Label >= 0).Select(e => (object)new Dictionary<string, object>
        {
            ["type"] = "rect", ["xref"] = "x", ["yref"] = "paper", ["x0"] = e.Start, ["x1"] = e.End, ["y0"] = rasterTop + 0.03, ["y1"] = 1.0,
            ["fillcolor"] = SaidFill, ["line"] = new Dictionary<string, object> { ["width"] = 1, ["color"] = e.Label < run.Labels.Count - 1 ? "#fff" : "#bbb" },
        }).ToArray());
        layout.SetProperty("annotations", run.Events.Where(e => e.Label >= 0).Select(e => (object)new Dictionary<string, object>
        {
            ["x"] = (e.Start + e.End) / 2, ["y"] = 1.0, ["xref"] = "x", ["yref"] = "paper", ["yanchor"] = "bottom", ["showarrow"] = false,
            ["text"] = e.Label < run.Labels.Count - 1 ? $"<b>{Html.Encode(e.Word)}</b>" : Html.Encode(e.Word),
            ["font"] = new Dictionary<string, object> { ["size"] = 10, ["color"] = e.Label < run.Labels.Count - 1 ? "#333" : "#999" },
        }).ToArray());
        return chart;
    }

    /// <summary>Share of modules the gated model skipped per module kind, on noise-only and on speech recordings.</summary>
    public static GenericChart SkippedByKind(SpotterEvaluation gated, string? title = null)
    {
        var kinds = Enum.GetValues<ConformerModuleKind>();
        var labels = new[] { "FF ½ in", "attention", "convolution", "FF ½ out" };
        var noise = Chart.Column<double, string, string>(kinds.Select(k => Math.Round(100 * gated.SkippedOnNoiseByKind[k], 1)).ToArray(), Keys: labels,
            Name: "noise only", MarkerColor: Color.fromString(Skipped), UseDefaults: false);
        var speech = Chart.Column<double, string, string>(kinds.Select(k => Math.Round(100 * gated.SkippedOnSpeechByKind[k], 1)).ToArray(), Keys: labels,
            Name: "speech in noise", MarkerColor: Color.fromString(Ran), UseDefaults: false);
        return ChartStyle.Apply(Chart.Combine([noise, speech]), title ?? $"{gated.Name}: modules skipped, by kind", "module", "skipped (%)");
    }
}
