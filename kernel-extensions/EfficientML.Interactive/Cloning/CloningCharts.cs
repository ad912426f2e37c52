using EfficientML.Core;
using System.Globalization;
using EfficientML.Cloning;
using EfficientML.Models;
using Plotly.NET;
using Plotly.NET.CSharp;
using static TorchSharp.torch;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// Charts of HyperCloning, subcloning and training races: tiled weights, the function check, which residual
/// dimensions and blocks subcloning keeps, and two runs timed to the same loss.
/// </summary>
public static class CloningCharts
{
    /// <summary>The float32 tolerance HyperCloning promises for the logits (see <see cref="CloneReport.PreservesFunction"/>).</summary>
    public const double FunctionTolerance = 1e-4;

    const string Grey = "#9e9e9e";
    const string Good = "#2ca02c";
    const string Bad = "#d62728";

    /// <summary>
    /// Two heat maps side by side (HTML): <paramref name="parameterName"/> of the source and of the grown model, where
    /// the n × n tiling shows (each map has its own colour scale; the grown copies are divided by n along widened inputs).
    /// </summary>
    public static string WeightTiling(TinyGpt source, TinyGpt grown, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(grown);
        var before = source.Parameter(parameterName);
        var after = grown.Parameter(parameterName);
        int n = Math.Max(1, grown.Config.Dim / Math.Max(1, source.Config.Dim));
        var (xTitle, yTitle) = AxisTitles(parameterName, before.dim());
        // The grown map gets n times the source's cells per axis, so each tile is averaged exactly like the source
        // (the bins line up) and the copies look alike cell for cell.
        int sourceSide = Math.Max(8, HeatMap.DefaultMaxSide / n);
        GenericChart Map(Tensor weight, string title, int maxSide)
        {
            using var scope = NewDisposeScope();
            var matrix = weight.dim() == 1 ? weight.detach().unsqueeze(0) : weight;   // a norm or bias as one row
            return HeatMap.Of(matrix, title, maxSide)
                .WithXAxisStyle<double, double, string>(TitleText: xTitle)
                .WithYAxisStyle<double, double, string>(TitleText: yTitle);
        }
        var left = Map(before, "source", sourceSide);
        var right = Map(after, $"grown ×{n}", sourceSide * n);
        GenericChart.getLayout(right).SetProperty("shapes", TileBoundaries(before.shape, after.shape, sourceSide).ToArray());
        // Each half has its width before plotly measures it (a chart is drawn as soon as its script runs, before its neighbour exists).
        const string cell = "width:calc(50% - 6px);min-width:320px;flex:0 1 auto";
        return "<div class=\"efml-weight-tiling\">" +
               "<div style=\"font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px\">" +
               $"<b><code>{System.Net.WebUtility.HtmlEncode(parameterName)}</code></b> before and after HyperCloning ×{n}</div>" +
               "<div style=\"display:flex;flex-wrap:wrap;gap:12px\">" +
               $"<div style=\"{cell}\">{ChartHtml.Fragment(left)}</div><div style=\"{cell}\">{ChartHtml.Fragment(right)}</div></div>" +
               "<div style=\"font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;color:#555\">" +
               $"The grown weight is the source repeated {n} × {n} (dashed lines; divided by {n} where the input side was widened); " +
               "each map has its own colour scale, centred on zero.</div>" +
               "</div>";
    }

    /// <summary>Dashed lines between the copies in the grown map, in its axis units (source indices of the bins).</summary>
    static IEnumerable<object> TileBoundaries(long[] sourceShape, long[] grownShape, int sourceSide)
    {
        var line = new Dictionary<string, object> { ["color"] = "#333", ["width"] = 1, ["dash"] = "dash" };
        var (srcRows, srcCols) = sourceShape.Length == 1 ? (1L, sourceShape[0]) : (sourceShape[0], sourceShape[1]);
        var (rows, cols) = grownShape.Length == 1 ? (1L, grownShape[0]) : (grownShape[0], grownShape[1]);
        double colBin = srcCols / (double)Math.Min(srcCols, sourceSide), rowBin = srcRows / (double)Math.Min(srcRows, sourceSide);
        for (long c = srcCols; c < cols; c += srcCols)
            yield return new Dictionary<string, object> { ["type"] = "line", ["xref"] = "x", ["x0"] = c - colBin / 2, ["x1"] = c - colBin / 2, ["yref"] = "paper", ["y0"] = 0, ["y1"] = 1, ["line"] = line };
        for (long r = srcRows; r < rows; r += srcRows)
            yield return new Dictionary<string, object> { ["type"] = "line", ["xref"] = "paper", ["x0"] = 0, ["x1"] = 1, ["yref"] = "y", ["y0"] = r - rowBin / 2, ["y1"] = r - rowBin / 2, ["line"] = line };
    }

