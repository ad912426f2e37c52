using System.Globalization;
using System.Net;
using System.Text;

namespace EfficientML.Interactive;

/// <summary>
/// The pieces the self-contained SVG charts share (<see cref="SpeculativeCharts"/>, <see cref="RoutingCharts"/>): an svg element that scales down with
/// its output, text with an optional white halo, round axis ticks, number formats, and a line panel with axes, grid, a
/// legend and a tooltip on every marker.
/// </summary>
static class SvgParts
{
    public const string Font = "system-ui,-apple-system,'Segoe UI',sans-serif";
    public const string Mono = "ui-monospace,SFMono-Regular,Menlo,Consolas,monospace";
    public const string Ink = "#333";
    public const string Muted = "#666";

    /// <summary>A white outline under a label, so it stays legible where it crosses a line.</summary>
    public const string Halo = "stroke=\"#fff\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\"";

    static long _nextId;

    public static StringBuilder Svg(int width, int height, string cssClass) =>
        new($"<svg class=\"{cssClass}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"100%\" " +
            $"style=\"max-width:{width}px;height:auto;display:block;font-family:{Font}\" role=\"img\">");

    public static string Wrap(StringBuilder svg, string cssClass, int width) =>
        $"<div class=\"{cssClass}\" style=\"max-width:{width}px;margin:6px 0\">{svg}</svg></div>";

