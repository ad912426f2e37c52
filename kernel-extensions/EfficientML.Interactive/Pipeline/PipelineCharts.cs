using EfficientML.Core;
using EfficientML.Pipeline;
using Plotly.NET;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// Charts of a deployment pipeline (<see cref="DeploymentPipeline"/>): validation bits per byte against decoding speed after
/// each step, one labelled point per step joined in step order, marker area proportional to bytes on disk; and the bytes
/// on disk per step as bars.
/// </summary>
public static class PipelineCharts
{
    /// <summary>Marker diameter in pixels of the largest model on disk.</summary>
    public const double MaxMarkerSize = 44;

    /// <summary>Smallest marker diameter in pixels, so a small model stays visible and clickable.</summary>
    public const double MinMarkerSize = 8;

    const string LineColor = "#7f7f7f";
    const string FailedColor = "#d62728";
    const string StartColor = "#333";

    /// <summary>
    /// Marker diameters for models of <paramref name="bytes"/> on disk: proportional to the square root of the bytes (so a
    /// marker's area is proportional to the bytes), the largest <see cref="MaxMarkerSize"/> pixels, none under
    /// <see cref="MinMarkerSize"/>.
    /// </summary>
    public static IReadOnlyList<double> MarkerSizes(IReadOnlyList<long> bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        long most = bytes.Count == 0 ? 0 : bytes.Max();
        return bytes.Select(b => most <= 0 || b <= 0 ? MinMarkerSize : Math.Max(MinMarkerSize, MaxMarkerSize * Math.Sqrt((double)b / most))).ToList();
    }

    /// <summary>
    /// Validation bits per byte (lower is better) against decoding speed over the starting model's plain greedy decoding, one
    /// point per measurement labelled with its step, joined by a thin line in step order; marker area ∝ bytes on disk, red
    /// where an invariant of the step failed; dashed lines through the start's quality and speed. Hover a point for every
    /// figure of the step.
    /// </summary>
    public static GenericChart Pareto(IReadOnlyList<StepMeasurement> measurements, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        var points = measurements.Where(m => m is not null && double.IsFinite(m.DecodeSpeedUp) && double.IsFinite(m.ValidationBits)).ToList();
        if (points.Count == 0) throw new InvalidSettingsException("Give at least one step measurement with a finite quality and speed (DeploymentPipeline.Measurements).");
        var start = measurements[0];
        var sizes = MarkerSizes(points.Select(m => m.DiskBytes).ToList());

        var trace = Chart.Line<double, double, string>(points.Select(m => m.DecodeSpeedUp), points.Select(m => m.ValidationBits),
            ShowMarkers: true, Name: "after each step, in order", ShowLegend: false, UseDefaults: false);
        PlotParts.Traces(trace,
            ("mode", "lines+markers+text"),
            ("line", new Dictionary<string, object> { ["color"] = LineColor, ["width"] = 1 }),
            ("marker", new Dictionary<string, object>
            {
                ["size"] = sizes.ToArray(),
                ["sizemode"] = "diameter",
                ["color"] = points.Select(m => m.InvariantsHold ? ChartStyle.Palette[0] : FailedColor).ToArray(),
                ["opacity"] = 0.75,
                ["line"] = new Dictionary<string, object> { ["color"] = "#fff", ["width"] = 1 },
            }),
            ("text", points.Select(m => m.Step).ToArray()),
            ("textposition", "top center"),
            ("cliponaxis", false),
            ("textfont", new Dictionary<string, object> { ["size"] = 12, ["color"] = StartColor }));
        PlotParts.Hover(trace, points.Select(m => Hover(m, start)));

        const int height = 460;
        var chart = ChartStyle.Apply(trace, title ?? "Quality vs decoding speed after each step (marker area ∝ bytes on disk)",
            "decode speed-up (× the start's plain greedy decoding)", "validation bits per byte (lower is better)", height);
        PlotParts.Frame(chart, height, top: 62, bottom: 70);
        // Room for the largest marker and its label at either end.
        var (xLow, xHigh) = Padded(points.Select(m => m.DecodeSpeedUp).Append(1).ToList(), 0.12);
        var (yLow, yHigh) = Padded(points.Select(m => m.ValidationBits).ToList(), 0.15);
        PlotParts.Axis(chart, "xaxis", ("range", new[] { xLow, xHigh }), ("ticksuffix", "×"), ("zeroline", false));
        PlotParts.Axis(chart, "yaxis", ("range", new[] { yLow, yHigh }), ("zeroline", false));
        var layout = GenericChart.getLayout(chart);
        var shapes = new List<object> { PlotlyShapes.VerticalLine(1, StartColor, "dot", 1) };
        var startLabel = PlotlyShapes.Label("x", 1, "paper", 1, "start's speed", "left", "top", StartColor, 11);
        startLabel["xshift"] = 4;
        var annotations = new List<object> { startLabel };
        if (double.IsFinite(start.ValidationBits))
        {
            shapes.Add(PlotlyShapes.HorizontalLine(start.ValidationBits, StartColor, "dash", 1));
            var quality = PlotlyShapes.Label("paper", 1, "y", start.ValidationBits, $"start: {Format.Fixed(start.ValidationBits, 3)} bits/byte", "right", "bottom", StartColor, 11);
            quality["bgcolor"] = "rgba(255,255,255,0.85)";
            annotations.Add(quality);
        }
        layout.SetProperty("shapes", shapes.ToArray());
        layout.SetProperty("annotations", annotations.ToArray());
        return chart;
    }

