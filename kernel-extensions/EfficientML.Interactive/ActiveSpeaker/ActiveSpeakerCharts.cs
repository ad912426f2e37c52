using EfficientML.ActiveSpeaker;
using EfficientML.Vision;
using Plotly.NET;
using Plotly.NET.CSharp;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// Charts of active speaker detection: a strip of frames of every face with its speaking probability as a coloured bar,
/// each face's probability over time against the truth, the band of frames a frame may attend to, and the (P, F) grid.
/// </summary>
public static class ActiveSpeakerCharts
{
    const int Gap = 4, BarRows = 10;
    const string Speaking = "rgba(26,152,80,0.22)", Truth = "#1a9850";

    /// <summary>What a face is, briefly: "speaker", or how a distractor moves its mouth (other sentences, a shifted copy of the heard ones, still).</summary>
    public static string Role(SpeakerScene scene, int face) => scene.Kinds[face] switch
    {
        null => "speaker",
        DistractorKind.OtherSpeech => "other sentences",
        DistractorKind.Shifted => "shifted copy",
        _ => "still",
    };

    /// <summary>Colour of a probability: red (0) through yellow to green (1).</summary>
    public static string ProbabilityColour(double p)
    {
        p = Math.Clamp(p, 0, 1);
        int r = p < 0.5 ? 215 : (int)(215 - (215 - 26) * (p - 0.5) * 2), g = p < 0.5 ? (int)(48 + (190 - 48) * p * 2) : (int)(190 - (190 - 152) * (p - 0.5) * 2);
        return $"rgb({r},{g},{(p < 0.5 ? 39 : 80)})";
    }

    /// <summary>Evenly spread frames of a scene, <paramref name="count"/> of them.</summary>
    public static IReadOnlyList<int> SpreadFrames(SpeakerScene scene, int count) =>
        Enumerable.Range(0, count).Select(i => (int)((i + 0.5) * scene.FrameCount / count)).ToList();

    /// <summary>
    /// The crops of every face (rows) at <paramref name="frames"/> (columns), with, under each, the speaking probability as a
    /// bar (length and colour) when <paramref name="probabilities"/> are given, and a green frame around a face that is speaking.
    /// </summary>
    public static GenericChart FrameStrip(SpeakerScene scene, IReadOnlyList<int>? frames = null, IReadOnlyList<float[]>? probabilities = null, string? title = null)
    {
        frames ??= SpreadFrames(scene, 8);
        int s = FaceRenderer.Size, faces = scene.Options.Faces, cellW = s + Gap, cellH = s + BarRows;
        var chart = Mosaic(Enumerable.Range(0, faces).Select(f => frames.Select(t => scene.Crop(f, t).ToArray()).ToList()).ToList());
        var shapes = new List<object>();
        var notes = new List<object>();
        for (int f = 0; f < faces; f++)
            for (int c = 0; c < frames.Count; c++)
            {
                double x0 = c * cellW - 0.5, y0 = f * cellH - 0.5;
                if (scene.Speaking[f][frames[c]])
                    shapes.Add(Rect(x0, y0, x0 + s, y0 + s, null, Truth, 2));
                if (probabilities is null) continue;
                double p = probabilities[f][frames[c]];
                shapes.Add(Rect(x0, y0 + s + 2, x0 + s, y0 + s + 7, "#eee", "#ccc", 0.5));
                shapes.Add(Rect(x0, y0 + s + 2, x0 + s * p, y0 + s + 7, ProbabilityColour(p), null, 0));
                notes.Add(new Dictionary<string, object>
                {
                    ["x"] = x0 + s / 2.0, ["y"] = y0 + s + 4.5, ["xref"] = "x", ["yref"] = "y", ["showarrow"] = false, ["text"] = $"{p:0.00}",
                    ["font"] = new Dictionary<string, object> { ["size"] = 9, ["color"] = "#333" },
                });
            }
        int height = 110 + faces * cellH * 2;
        chart = ChartStyle.Apply(chart, title ?? "Frames of every face" + (probabilities is null ? "" : " with the speaking probability under each") + " (green frame: speaking)", null, null, height);
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("xaxis", new Dictionary<string, object>
        {
            ["tickvals"] = Enumerable.Range(0, frames.Count).Select(c => c * cellW + s / 2.0).ToArray(),
            ["ticktext"] = frames.Select(t => $"{t / Visemes.FramesPerSecond:0.00} s").ToArray(), ["showgrid"] = false, ["zeroline"] = false, ["side"] = "top",
        });
        layout.SetProperty("yaxis", new Dictionary<string, object>
        {
            ["tickvals"] = Enumerable.Range(0, faces).Select(f => f * cellH + s / 2.0).ToArray(),
            ["ticktext"] = Enumerable.Range(0, faces).Select(f => $"face {f + 1}<br>{Role(scene, f)}").ToArray(),
            ["autorange"] = "reversed", ["scaleanchor"] = "x", ["showgrid"] = false, ["zeroline"] = false,
        });
        layout.SetProperty("margin", new Dictionary<string, object> { ["l"] = 170, ["r"] = 20, ["t"] = ChartStyle.TopMargin(title ?? "x") + 20, ["b"] = 20 });
        layout.SetProperty("shapes", shapes.ToArray());
        layout.SetProperty("annotations", notes.ToArray());
        return chart;
    }