    /// <summary>
    /// HyperCloning's check, layer by layer: max |Δ| between the grown model's residual stream and n copies of the source's
    /// (embeddings, after each block) and between the logits, as bars on a log axis, with the 1e-4 tolerance line.
    /// Exact zeros are drawn at a floor and labelled 0.
    /// </summary>
    public static GenericChart FunctionCheck(CloneReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var labels = report.Layers.Select(l => l.Layer == 0 ? "embeddings" : $"block {l.Layer - 1}").Append("logits").ToList();
        var values = report.Layers.Select(l => l.MaxAbsDifference).Append(report.MaxLogitDifference).ToList();
        double smallest = values.Where(v => v > 0 && double.IsFinite(v)).DefaultIfEmpty(FunctionTolerance).Min();
        double floor = Math.Min(1e-9, smallest / 10);
        var drawn = values.Select(v => double.IsFinite(v) && v > 0 ? v : floor).ToList();
        var text = values.Select(v => v == 0 ? "0 (exact)" : Format.Short(v)).ToList();
        var colors = values.Select(v => v <= FunctionTolerance ? Good : Bad).ToList();
        var chart = Chart.Column<double, string, string>(drawn, Keys: labels, Name: "max |Δ|", MultiText: text,
            TextPosition: StyleParam.TextPosition.Outside, ShowLegend: false, UseDefaults: false);
        foreach (var trace in GenericChart.getTraces(chart))
            trace.SetProperty("marker", new Dictionary<string, object> { ["color"] = colors.ToArray() });
        var verdict = report.PreservesFunction ? "✓ same function" : "✗ the function changed";
        chart = chart.WithYAxisStyle<double, double, string>(AxisType: StyleParam.AxisType.Log);
        chart = ChartStyle.Apply(chart, $"Function check, ×{report.WidthFactor}: max |Δ| per layer ({verdict})",
            "residual stream after (then the logits)", "max |grown − tiled source| (log scale)");
        var layout = GenericChart.getLayout(chart);
        if (layout.TryGetPropertyValue("yaxis") is { } axis && axis.Value is DynamicObj.DynamicObj yaxis)
            yaxis.SetProperty("exponentformat", "power");                              // 10⁻⁴, not plotly's "100µ"
        layout.SetProperty("shapes", new object[] { PlotlyShapes.HorizontalLine(FunctionTolerance, Bad, "dash") });
        // On a log axis, annotations take log10 of the value (shapes take the value itself).
        layout.SetProperty("annotations", new object[]
        {
            PlotlyShapes.Label("paper", 1, "y", Math.Log10(FunctionTolerance), "1e-4: float32 tolerance", "right", "bottom", Bad),
        });
        return chart;
    }

    /// <summary>
    /// The residual dimensions' importance sorted from most to least important, the kept ones in colour and the dropped
    /// ones grey, with a vertical line at the kept width d′ and its count.
    /// </summary>
    public static GenericChart ImportanceCurve(SubcloneReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sorted = report.Importance.OrderByDescending(v => v).ToArray();
        int kept = report.KeptDims.Length, total = sorted.Length;
        var traces = new List<GenericChart>
        {
            Chart.Line<double, double, string>(Enumerable.Range(1, kept).Select(i => (double)i), sorted.Take(kept),
                Name: $"kept ({kept})", ShowMarkers: total <= 256, LineColor: ChartStyle.ColorAt(0), MarkerColor: ChartStyle.ColorAt(0), UseDefaults: false),
        };
        if (kept < total)
            traces.Add(Chart.Line<double, double, string>(Enumerable.Range(kept + 1, total - kept).Select(i => (double)i), sorted.Skip(kept),
                Name: $"dropped ({total - kept})", ShowMarkers: total <= 256, LineColor: Color.fromString(Grey), MarkerColor: Color.fromString(Grey), UseDefaults: false));
        var chart = ChartStyle.Apply(Chart.Combine(traces), $"Residual dimensions ranked by importance (summed over layers): {kept} of {total} kept",
            "rank of the residual dimension (1 = most important)", "importance (mean |activation|)");
        double cut = kept + 0.5;
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("shapes", new object[] { PlotlyShapes.VerticalLine(cut, "#333", "dash") });
        layout.SetProperty("annotations", new object[] { PlotlyShapes.Label("x", cut, "paper", 1, $" kept d′ = {kept} of {total}", "left", "top", "#333") });
        return chart;
    }