    /// <summary>Bytes on disk of the deployed model after each step (the start first), written over each bar.</summary>
    public static GenericChart DiskBytes(IReadOnlyList<StepMeasurement> measurements, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        var list = measurements.Where(m => m is not null).ToList();
        if (list.Count == 0) throw new InvalidSettingsException("Give at least one step measurement (DeploymentPipeline.Measurements).");
        var start = list[0];
        var chart = Chart.Column<double, string, string>(list.Select(m => (double)m.DiskBytes), Keys: list.Select(m => m.Step).ToList(),
            Name: "bytes on disk", ShowLegend: false, UseDefaults: false);
        PlotParts.Traces(chart,
            ("marker", new Dictionary<string, object> { ["color"] = list.Select(m => m.InvariantsHold ? ChartStyle.Palette[0] : FailedColor).ToArray() }),
            ("text", list.Select(m => Format.Bytes(m.DiskBytes)).ToArray()),
            ("textposition", "outside"), ("cliponaxis", false));
        PlotParts.Hover(chart, list.Select(m =>
            $"{m.Step}: {Format.Bytes(m.DiskBytes)} on disk ({Format.Ratio(Ratio(m.DiskBytes, start.DiskBytes))}× the start)<br>{Format.Count(m.Parameters)} parameters"));
        const int height = 320;
        chart = ChartStyle.Apply(chart, title ?? "Bytes on disk after each step", "step", "bytes on disk", height);
        PlotParts.Frame(chart, height, bottom: 70);
        PlotParts.Axis(chart, "xaxis", ("type", "category"));
        PlotParts.Axis(chart, "yaxis", ("range", new[] { 0, Math.Max(1, list.Max(m => m.DiskBytes)) * 1.18 }), ("tickformat", "~s"), ("rangemode", "tozero"));
        GenericChart.getLayout(chart).SetProperty("bargap", 0.35);
        return chart;
    }

    /// <summary>Every figure of one measurement, for hover text.</summary>
    static string Hover(StepMeasurement m, StepMeasurement start)
    {
        var lines = new List<string>
        {
            $"<b>{Html.Encode(m.Step)}</b>: {Html.Encode(m.Summary)}",
            $"{Format.Fixed(m.ValidationBits, 3)} bits/byte ({Signed(m.ValidationBits - start.ValidationBits)} vs start)",
            $"{Format.Bytes(m.DiskBytes)} on disk ({Format.Ratio(Ratio(m.DiskBytes, start.DiskBytes))}× the start), {Format.Count(m.Parameters)} parameters",
            $"MLP {Format.Count((long)Math.Round(m.MlpMultiplyAddsPerToken))} multiply-adds per token ({Format.Ratio(m.MlpMultiplyAddsPerToken / start.MlpMultiplyAddsPerToken)}× the start)",
            $"decoding {Format.Count((long)Math.Round(m.DecodeTokensPerSecond))} tokens/s with {Html.Encode(m.Decoder)}: {Format.Ratio(m.DecodeSpeedUp)}× the start",
            $"start's greedy choice agrees {Format.Percent(m.StartAgreement)}" + (m.DraftAgreement is double d ? $", the draft's {Format.Percent(d)}" : ""),
        };
        if (m.PeakResidentBytes > 0) lines.Add($"peak resident memory {Format.Bytes(m.PeakResidentBytes)}");
        if (m.Seconds > 0 || m.TokensTrained > 0) lines.Add($"step took {Seconds(m.Seconds)}, trained on {Format.Count(m.TokensTrained)} tokens");
        if (m.Invariants.Count > 0) lines.Add($"invariants {m.Invariants.Count(i => i.Passed)} of {m.Invariants.Count} held");
        return string.Join("<br>", lines);
    }

    /// <summary>A change in bits with its sign: +0.012, −0.034.</summary>
    public static string Signed(double change) =>
        !double.IsFinite(change) ? "—" : (change >= 0 ? "+" : "−") + Format.Fixed(Math.Abs(change), 3);

    /// <summary>Seconds with two significant decimals below 10 s, one above.</summary>
    public static string Seconds(double seconds) =>
        !double.IsFinite(seconds) ? "—" : Format.Fixed(seconds, seconds < 10 ? 2 : 1) + " s";

    static double Ratio(double value, double reference) => reference > 0 ? value / reference : double.NaN;

    /// <summary>[min, max] of <paramref name="values"/> widened by <paramref name="share"/> of the span on each side (a single value: ±10 %).</summary>
    static (double Low, double High) Padded(IReadOnlyList<double> values, double share)
    {
        double low = values.Min(), high = values.Max();
        if (!(high > low))
        {
            double pad = Math.Max(Math.Abs(low) * 0.1, 0.05);
            return (low - pad, high + pad);
        }
        double span = high - low;
        return (low - span * share, high + span * share);
    }
}