    /// <summary>Crops side by side (e.g. one face at several mouth openings), each labelled under it.</summary>
    public static GenericChart Crops(IReadOnlyList<float[]> crops, IReadOnlyList<string>? labels = null, string? title = null)
    {
        int s = FaceRenderer.Size, cellW = s + Gap;
        if (crops.Count == 0 || crops.Any(c => c.Length != s * s)) throw new Core.InvalidSettingsException($"Give one or more crops of {s}×{s} pixels.");
        var chart = ChartStyle.Apply(Mosaic([crops]), title, null, null, 110 + (s + BarRows) * 3);
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("xaxis", new Dictionary<string, object>
        {
            ["tickvals"] = Enumerable.Range(0, crops.Count).Select(c => c * cellW + s / 2.0).ToArray(),
            ["ticktext"] = (labels ?? Enumerable.Range(1, crops.Count).Select(i => $"{i}").ToList()).ToArray(), ["showgrid"] = false, ["zeroline"] = false,
            ["tickangle"] = 0, ["ticks"] = "",
        });
        layout.SetProperty("yaxis", new Dictionary<string, object>
        {
            ["autorange"] = "reversed", ["scaleanchor"] = "x", ["showgrid"] = false, ["zeroline"] = false, ["showticklabels"] = false, ["ticks"] = "",
        });
        return chart;
    }

    /// <summary>A grayscale heat map of crops in rows (each row one list), with gaps between them and room for a bar under each.</summary>
    static GenericChart Mosaic(IReadOnlyList<IReadOnlyList<float[]>> rows)
    {
        int s = FaceRenderer.Size, cellW = s + Gap, cellH = s + BarRows, columns = rows.Max(r => r.Count);
        var z = new double[rows.Count * cellH][];
        for (int r = 0; r < z.Length; r++) z[r] = Enumerable.Repeat(1.0, columns * cellW).ToArray();
        for (int f = 0; f < rows.Count; f++)
            for (int c = 0; c < rows[f].Count; c++)
                for (int y = 0; y < s; y++)
                    for (int x = 0; x < s; x++) z[f * cellH + y][c * cellW + x] = Math.Round(Math.Clamp(rows[f][c][y * s + x], 0, 1), 2);
        var chart = Chart.Heatmap<double, int, int, string>(z, X: Enumerable.Range(0, columns * cellW).ToArray(), Y: Enumerable.Range(0, z.Length).ToArray(),
            ReverseYAxis: true, UseDefaults: false);
        foreach (var trace in GenericChart.getTraces(chart))
        {
            trace.SetProperty("colorscale", new object[] { new object[] { 0.0, "#000" }, new object[] { 1.0, "#fff" } });
            trace.SetProperty("zmin", 0);
            trace.SetProperty("zmax", 1);
            trace.SetProperty("showscale", false);
            trace.SetProperty("hoverinfo", "skip");
        }
        return chart;
    }