    public static string Label(double x, double y, string text, double size, string color = Ink, string anchor = "middle", string? weight = null, bool halo = false, string? cssClass = null) =>
        $"<text{(cssClass is null ? "" : $" class=\"{cssClass}\"")} x=\"{F(x)}\" y=\"{F(y)}\" font-size=\"{F(size)}\" fill=\"{color}\" text-anchor=\"{anchor}\"" +
        (weight is null ? "" : $" font-weight=\"{weight}\"") + (halo ? " " + Halo : "") + $">{Encode(text)}</text>";

    /// <summary>A vertical axis title, rotated, centred on <paramref name="y"/>.</summary>
    public static string VerticalText(double x, double y, string text, double size = 12.5) =>
        $"<text x=\"{F(x)}\" y=\"{F(y)}\" font-size=\"{F(size)}\" fill=\"{Ink}\" text-anchor=\"middle\" transform=\"rotate(-90 {F(x)} {F(y)})\">{Encode(text)}</text>";

    public static string Title(string tip) => $"<title>{Encode(tip)}</title>";

    public static string NewId(string prefix) =>
        $"{prefix}-{Interlocked.Increment(ref _nextId).ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..8]}";

    public static string Encode(string text) => WebUtility.HtmlEncode(text);

    public static string F(double value) => Math.Round(value, 1).ToString("0.#", CultureInfo.InvariantCulture);

    public static string Number(double value, string format = "0.###")
    {
        if (!double.IsFinite(value)) return "–";
        var text = value.ToString(format, CultureInfo.InvariantCulture);
        // A value that rounds to zero prints without its sign ("-0" would read as a different tick).
        return text.StartsWith('-') && text.Trim('-', '0', '.', ',') == "" ? text[1..] : text;
    }

    /// <summary>0.25 → "25%", with up to <paramref name="decimals"/> decimals when the value is not a whole percent.</summary>
    public static string Percent(double share, int decimals = 0)
    {
        if (!double.IsFinite(share)) return "–";
        double percent = 100 * share;
        var format = decimals == 0 || Math.Abs(percent - Math.Round(percent)) < 1e-9 ? "0" : "0." + new string('#', decimals);
        return percent.ToString(format, CultureInfo.InvariantCulture) + "%";
    }

    /// <summary>A colour <paramref name="amount"/> of the way from white to <paramref name="hex"/> (#rrggbb).</summary>
    public static string Tint(string hex, double amount)
    {
        int Channel(int at) => int.Parse(hex.AsSpan(at, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        int Mix(int c) => (int)Math.Round(255 + (c - 255) * amount);
        return $"#{Mix(Channel(1)):x2}{Mix(Channel(3)):x2}{Mix(Channel(5)):x2}";
    }

    /// <summary>About <paramref name="count"/> round ticks covering [low, high], and the range they span (padded unless <paramref name="pad"/> is false).</summary>
    public static (List<double> Ticks, double Low, double High) Ticks(double low, double high, int count, bool pad = true)
    {
        if (!(high > low)) { double p = Math.Max(Math.Abs(low) * 0.05, 0.5); low -= p; high += p; }
        if (pad)
        {
            double span = high - low;
            low -= span * 0.06;
            high += span * 0.06;
        }
        double raw = (high - low) / count, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        var ticks = new List<double>();
        for (double t = Math.Ceiling(low / step - 1e-9) * step; t <= high + step * 1e-9; t += step) ticks.Add(Math.Round(t / step) * step);
        if (!pad) { low = Math.Min(low, ticks[0]); high = Math.Max(high, ticks[^1]); }
        return (ticks, low, high);
    }

    /// <summary>One series of a line panel: its points (x, y, tooltip) drawn as a line with markers.</summary>
    public sealed record LineSeries(string Name, string Color, IReadOnlyList<(double X, double Y, string Tip)> Points, bool Dashed = false, string Marker = "circle");

    /// <summary>
    /// A panel at (<paramref name="left"/>, <paramref name="top"/>) of <paramref name="width"/> × <paramref name="height"/>
    /// (the plot area) with grid, tick labels, axis titles and every series; y values outside the axis are clipped by the range
    /// the caller gives (null: from the data).
    /// </summary>
    public static void LinePanel(StringBuilder svg, double left, double top, double width, double height, IReadOnlyList<LineSeries> series,
        string xTitle, string yTitle, Func<double, string> xLabel, Func<double, string> yLabel,
        (double Low, double High)? xRange = null, (double Low, double High)? yRange = null, string cssClass = "efml-panel")
    {
        var all = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        var (xTicks, xLow, xHigh) = xRange is { } xr ? Ticks(xr.Low, xr.High, 8, pad: false) : Ticks(all.Count == 0 ? 0 : all.Min(p => p.X), all.Count == 0 ? 1 : all.Max(p => p.X), 8);
        var (yTicks, yLow, yHigh) = yRange is { } yr ? Ticks(yr.Low, yr.High, 5, pad: false) : Ticks(all.Count == 0 ? 0 : all.Min(p => p.Y), all.Count == 0 ? 1 : all.Max(p => p.Y), 5);
        double X(double v) => left + (v - xLow) / (xHigh - xLow) * width;
        double Y(double v) => top + (yHigh - v) / (yHigh - yLow) * height;
        svg.Append($"<g class=\"{cssClass}\">");
        foreach (var t in xTicks)
        {
            svg.Append($"<line x1=\"{F(X(t))}\" y1=\"{F(top)}\" x2=\"{F(X(t))}\" y2=\"{F(top + height)}\" stroke=\"#eee\"/>");
            svg.Append(Label(X(t), top + height + 15, xLabel(t), 11, Muted));
        }
        foreach (var t in yTicks)
        {
            svg.Append($"<line x1=\"{F(left)}\" y1=\"{F(Y(t))}\" x2=\"{F(left + width)}\" y2=\"{F(Y(t))}\" stroke=\"#eee\"/>");
            svg.Append(Label(left - 6, Y(t) + 4, yLabel(t), 11, Muted, anchor: "end"));
        }
        svg.Append($"<rect x=\"{F(left)}\" y=\"{F(top)}\" width=\"{F(width)}\" height=\"{F(height)}\" fill=\"none\" stroke=\"#bbb\"/>");
        svg.Append(Label(left + width / 2, top + height + 33, xTitle, 12));
        svg.Append(VerticalText(left - 44, top + height / 2, yTitle, 12));
        foreach (var s in series)
        {
            var points = s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
            if (points.Count > 1)
                svg.Append($"<polyline class=\"efml-line\" fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\"{(s.Dashed ? " stroke-dasharray=\"6 3\"" : "")} points=\"" +
                           string.Join(" ", points.Select(p => $"{F(X(p.X))},{F(Y(p.Y))}")) + "\"/>");
            foreach (var p in points) svg.Append(Marker(s.Marker, X(p.X), Y(p.Y), s.Color, p.Tip));
        }
        svg.Append("</g>");
    }

    /// <summary>Legend entries in one row from (<paramref name="x"/>, <paramref name="y"/>): a line with a marker and the name.</summary>
    public static void LineLegend(StringBuilder svg, double x, double y, IEnumerable<LineSeries> series)
    {
        svg.Append("<g class=\"efml-legend\">");
        foreach (var s in series)
        {
            svg.Append($"<line x1=\"{F(x)}\" y1=\"{F(y)}\" x2=\"{F(x + 22)}\" y2=\"{F(y)}\" stroke=\"{s.Color}\" stroke-width=\"2\"{(s.Dashed ? " stroke-dasharray=\"6 3\"" : "")}/>");
            svg.Append(Marker(s.Marker, x + 11, y, s.Color, null, "efml-legend-marker"));
            svg.Append($"<text class=\"efml-series\" x=\"{F(x + 28)}\" y=\"{F(y + 4)}\" font-size=\"12\" fill=\"{Ink}\">{Encode(s.Name)}</text>");
            x += 44 + s.Name.Length * 6.4;
        }
        svg.Append("</g>");
    }

    /// <summary>A swatch and a label; returns the x after it.</summary>
    public static double Swatch(StringBuilder svg, double x, double y, string color, string label)
    {
        svg.Append($"<rect x=\"{F(x)}\" y=\"{F(y - 10)}\" width=\"13\" height=\"13\" rx=\"2\" fill=\"{color}\"/>");
        svg.Append($"<text class=\"efml-series\" x=\"{F(x + 18)}\" y=\"{F(y + 1.5)}\" font-size=\"12\" fill=\"{Ink}\">{Encode(label)}</text>");
        return x + 18 + label.Length * 6.4 + 18;
    }

    public static string Marker(string shape, double x, double y, string color, string? tip, string cssClass = "efml-point")
    {
        var open = tip is null ? "/>" : $">{Title(tip)}";
        string Close(string element) => tip is null ? "" : $"</{element}>";
        return shape switch
        {
            "square" => $"<rect class=\"{cssClass}\" x=\"{F(x - 4.5)}\" y=\"{F(y - 4.5)}\" width=\"9\" height=\"9\" fill=\"{color}\" stroke=\"#fff\" stroke-width=\"1\"{open}{Close("rect")}",
            "diamond" => $"<polygon class=\"{cssClass}\" points=\"{F(x)},{F(y - 6)} {F(x + 6)},{F(y)} {F(x)},{F(y + 6)} {F(x - 6)},{F(y)}\" fill=\"{color}\" stroke=\"#fff\" stroke-width=\"1\"{open}{Close("polygon")}",
            _ => $"<circle class=\"{cssClass}\" cx=\"{F(x)}\" cy=\"{F(y)}\" r=\"4.5\" fill=\"{color}\" stroke=\"#fff\" stroke-width=\"1\"{open}{Close("circle")}",
        };
    }
}
