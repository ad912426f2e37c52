using EfficientML.Core;
using System.Globalization;
using EfficientML.Clustering;
using Plotly.NET;
using Plotly.NET.CSharp;
using static TorchSharp.torch;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// Charts of weight clustering (DKM, eDKM): a weight's histogram with its centroids, the soft assignment A that DKM
/// differentiates through, the bytes kept for backward under each eDKM trick, and validation loss against bits per weight.
/// </summary>
public static class ClusteringCharts
{
    /// <summary>Bars of a weight histogram.</summary>
    public const int HistogramBins = 120;

    const string CentroidColor = "#d62728";

    /// <summary>
    /// A histogram of <paramref name="weight"/>'s values with the centroids (k of them, from a <see cref="DkmClusterer"/>'s
    /// <c>Centroids</c> or a <see cref="Palette"/>'s table) as vertical lines; null centroids draw the histogram alone. With
    /// grouped tables (centroids (G, k), G &gt; 1) it draws the first table and the rows it serves, and says so in the title.
    /// </summary>
    public static GenericChart WeightHistogram(Tensor weight, Tensor? centroids, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.numel() == 0) throw new InvalidSettingsException("A weight histogram needs at least one value.");
        float[] values, table = [];
        string note = "";
        using (NewDisposeScope())
        using (no_grad())
        {
            var w = weight.detach().to(CPU).to_type(ScalarType.Float32);
            if (centroids is not null)
            {
                var c = centroids.detach().to(CPU).to_type(ScalarType.Float32);
                if (c.dim() > 2 || c.numel() == 0)
                    throw new InvalidSettingsException($"Centroids must be (k) or (tables, k); got shape [{string.Join(", ", centroids.shape)}].");
                long tables = c.dim() == 2 ? c.shape[0] : 1;
                if (tables > 1)
                {
                    long rows = w.dim() == 0 ? 1 : w.shape[0];
                    if (rows % tables != 0)
                        throw new InvalidSettingsException($"{tables} tables do not divide the weight's {rows} rows (shape [{string.Join(", ", weight.shape)}]).");
                    long perTable = rows / tables;
                    w = w.narrow(0, 0, perTable);
                    note = $" (table 1 of {tables}: rows 0–{perTable - 1})";
                }
                table = (c.dim() == 2 ? c[0] : c).contiguous().data<float>().ToArray();
            }
            values = w.flatten().contiguous().data<float>().ToArray();
        }
        return HistogramWithCentroids(values, table, (title ?? "weight") + note);
    }

    /// <summary>
    /// <see cref="WeightHistogram"/> from plain numbers: a histogram of <paramref name="values"/> (<see cref="HistogramBins"/> bars, drawn from counts so the HTML stays small
    /// however many weights there are) with a vertical line at each of <paramref name="centroids"/> (may be empty).
    /// </summary>
    public static GenericChart HistogramWithCentroids(IReadOnlyList<float> values, IReadOnlyList<float> centroids, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(centroids);
        var finite = values.Where(float.IsFinite).ToList();
        if (finite.Count == 0) throw new InvalidSettingsException("A weight histogram needs at least one finite value.");
        var marks = centroids.Where(float.IsFinite).Select(c => (double)c).Order().ToList();
        double low = Math.Min(finite.Min(), marks.DefaultIfEmpty(double.MaxValue).Min());
        double high = Math.Max(finite.Max(), marks.DefaultIfEmpty(double.MinValue).Max());
        if (high <= low) { low -= 0.5; high += 0.5; }
        double width = (high - low) / HistogramBins;
        var counts = new double[HistogramBins];
        foreach (var v in finite) counts[Math.Clamp((int)((v - low) / width), 0, HistogramBins - 1)]++;
        var centers = Enumerable.Range(0, HistogramBins).Select(i => low + (i + 0.5) * width).ToList();
        var traces = new List<GenericChart>
        {
            Chart.Column<double, double, string>(counts, Keys: centers, Name: "weights", MarkerColor: ChartStyle.ColorAt(0), UseDefaults: false),
        };
        double top = counts.Max();
        if (marks.Count > 0)
        {
            var points = Chart.Point<double, double, string>(marks, marks.Select(_ => top * 1.06),
                Name: $"centroids (k = {marks.Count})", MarkerColor: Color.fromString(CentroidColor), MarkerSymbol: StyleParam.MarkerSymbol.TriangleDown,
                MultiText: marks.Select((c, j) => $"c{j} = {Format.Short(c)}").ToList(), UseDefaults: false);
            foreach (var trace in GenericChart.getTraces(points)) trace.SetProperty("hoverinfo", "text");
            traces.Add(points);
        }
        var label = $"{title ?? "weight"}: {finite.Count.ToString("N0", CultureInfo.InvariantCulture)} values" +
                    (marks.Count > 0 ? $", {marks.Count} centroids" : "");
        var chart = ChartStyle.Apply(Chart.Combine(traces), label, "weight value", "count");
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("bargap", 0);
        layout.SetProperty("shapes", marks.Select(c => (object)PlotlyShapes.VerticalLine(c, CentroidColor, "solid", 1.2)).ToArray());
        return chart;
    }

    /// <summary>
    /// For teaching: DKM's soft assignment A = softmax(−(w − c)²/τ) as a heat map, rows a sample of <paramref name="rows"/>
    /// weights spread evenly over the sorted values of the first table, columns the centroids in order
    /// (<see cref="SoftAssignment.Sample"/>).
    /// </summary>
    public static GenericChart Attention(Tensor weight, Tensor centroids, double temperature, int rows = 64) =>
        Attention(SoftAssignment.Sample(weight, centroids, temperature, rows));

    /// <summary>A soft assignment as a heat map: each row a weight, each column a centroid, white 0 to blue 1.</summary>
    public static GenericChart Attention(SoftAssignment assignment)
    {
        var (sampled, table, z, total, temperature) = (assignment.Weights, assignment.Centroids, assignment.Attention, assignment.TotalWeights, assignment.Temperature);
        var x = table.Select((v, j) => $"c{j} = {Format.Short(v)}").ToList();
        // Rows by index (weights may repeat, and equal category names would merge), labelled with their values.
        var y = Enumerable.Range(0, sampled.Length).ToList();
        var chart = Chart.Heatmap<double, string, int, string>(z, X: x, Y: y, ReverseYAxis: true, UseDefaults: false);
        foreach (var trace in GenericChart.getTraces(chart))
        {
            trace.SetProperty("zmin", 0.0);
            trace.SetProperty("zmax", 1.0);
            trace.SetProperty("colorscale", new object[] { new object[] { 0.0, "#f7f7f7" }, new object[] { 1.0, "#08519c" } });
            trace.SetProperty("text", sampled.Select(w => x.Select(c => $"w = {Format.Short(w)}, {c}").ToArray()).ToArray());
            trace.SetProperty("hovertemplate", "%{text}<br>A = %{z:.3f}<extra></extra>");
        }
        var tau = temperature.ToString("G3", CultureInfo.InvariantCulture);
        chart = ChartStyle.Apply(chart,
            $"Soft assignment A = softmax(−(w − c)²/τ), τ = {tau}: {sampled.Length} of {total.ToString("N0", CultureInfo.InvariantCulture)} weights × {table.Length} centroids",
            "centroid", "weight (sorted by value)", height: 460);
        int stride = Math.Max(1, (int)Math.Ceiling(sampled.Length / 16.0));
        var ticks = Enumerable.Range(0, sampled.Length).Where(i => i % stride == 0 || i == sampled.Length - 1).ToArray();
        if (GenericChart.getLayout(chart).TryGetPropertyValue("yaxis") is { } axis && axis.Value is DynamicObj.DynamicObj yaxis)
        {
            yaxis.SetProperty("tickmode", "array");
            yaxis.SetProperty("tickvals", ticks);
            yaxis.SetProperty("ticktext", ticks.Select(i => Format.Short(sampled[i])).ToArray());
            yaxis.SetProperty("automargin", true);
        }
        return chart;
    }

    /// <summary>
    /// Bytes kept for backward by one DKM training step under each storage (rows of
    /// <see cref="ClusteringExperiments.SavedMemory"/>), as horizontal bars on a log axis (the storages' names are long, so
    /// they read on the left, unrotated, plain DKM at the top): all workers together and the busiest worker, each
    /// busiest-worker bar labelled with how many times less it holds than plain DKM.
    /// </summary>
    public static GenericChart SavedMemory(IReadOnlyList<SavedMemoryRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new InvalidSettingsException("Give at least one row of saved-memory measurements.");
        var reference = PlainDkm(rows);
        var labels = rows.Select(r => r.Name).ToList();
        var total = Chart.Bar<double, string, string>(rows.Select(r => (double)Math.Max(1, r.PeakBytes)), Keys: labels,
            Name: "all workers", MarkerColor: Color.fromString("#9ecae1"),
            MultiText: rows.Select(r => Format.Bytes(r.PeakBytes)).ToList(), TextPosition: StyleParam.TextPosition.Outside, UseDefaults: false);
        var ratios = rows.Select(r => reference.PeakBytesPerWorker / (double)Math.Max(1, r.PeakBytesPerWorker)).ToList();
        var perWorker = Chart.Bar<double, string, string>(rows.Select(r => (double)Math.Max(1, r.PeakBytesPerWorker)), Keys: labels,
            Name: "busiest worker", MarkerColor: ChartStyle.ColorAt(0),
            MultiText: rows.Select((r, i) => Format.Bytes(r.PeakBytesPerWorker) + (ReferenceEquals(r, reference) ? " (plain DKM)" : $", ÷{Format.Ratio(ratios[i])}")).ToList(),
            TextPosition: StyleParam.TextPosition.Outside, UseDefaults: false);
        var chart = Chart.Combine([total, perWorker]).WithXAxisStyle<double, double, string>(AxisType: StyleParam.AxisType.Log);
        var best = ratios.Max();
        var title = $"Bytes kept for backward by one DKM step: up to {Format.Ratio(best)}× less per worker than plain DKM";
        chart = ChartStyle.Apply(chart, title, "bytes kept for backward (log scale)", null, height: 140 + 56 * rows.Count);
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("barmode", "group");
        layout.SetProperty("margin", new Dictionary<string, object> { ["l"] = 20, ["r"] = 20, ["t"] = ChartStyle.TopMargin(title), ["b"] = 90 });
        layout.SetProperty("yaxis", new Dictionary<string, object> { ["automargin"] = true, ["autorange"] = "reversed", ["type"] = "category" });
        if (layout.TryGetPropertyValue("xaxis") is { } axis && axis.Value is DynamicObj.DynamicObj xaxis)
        {
            xaxis.SetProperty("exponentformat", "SI");
            xaxis.SetProperty("ticksuffix", "B");
            // Room right of the longest bar for its label (a log axis's range is in powers of ten).
            double low = rows.Min(r => Math.Max(1, r.PeakBytesPerWorker)), high = rows.Max(r => Math.Max(1, r.PeakBytes));
            xaxis.SetProperty("range", new[] { Math.Log10(low) - 0.3, Math.Log10(high) + 0.9 });
        }
        return chart;
    }

    /// <summary>
    /// Validation loss (bits per byte) against bits per weight: one line per compression method (k-means without
    /// fine-tuning, DKM fine-tuned …), and the float32 model as a dashed horizontal line. Hover shows size and ratio.
    /// </summary>
    public static GenericChart BitsVsLoss(IReadOnlyList<CompressionResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (results.Count == 0) throw new InvalidSettingsException("Give at least one compression result.");
        var traces = new List<GenericChart>();
        var methods = results.Where(r => r.Bits > 0).GroupBy(r => r.Method).ToList();
        for (int i = 0; i < methods.Count; i++)
        {
            var points = methods[i].OrderBy(r => r.Bits).ToList();
            traces.Add(Chart.Line<double, double, string>(points.Select(r => (double)r.Bits), points.Select(r => r.ValidationBits),
                ShowMarkers: true, Name: methods[i].Key, LineColor: ChartStyle.ColorAt(i), MarkerColor: ChartStyle.ColorAt(i),
                MultiText: points.Select(Hover).ToList(), UseDefaults: false));
        }
        var float32 = results.FirstOrDefault(r => r.Bits == 0);
        var bits = results.Where(r => r.Bits > 0).Select(r => r.Bits).Distinct().Order().ToList();
        if (traces.Count == 0)
            // Only the float32 model: one point, so the chart still has axes.
            traces.Add(Chart.Point<double, double, string>([32.0], [float32!.ValidationBits], Name: "float32", MarkerColor: Color.fromString("#333"),
                MultiText: new[] { Hover(float32) }, UseDefaults: false));
        var chart = ChartStyle.Apply(Chart.Combine(traces), "Validation loss vs bits per weight", "bits per clustered weight (k = 2^bits centroids)",
            "validation loss (bits per byte)");
        var layout = GenericChart.getLayout(chart);
        foreach (var trace in GenericChart.getTraces(chart)) trace.SetProperty("hoverinfo", "text+name");
        if (bits.Count > 0 && layout.TryGetPropertyValue("xaxis") is { } axis && axis.Value is DynamicObj.DynamicObj xaxis)
        {
            xaxis.SetProperty("tickmode", "array");
            xaxis.SetProperty("tickvals", bits.ToArray());
        }
        if (float32 is not null && bits.Count > 0)
        {
            layout.SetProperty("shapes", new object[] { PlotlyShapes.HorizontalLine(float32.ValidationBits, "#333", "dash") });
            layout.SetProperty("annotations", new object[]
            {
                new Dictionary<string, object>
                {
                    // At the left, where fewer bits lose the most and the lines run highest, so it does not cover a point.
                    ["xref"] = "paper", ["x"] = 0, ["yref"] = "y", ["y"] = float32.ValidationBits, ["showarrow"] = false,
                    ["xanchor"] = "left", ["yanchor"] = "bottom", ["font"] = new Dictionary<string, object> { ["size"] = 12, ["color"] = "#333" },
                    ["text"] = $"float32: {float32.ValidationBits.ToString("0.000", CultureInfo.InvariantCulture)} bits/byte, {Format.Bytes(float32.ModelBytes)}",
                },
            });
        }
        return chart;
    }

    static string Hover(CompressionResult r) =>
        $"{r.Method}, {r.Bits}-bit<br>{r.ValidationBits.ToString("0.000", CultureInfo.InvariantCulture)} bits/byte " +
        $"({r.ValidationLoss.ToString("0.000", CultureInfo.InvariantCulture)} nats)<br>{Format.Bytes(r.ModelBytes)}, " +
        $"{r.CompressionRatio.ToString("0.0", CultureInfo.InvariantCulture)}× smaller than float32";

    /// <summary>The plain-DKM row (no eDKM trick), else the first.</summary>
    static SavedMemoryRow PlainDkm(IReadOnlyList<SavedMemoryRow> rows) =>
        rows.FirstOrDefault(r => r.Options is { Uniquify: false, Shards: 1, Deduplicate: false }) ?? rows[0];
}