    static Dictionary<string, object> Rect(double x0, double y0, double x1, double y1, string? fill, string? line, double width)
    {
        var rect = new Dictionary<string, object> { ["type"] = "rect", ["xref"] = "x", ["yref"] = "y", ["x0"] = x0, ["y0"] = y0, ["x1"] = x1, ["y1"] = y1 };
        if (fill != null) rect["fillcolor"] = fill;
        rect["line"] = line == null ? new Dictionary<string, object> { ["width"] = 0 } : new Dictionary<string, object> { ["color"] = line, ["width"] = width };
        return rect;
    }

    /// <summary>
    /// Each face's speaking probability over the scene (one panel per face, the truth shaded green, 0.5 dashed), with the
    /// sentences heard marked above: said by a face on screen, or by the off-screen voice.
    /// </summary>
    public static GenericChart Curves(SpeakerRun run, string? title = null)
    {
        var scene = run.Scene;
        int faces = scene.Options.Faces, frames = scene.FrameCount;
        var times = Enumerable.Range(0, frames).Select(t => Math.Round((t + 0.5) / Visemes.FramesPerSecond, 3)).ToArray();
        var parts = new List<GenericChart>();
        for (int f = 0; f < faces; f++)
        {
            string axis = f == 0 ? "y" : $"y{f + 1}";
            var truth = Chart.Line<double, double, string>(times, scene.Speaking[f].Select(b => b ? 1.0 : 0.0).ToArray(), Name: "speaking (truth)", UseDefaults: false);
            var probability = Chart.Line<double, double, string>(times, run.Probabilities[f].Select(p => Math.Round((double)p, 3)).ToArray(),
                Name: "speaking probability", LineColor: ChartStyle.ColorAt(0), UseDefaults: false);
            foreach (var trace in GenericChart.getTraces(truth))
            {
                trace.SetProperty("yaxis", axis);
                trace.SetProperty("fill", "tozeroy");
                trace.SetProperty("fillcolor", Speaking);
                trace.SetProperty("line", new Dictionary<string, object> { ["width"] = 0, ["shape"] = "hv" });
                trace.SetProperty("hoverinfo", "skip");
                trace.SetProperty("showlegend", f == 0);
            }
            foreach (var trace in GenericChart.getTraces(probability))
            {
                trace.SetProperty("yaxis", axis);
                trace.SetProperty("showlegend", f == 0);
                trace.SetProperty("hovertemplate", $"face {f + 1} at %{{x:.2f}} s: %{{y:.2f}}<extra></extra>");
            }
            parts.Add(truth);
            parts.Add(probability);
        }
        int height = 150 + 110 * faces;
        var chart = ChartStyle.Apply(Chart.Combine(parts), title ?? $"{run.Model}: each face's speaking probability, streamed (green: speaking)", "time (s)", null, height);
        var layout = GenericChart.getLayout(chart);
        double panel = 0.9 / faces;
        for (int f = 0; f < faces; f++)
        {
            double top = 0.9 - f * panel, bottom = top - panel + 0.04;
            layout.SetProperty(f == 0 ? "yaxis" : $"yaxis{f + 1}", new Dictionary<string, object>
            {
                ["domain"] = new[] { bottom, top }, ["range"] = new[] { -0.05, 1.05 }, ["tickvals"] = new[] { 0.0, 0.5, 1.0 },
                ["title"] = new Dictionary<string, object> { ["text"] = $"face {f + 1}<br><span style=\"font-size:10px\">{Role(scene, f)}</span>" },
            });
        }
        layout.SetProperty("xaxis", new Dictionary<string, object>
        {
            ["range"] = new[] { 0.0, frames / Visemes.FramesPerSecond }, ["title"] = new Dictionary<string, object> { ["text"] = "time (s)" },
            ["anchor"] = faces == 1 ? "y" : $"y{faces}",   // under the bottom panel
        });
        layout.SetProperty("shapes", scene.Sentences.Select(s => (object)new Dictionary<string, object>
        {
            ["type"] = "rect", ["xref"] = "x", ["yref"] = "paper", ["x0"] = s.SpeechStart, ["x1"] = s.SpeechEnd, ["y0"] = 0.92, ["y1"] = 0.97,
            ["fillcolor"] = s.Face >= 0 ? Truth : "#999", ["line"] = new Dictionary<string, object> { ["width"] = 0 },
        }).ToArray());
        layout.SetProperty("annotations", scene.Sentences.Select(s => (object)new Dictionary<string, object>
        {
            ["x"] = (s.SpeechStart + s.SpeechEnd) / 2, ["y"] = 0.97, ["xref"] = "x", ["yref"] = "paper", ["yanchor"] = "bottom", ["showarrow"] = false,
            ["text"] = Html.Encode(s.Face >= 0 ? $"face {s.Face + 1}: {s.Text}" : $"off screen: {s.Text}"),
            ["font"] = new Dictionary<string, object> { ["size"] = 9, ["color"] = s.Face >= 0 ? "#1a6634" : "#777" },
        }).ToArray());
        return chart;
    }