    /// <summary>
    /// The source's blocks in a row: kept ones filled, dropped ones hollow and grey, each labelled with its index and how much
    /// it changes the residual stream (mean ‖out − in‖ / ‖in‖), which is why the middle ones are the ones to drop.
    /// </summary>
    public static GenericChart LayerDiagram(SubcloneReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        int layers = report.Source.Layers;
        var keptSet = report.KeptLayers.ToHashSet();
        var categories = Enumerable.Range(0, layers).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        GenericChart Blocks(IEnumerable<int> blocks, string name, bool kept)
        {
            var list = blocks.ToList();
            var chart = Chart.Column<double, string, string>(list.Select(_ => 1.0), Keys: list.Select(i => categories[i]).ToList(), Name: name,
                MultiText: list.Select(i => $"block {i}<br>change {Format.Short(report.BlockChange[i])}").ToList(), TextPosition: StyleParam.TextPosition.Inside, UseDefaults: false);
            foreach (var trace in GenericChart.getTraces(chart))
            {
                trace.SetProperty("marker", kept
                    ? new Dictionary<string, object> { ["color"] = ChartStyle.Palette[0], ["line"] = new Dictionary<string, object> { ["color"] = ChartStyle.Palette[0], ["width"] = 2 } }
                    : new Dictionary<string, object> { ["color"] = "rgba(0,0,0,0)", ["line"] = new Dictionary<string, object> { ["color"] = Grey, ["width"] = 2 } });
                trace.SetProperty("textfont", new Dictionary<string, object> { ["color"] = kept ? "white" : "#666", ["size"] = 12 });
                trace.SetProperty("insidetextanchor", "middle");
                trace.SetProperty("hoverinfo", "text+name");
            }
            return chart;
        }
        var traces = new List<GenericChart> { Blocks(report.KeptLayers, "kept", kept: true) };
        var dropped = Enumerable.Range(0, layers).Where(i => !keptSet.Contains(i)).ToList();
        if (dropped.Count > 0) traces.Add(Blocks(dropped, "dropped", kept: false));
        var combined = ChartStyle.Apply(Chart.Combine(traces),
            $"Blocks kept: {string.Join(", ", report.KeptLayers)} of {layers}", null, null, height: 240);
        var layout = GenericChart.getLayout(combined);
        layout.SetProperty("barmode", "overlay");
        layout.SetProperty("bargap", 0.12);
        layout.SetProperty("yaxis", new Dictionary<string, object> { ["visible"] = false, ["range"] = new[] { 0.0, 1.0 }, ["fixedrange"] = true });
        layout.SetProperty("xaxis", new Dictionary<string, object>
        {
            ["title"] = new Dictionary<string, object> { ["text"] = "source block (label: mean ‖block output − input‖ / ‖input‖)" },
            ["type"] = "category", ["categoryorder"] = "array", ["categoryarray"] = categories, ["fixedrange"] = true,
        });
        return combined;
    }

    /// <summary>
    /// For each layer (embeddings, then after each block), the fraction of its own top-d′ dimensions that are in the one kept
    /// set: bars near 1 show why a single ranking serves every layer.
    /// </summary>
    public static GenericChart LayerAgreement(SubcloneReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var labels = Enumerable.Range(0, report.LayerAgreement.Length).Select(l => l == 0 ? "embeddings" : $"block {l - 1}").ToList();
        var chart = SeriesChart.Bars(labels, report.LayerAgreement, name: "agreement",
            title: $"Each layer's own top {report.KeptDims.Length} dimensions vs the kept set",
            xTitle: "residual stream after", yTitle: "share of its top d′ kept");
        chart = chart.WithYAxisStyle<double, double, string>(MinMax: Tuple.Create(0.0, 1.05));
        foreach (var trace in GenericChart.getTraces(chart))
        {
            trace.SetProperty("text", report.LayerAgreement.Select(a => a.ToString("0.00", CultureInfo.InvariantCulture)).ToArray());
            trace.SetProperty("textposition", "outside");
        }
        return chart;
    }

    /// <summary>
    /// Both runs' loss curves (training and validation) with a horizontal line at the mark (the baseline's final validation
    /// loss) and a dotted vertical line where each reached it.
    /// </summary>
    public static GenericChart Race(RaceResult race)
    {
        ArgumentNullException.ThrowIfNull(race);
        var chart = LossChart.Of(new[] { race.Challenger, race.Baseline }, $"Race: {race.Challenger.Name} vs {race.Baseline.Name}");
        if (race.TargetLoss is not double target) return chart;
        var shapes = new List<object> { PlotlyShapes.HorizontalLine(target, "#333", "dash") };
        var annotations = new List<object>
        {
            PlotlyShapes.Label("paper", 1, "y", target, $"mark: {target.ToString("0.000", CultureInfo.InvariantCulture)} nats ({race.Baseline.Name}'s final validation loss)", "right", "bottom", "#333"),
        };
        if (race.ChallengerSteps is double c && c > 0) shapes.Add(PlotlyShapes.VerticalLine(c, ChartStyle.Palette[0], "dot"));
        if (race.BaselineSteps is double b && b > 0) shapes.Add(PlotlyShapes.VerticalLine(b, ChartStyle.Palette[1], "dot"));
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("shapes", shapes.ToArray());
        layout.SetProperty("annotations", annotations.ToArray());
        return chart;
    }

    static (string X, string Y) AxisTitles(string parameterName, long dims) =>
        dims == 1 ? ("dimension", "") :
        parameterName.StartsWith("wte.", StringComparison.Ordinal) ? ("residual dimension (column)", "token id (row)") :
        parameterName.StartsWith("wpe.", StringComparison.Ordinal) ? ("residual dimension (column)", "position (row)") :
        ("input dimension (column)", "output dimension (row)");
}