    /// <summary>Which frames each frame may attend to with P past and F future frames: a (frames × frames) grid, lit where allowed.</summary>
    public static GenericChart Band(int frames, int past, int future, string? title = null)
    {
        using var mask = ContextBlock.BandMask(frames, past, future);
        var allowed = mask.to_type(TorchSharp.torch.ScalarType.Float32).data<float>().ToArray();
        var z = Enumerable.Range(0, frames).Select(q => Enumerable.Range(0, frames).Select(k => (double)allowed[q * frames + k]).ToArray()).ToArray();
        var chart = Chart.Heatmap<double, int, int, string>(z, X: Enumerable.Range(0, frames).ToArray(), Y: Enumerable.Range(0, frames).ToArray(), ReverseYAxis: true, UseDefaults: false);
        foreach (var trace in GenericChart.getTraces(chart))
        {
            trace.SetProperty("colorscale", new object[] { new object[] { 0.0, "#f4f4f4" }, new object[] { 1.0, "#2166ac" } });
            trace.SetProperty("showscale", false);
            trace.SetProperty("xgap", 1);
            trace.SetProperty("ygap", 1);
            trace.SetProperty("hovertemplate", "frame %{y} sees frame %{x}: %{z}<extra></extra>");
        }
        chart = ChartStyle.Apply(chart, title ?? $"P = {past}, F = {future}: frame t (row) sees frames t − {past} … t + {future} (columns)", "key frame", "attending frame", 360);
        GenericChart.getLayout(chart).SetProperty("yaxis", new Dictionary<string, object> { ["autorange"] = "reversed", ["scaleanchor"] = "x", ["title"] = new Dictionary<string, object> { ["text"] = "attending frame" } });
        return chart;
    }

    /// <summary>Mean average precision over the (P, F) grid: one line per future context against the past context (± 1 sd over seeds), the GRU dashed.</summary>
    public static GenericChart GridLines(ContextGridResult result, string? title = null)
    {
        var o = result.Options;
        var parts = o.Futures.Select((f, i) =>
        {
            var line = Chart.Line<int, double, string>(o.Pasts.ToArray(), o.Pasts.Select(p => Math.Round(100 * result.At(p, f).MeanAp, 1)).ToArray(),
                Name: $"F = {f} ({f * 40} ms late)", ShowMarkers: true, LineColor: ChartStyle.ColorAt(i), UseDefaults: false);
            if (o.Repeats > 1)
                foreach (var trace in GenericChart.getTraces(line))
                    trace.SetProperty("error_y", new Dictionary<string, object>
                    {
                        ["type"] = "data", ["visible"] = true, ["thickness"] = 1, ["width"] = 3,
                        ["array"] = o.Pasts.Select(p => Math.Round(100 * result.At(p, f).ApSpread, 1)).ToArray(),
                    });
            return line;
        }).ToList();
        if (result.Gru is { } gru)
            parts.Add(Chart.Line<int, double, string>(new[] { o.Pasts.Min(), o.Pasts.Max() }, Enumerable.Repeat(Math.Round(100 * gru.MeanAp, 1), 2).ToArray(),
                Name: "uni-directional GRU (all the past)", LineColor: Color.fromString("#333"), LineDash: StyleParam.DrawingStyle.Dash, UseDefaults: false));
        var seeds = o.Repeats > 1 ? $" (mean of {o.Repeats} seeds, bars ± 1 sd)" : "";
        return ChartStyle.Apply(Chart.Combine(parts), title ?? $"Test mAP against the past context P, one line per future context F{seeds}", "past frames P (40 ms each)", "mAP (%)");
    }

    /// <summary>Average precision over the (P, F) grid as a heat map, each cell labelled.</summary>
    public static GenericChart GridHeatMap(ContextGridResult result, string? title = null)
    {
        var o = result.Options;
        var z = o.Pasts.Select(p => o.Futures.Select(f => Math.Round(100 * result.At(p, f).MeanAp, 1)).ToArray()).ToArray();
        var chart = Chart.Heatmap<double, string, string, string>(z, X: o.Futures.Select(f => $"F {f}").ToArray(), Y: o.Pasts.Select(p => $"P {p}").ToArray(), UseDefaults: false);
        foreach (var trace in GenericChart.getTraces(chart))
        {
            trace.SetProperty("colorscale", "Viridis");
            trace.SetProperty("text", z.Select(r => r.Select(v => $"{v:0.0}").ToArray()).ToArray());
            trace.SetProperty("texttemplate", "%{text}");
            trace.SetProperty("hovertemplate", "%{y}, %{x}: mAP %{z:.1f}%<extra></extra>");
            trace.SetProperty("colorbar", new Dictionary<string, object> { ["title"] = new Dictionary<string, object> { ["text"] = "mAP %" } });
        }
        var gru = result.Gru is { } g ? $"; the GRU: {100 * g.MeanAp:0.0}" : "";
        var seeds = o.Repeats > 1 ? $", mean of {o.Repeats} seeds" : "";
        return ChartStyle.Apply(chart, title ?? $"Test mAP (%) by past (rows) and future (columns) context{seeds}{gru}", "future frames F", "past frames P", 360);
    }

    /// <summary>What each model's stream costs per frame: bytes kept between frames, and milliseconds of the temporal model.</summary>
    public static GenericChart GridCosts(ContextGridResult result, string? title = null)
    {
        var names = result.Points.Select(p => p.Config.Name).ToArray();
        var memory = Chart.Column<double, string, string>(result.Points.Select(p => Math.Round(p.StateBytes / 1024.0, 1)).ToArray(), Keys: names,
            Name: "state kept per stream (KiB)", MarkerColor: ChartStyle.ColorAt(0), UseDefaults: false);
        var time = Chart.Line<string, double, string>(names, result.Points.Select(p => Math.Round(p.TemporalMs * 1000, 0)).ToArray(),
            Name: "temporal model per frame (µs)", ShowMarkers: true, LineColor: ChartStyle.ColorAt(1), UseDefaults: false);
        foreach (var trace in GenericChart.getTraces(time)) trace.SetProperty("yaxis", "y2");
        var chart = ChartStyle.Apply(Chart.Combine([memory, time]), title ?? $"Per frame of {result.Faces} faces: memory kept (bars) and time (line)", null, "KiB kept", 400);
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("yaxis2", new Dictionary<string, object>
        {
            ["overlaying"] = "y", ["side"] = "right", ["rangemode"] = "tozero", ["title"] = new Dictionary<string, object> { ["text"] = "µs per frame" },
        });
        layout.SetProperty("margin", new Dictionary<string, object> { ["l"] = 60, ["r"] = 70, ["t"] = ChartStyle.TopMargin(title ?? "x"), ["b"] = 80 });
        return chart;
    }
}
