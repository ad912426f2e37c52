using EfficientML.Core;
using System.Globalization;
using System.Text;
using EfficientML.Routing;
using static EfficientML.Interactive.SvgParts;
using static TorchSharp.torch;

namespace EfficientML.Interactive;

/// <summary>
/// Charts of DynaMoE token-difficulty routing as self-contained HTML (inline SVG and styled text, no chart library, so
/// they draw wherever HTML does): the text coloured by the expert each character used, the share of tokens on each expert
/// per layer, validation loss against MLP compute for routed and static-width variants, and the difficulty labels' shares.
/// Experts are shaded on one sequential scale throughout: the smallest light, the full MLP dark.
/// </summary>
public static class RoutingCharts
{
    /// <summary>Width in SVG units of the wide charts (they scale down to narrower outputs).</summary>
    public const int Width = 860;

    /// <summary>Longest text <see cref="TokenExperts(string, long[,], ExpertSizes, string?)"/> draws (each character is one element).</summary>
    public const int MaxCharacters = 20_000;

    const string DenseColor = "#333";
    const string ToleranceColor = "#d62728";

    // Sequential blues: light (smallest expert) to dark (the full MLP).
    static readonly (double At, int R, int G, int B)[] Scale =
        [(0, 0xde, 0xeb, 0xf7), (0.33, 0x9e, 0xca, 0xe1), (0.66, 0x42, 0x92, 0xc6), (1, 0x08, 0x30, 0x6b)];

    // ───────────────────────────── token colouring ─────────────────────────────

    /// <summary>
    /// <paramref name="text"/> with each character's background shaded by the expert size it used: by default the mean
    /// MLP fraction over layers (drawn without script), and with a selector (a small inline script) one layer's expert.
    /// <paramref name="experts"/> is (L, T) expert indices for the text's tokens: T is the number of characters, or of UTF-8
    /// bytes for a byte-level model (a character of several bytes then shows the largest expert among its bytes). Each
    /// character has a tooltip with its expert in every layer; newlines are kept; everything is HTML-escaped.
    /// </summary>
    public static string TokenExperts(string text, long[,] experts, ExpertSizes sizes, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(experts);
        ArgumentNullException.ThrowIfNull(sizes);
        var runes = text.EnumerateRunes().ToList();
        if (runes.Count > MaxCharacters)
            throw new InvalidSettingsException($"The text has {runes.Count:N0} characters; the colouring draws at most {MaxCharacters:N0}: give a shorter passage.");
        int layers = experts.GetLength(0), tokens = experts.GetLength(1);
        if (layers < 1) throw new InvalidSettingsException("Give the experts of at least one layer: (layers, tokens).");
        int bytes = runes.Sum(r => r.Utf8SequenceLength);
        bool perByte = tokens != runes.Count;
        if (perByte && tokens != bytes)
            throw new InvalidSettingsException($"The experts cover {tokens} tokens but the text has {runes.Count} characters ({bytes} UTF-8 bytes): give one column per character, " +
                "or per byte for a byte-level model, for exactly this text.");
        for (int l = 0; l < layers; l++)
            for (int t = 0; t < tokens; t++)
                if (experts[l, t] < 0 || experts[l, t] >= sizes.Count)
                    throw new InvalidSettingsException($"Expert index {experts[l, t]} (layer {l}, token {t}) does not exist: there are {sizes.Count} ({sizes}).");

        var id = NewId("efml-token-experts");
        var html = new StringBuilder();
        html.Append($"<div id=\"{id}\" class=\"efml-token-experts\" style=\"font-family:{Font};font-size:13px;color:{Ink}\">");
        html.Append("<div style=\"display:flex;flex-wrap:wrap;align-items:center;gap:6px 14px;margin-bottom:6px\">");
        html.Append($"<b>{Encode(title ?? "Expert size per character")}</b>");
        html.Append("<label>show <select class=\"efml-layer\" style=\"font:inherit\">");
        html.Append("<option value=\"mean\" selected=\"selected\">mean over layers</option>");
        for (int l = 0; l < layers; l++) html.Append($"<option value=\"{l}\">layer {l}</option>");
        html.Append("</select></label>");
        html.Append(Legend(sizes));
        html.Append("</div>");
        html.Append($"<div class=\"efml-text\" style=\"white-space:pre-wrap;overflow-wrap:anywhere;font-family:{Mono};" +
                    "font-size:13.5px;line-height:1.75;padding:8px 10px;border:1px solid #ddd;border-radius:4px;max-height:560px;overflow-y:auto\">");
        int token = 0;
        var chosen = new long[layers];
        foreach (var rune in runes)
        {
            int span = perByte ? rune.Utf8SequenceLength : 1;
            for (int l = 0; l < layers; l++)
            {
                long e = 0;
                for (int b = 0; b < span; b++) e = Math.Max(e, experts[l, token + b]);
                chosen[l] = e;
            }
            token += span;
            double mean = chosen.Average(e => sizes.Fraction((int)e));
            var (background, ink) = Shade(sizes, mean);
            var tip = new StringBuilder(Visible(rune));
            for (int l = 0; l < layers; l++)
                tip.Append($"\nlayer {l}: {Percent(sizes.Fraction((int)chosen[l]))} ({sizes.Neurons[(int)chosen[l]]} neurons)");
            if (layers > 1) tip.Append($"\nmean: {Percent(mean, 1)}");
            html.Append($"<span style=\"background:{background};color:{ink}\" data-e=\"{string.Join(",", chosen)}\" title=\"{Encode(tip.ToString())}\">");
            html.Append(Character(rune)).Append("</span>");
        }
        html.Append("</div>");
        html.Append($"<div style=\"color:{Muted};margin-top:4px\">Shade: the share of the MLP each character used (its expert); " +
                    "mean over layers by default. Hover a character for its expert in every layer.</div>");
        var colors = Enumerable.Range(0, sizes.Count).Select(j => Shade(sizes, sizes.Fraction(j))).ToList();
        html.Append("<script type=\"text/javascript\">//<![CDATA[\n(function () {\n");
        html.Append($"  var root = document.getElementById(\"{id}\");\n  if (!root) return;\n");
        html.Append($"  var colors = [{string.Join(",", colors.Select(c => $"\"{c.Background}\""))}];\n");
        html.Append($"  var inks = [{string.Join(",", colors.Select(c => $"\"{c.Ink}\""))}];\n");
        html.Append("""
              var spans = root.querySelectorAll("span[data-e]");
              var select = root.querySelector("select.efml-layer");
              select.addEventListener("change", function () {
                for (var i = 0; i !== spans.length; i++) {
                  var s = spans[i];
                  if (!s.hasAttribute("data-m")) s.setAttribute("data-m", s.getAttribute("style"));
                  if (select.value === "mean") { s.setAttribute("style", s.getAttribute("data-m")); continue; }
                  var e = parseInt(s.getAttribute("data-e").split(",")[parseInt(select.value, 10)], 10);
                  s.style.background = colors[e];
                  s.style.color = inks[e];
                }
              });
            })();
            //]]></script>
            """);
        html.Append("</div>");
        return html.ToString();
    }

    /// <summary>
    /// <see cref="TokenExperts(string, long[,], ExpertSizes, string?)"/> from a tensor of expert indices, (L, T) or (L, 1, T)
    /// (e.g. <see cref="RoutedForward.Experts"/> of one sequence).
    /// </summary>
    public static string TokenExperts(string text, Tensor experts, ExpertSizes sizes, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(experts);
        if (experts.dim() == 3 && experts.shape[1] == 1) experts = experts.select(1, 0);
        if (experts.dim() != 2)
            throw new InvalidSettingsException($"Experts must be (layers, tokens) or (layers, 1, tokens) for one text, not [{string.Join(", ", experts.shape)}].");
        long layers = experts.shape[0], tokens = experts.shape[1];
        long[] flat;
        using (var cpu = experts.detach().to(CPU).to_type(ScalarType.Int64).contiguous()) flat = cpu.data<long>().ToArray();
        var matrix = new long[layers, tokens];
        for (long l = 0; l < layers; l++)
            for (long t = 0; t < tokens; t++) matrix[l, t] = flat[l * tokens + t];
        return TokenExperts(text, matrix, sizes, title);
    }

    // ───────────────────────────── expert usage ─────────────────────────────

    /// <summary>
    /// Per layer, a stacked horizontal bar of the share of tokens on each expert (smallest first, shaded as in the legend),
    /// with the mean share of the MLP a token used in that layer written beside the bar. <paramref name="usage"/> is (L, K),
    /// as in <see cref="RoutingPoint.Usage"/>.
    /// </summary>
    public static string ExpertUsage(IReadOnlyList<IReadOnlyList<double>> usage, ExpertSizes sizes, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(usage);
        ArgumentNullException.ThrowIfNull(sizes);
        if (usage.Count == 0) throw new InvalidSettingsException("Give the usage of at least one layer: (layers, experts).");
        for (int l = 0; l < usage.Count; l++)
            if (usage[l] is null || usage[l].Count != sizes.Count)
                throw new InvalidSettingsException($"Layer {l} has {usage[l]?.Count ?? 0} shares but there are {sizes.Count} experts ({sizes}).");
        const int left = 78, right = 150, top = 52, row = 26, gap = 8;
        int barWidth = Width - left - right, height = top + usage.Count * (row + gap) + 44;
        var svg = Svg(Width, height, "efml-expert-usage");
        svg.Append(Label(0, 16, title ?? "Share of tokens on each expert, per layer", 14, anchor: "start", weight: "600"));
        svg.Append(SvgLegend(sizes, 0, 38));
        var means = new List<double>();
        for (int l = 0; l < usage.Count; l++)
        {
            double y = top + l * (row + gap), total = usage[l].Sum(), x = left;
            svg.Append(Label(left - 10, y + row / 2.0 + 4.5, $"layer {l}", 12.5, anchor: "end"));
            double mean = 0;
            for (int j = 0; j < sizes.Count; j++)
            {
                double share = total > 0 ? usage[l][j] / total : 0;
                mean += share * sizes.Fraction(j);
                if (share <= 0) continue;
                double w = share * barWidth;
                var (fill, ink) = Shade(sizes, sizes.Fraction(j));
                svg.Append($"<rect x=\"{F(x)}\" y=\"{F(y)}\" width=\"{F(w)}\" height=\"{row}\" fill=\"{fill}\" stroke=\"#fff\" stroke-width=\"1\">" +
                           $"<title>{Encode($"layer {l}, expert {Percent(sizes.Fraction(j))} ({sizes.Neurons[j]} neurons): {Percent(share, 1)} of tokens")}</title></rect>");
                if (w >= 34) svg.Append(Label(x + w / 2, y + row / 2.0 + 4.5, Percent(share), 11.5, ink));
                x += w;
            }
            if (total <= 0)
                svg.Append($"<rect x=\"{left}\" y=\"{F(y)}\" width=\"{barWidth}\" height=\"{row}\" fill=\"none\" stroke=\"#ccc\" stroke-dasharray=\"4 3\"/>");
            means.Add(mean);
            svg.Append(Label(left + barWidth + 10, y + row / 2.0 + 4.5, total > 0 ? $"active {Percent(mean, 1)}" : "no tokens", 12.5, anchor: "start", weight: "600"));
        }
        double axisY = top + usage.Count * (row + gap) - gap + 4;
        foreach (var tick in new[] { 0, 0.25, 0.5, 0.75, 1.0 })
            svg.Append(Label(left + tick * barWidth, axisY + 12, Percent(tick), 11, Muted));
        svg.Append(Label(left + barWidth / 2.0, axisY + 30, "share of the layer's tokens on each expert", 12));
        svg.Append(Label(left + barWidth + 30, axisY + 12, "active: mean share of", 11, Muted, anchor: "start"));
        svg.Append(Label(left + barWidth + 30, axisY + 25, "the MLP a token used", 11, Muted, anchor: "start"));
        return Wrap(svg, "efml-expert-usage-chart", Width);
    }

    // ───────────────────────────── loss vs compute ─────────────────────────────

    /// <summary>
    /// Validation loss (bits per byte) against MLP compute per token (% of the dense MLP, routers included): the routed
    /// variants joined by a line and labelled with θ, the static widths of the same weights, and (when given) the static widths
    /// after the elastic baseline's fine-tuning, as separate series; a dashed line at the dense model's loss and another 2 %
    /// above it. The dense loss is that of the full static width (else the routed variant at θ = 1).
    /// </summary>
    public static string Pareto(IReadOnlyList<RoutingPoint> routed, IReadOnlyList<RoutingPoint> staticWidths, IReadOnlyList<RoutingPoint>? elastic = null, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(routed);
        ArgumentNullException.ThrowIfNull(staticWidths);
        var series = new List<(string Name, List<RoutingPoint> Points, string Color, string Marker, bool Labels)>
        {
            ("routed, labelled with θ", Finite(routed).OrderBy(p => p.Theta ?? 0).ThenBy(p => p.ComputeFraction).ToList(), ChartStyle.Palette[0], "circle", true),
            ("static widths, same weights", Finite(staticWidths).OrderBy(p => p.ComputeFraction).ToList(), ChartStyle.Palette[1], "square", false),
        };
        if (elastic is not null)
            series.Add(("static widths, elastic baseline", Finite(elastic).OrderBy(p => p.ComputeFraction).ToList(), ChartStyle.Palette[2], "diamond", false));
        var all = series.SelectMany(s => s.Points).ToList();
        if (all.Count == 0) throw new InvalidSettingsException("Give at least one routing point with a finite loss.");
        double? dense = DenseBits(routed, staticWidths);

        const int left = 70, right = 24, top = 58, bottom = 58, height = 440;
        int plotW = Width - left - right, plotH = height - top - bottom;
        var xs = all.Select(p => 100 * p.ComputeFraction).ToList();
        var ys = all.Select(p => p.ValidationBits).ToList();
        if (dense is double d) { ys.Add(d); ys.Add(d * 1.02); }
        var (xTicks, xLow, xHigh) = Ticks(xs.Min(), xs.Max(), 7);
        var (yTicks, yLow, yHigh) = Ticks(ys.Min(), ys.Max(), 6);
        double X(double percent) => left + (percent - xLow) / (xHigh - xLow) * plotW;
        double Y(double bits) => top + (yHigh - bits) / (yHigh - yLow) * plotH;

        var svg = Svg(Width, height, "efml-pareto");
        svg.Append(Label(0, 16, title ?? "Validation loss vs MLP compute", 14, anchor: "start", weight: "600"));
        // Legend: one entry per series, on one line under the title.
        double lx = 0;
        foreach (var s in series)
        {
            svg.Append($"<line x1=\"{F(lx)}\" y1=\"36\" x2=\"{F(lx + 22)}\" y2=\"36\" stroke=\"{s.Color}\" stroke-width=\"2\"/>");
            svg.Append(Marker(s.Marker, lx + 11, 36, s.Color, null, "efml-legend-marker"));
            svg.Append($"<text class=\"efml-series\" x=\"{F(lx + 28)}\" y=\"40\" font-size=\"12.5\" fill=\"{Ink}\">{Encode(s.Name)}</text>");
            lx += 40 + s.Name.Length * 6.6;
        }
        // Grid and axes.
        foreach (var t in xTicks)
        {
            svg.Append($"<line x1=\"{F(X(t))}\" y1=\"{top}\" x2=\"{F(X(t))}\" y2=\"{top + plotH}\" stroke=\"#eee\"/>");
            svg.Append(Label(X(t), top + plotH + 16, Number(t) + "%", 11.5, Muted));
        }
        foreach (var t in yTicks)
        {
            svg.Append($"<line x1=\"{left}\" y1=\"{F(Y(t))}\" x2=\"{left + plotW}\" y2=\"{F(Y(t))}\" stroke=\"#eee\"/>");
            svg.Append(Label(left - 6, Y(t) + 4, Number(t), 11.5, Muted, anchor: "end"));
        }
        svg.Append($"<rect x=\"{left}\" y=\"{top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#bbb\"/>");
        svg.Append(Label(left + plotW / 2.0, height - 14, "MLP compute per token (% of the dense MLP, routers included)", 12.5));
        svg.Append(VerticalText(14, top + plotH / 2.0, "validation loss (bits per byte)"));
        if (dense is double bits)
        {
            // Labelled at the left, where less compute costs loss and the points run high: the dense one under its line, +2 % over its own.
            svg.Append(HorizontalLine(left, left + plotW, Y(bits), DenseColor, "efml-dense",
                $"dense model: {bits.ToString("0.000", CultureInfo.InvariantCulture)} bits/byte", below: true));
            svg.Append(HorizontalLine(left, left + plotW, Y(bits * 1.02), ToleranceColor, "efml-within-2pct",
                $"dense +2%: {(bits * 1.02).ToString("0.000", CultureInfo.InvariantCulture)} bits/byte", below: false));
        }
        // Series: lines first, then markers and labels on top.
        foreach (var s in series.Where(s => s.Points.Count > 1))
            svg.Append($"<polyline class=\"efml-line\" fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\" stroke-opacity=\"0.85\" points=\"" +
                       string.Join(" ", s.Points.Select(p => $"{F(X(100 * p.ComputeFraction))},{F(Y(p.ValidationBits))}")) + "\"/>");
        var placed = new List<(double X, double Y)>();
        foreach (var s in series)
            foreach (var p in s.Points)
            {
                double px = X(100 * p.ComputeFraction), py = Y(p.ValidationBits);
                svg.Append(Marker(s.Marker, px, py, s.Color, Hover(p, dense), "efml-point"));
                if (!s.Labels || p.Theta is not double theta) continue;
                // A label only where it does not cover the previous ones (close θs crowd the low-compute end).
                double tx = px + 7, ty = py - 8;
                if (placed.Any(q => Math.Abs(q.X - tx) < 26 && Math.Abs(q.Y - ty) < 13)) continue;
                placed.Add((tx, ty));
                svg.Append($"<text class=\"efml-theta\" x=\"{F(tx)}\" y=\"{F(ty)}\" font-size=\"11.5\" fill=\"{s.Color}\" {Halo}>{Number(theta)}</text>");
            }
        return Wrap(svg, "efml-pareto-chart", Width);
    }

    // ───────────────────────────── difficulty labels ─────────────────────────────

    /// <summary>
    /// The difficulty labels' distribution: one bar per expert (smallest first) with the share of tokens whose smallest
    /// adequate expert it is (as from <see cref="DifficultyLabels.Shares"/>).
    /// </summary>
    public static string LabelShares(IReadOnlyList<double> shares, ExpertSizes sizes, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(shares);
        ArgumentNullException.ThrowIfNull(sizes);
        if (shares.Count != sizes.Count)
            throw new InvalidSettingsException($"{shares.Count} shares for {sizes.Count} experts ({sizes}): give one per expert, smallest first.");
        const int width = 480, height = 250, left = 16, top = 44, bottom = 46;
        int plotH = height - top - bottom, slot = (width - 2 * left) / sizes.Count;
        double total = shares.Where(double.IsFinite).Sum(), highest = Math.Max(1e-12, shares.Where(double.IsFinite).DefaultIfEmpty(0).Max() / Math.Max(total, 1e-12));
        var svg = Svg(width, height, "efml-label-shares");
        svg.Append(Label(0, 16, title ?? "Difficulty labels: each token's smallest adequate expert", 13.5, anchor: "start", weight: "600"));
        for (int j = 0; j < sizes.Count; j++)
        {
            double share = total > 0 && double.IsFinite(shares[j]) ? shares[j] / total : 0;
            double h = share / highest * (plotH - 16), x = left + j * slot + slot * 0.15, w = slot * 0.7, y = top + plotH - h;
            var (fill, _) = Shade(sizes, sizes.Fraction(j));
            svg.Append($"<rect x=\"{F(x)}\" y=\"{F(y)}\" width=\"{F(w)}\" height=\"{F(Math.Max(h, 0.5))}\" fill=\"{fill}\">" +
                       $"<title>{Encode($"expert {Percent(sizes.Fraction(j))} ({sizes.Neurons[j]} neurons): {Percent(share, 1)} of tokens")}</title></rect>");
            svg.Append(Label(x + w / 2, y - 5, Percent(share, 1), 12, weight: "600"));
            svg.Append(Label(x + w / 2, top + plotH + 16, Percent(sizes.Fraction(j)), 12));
            svg.Append(Label(x + w / 2, top + plotH + 31, $"{sizes.Neurons[j]} neurons", 11, Muted));
        }
        svg.Append($"<line x1=\"{left}\" y1=\"{top + plotH}\" x2=\"{width - left}\" y2=\"{top + plotH}\" stroke=\"#bbb\"/>");
        return Wrap(svg, "efml-label-shares-chart", width);
    }

    // ───────────────────────────── shared pieces ─────────────────────────────

    /// <summary>Background and text colour for a share of the MLP on the experts' scale (smallest expert light, full MLP dark).</summary>
    public static (string Background, string Ink) Shade(ExpertSizes sizes, double fraction)
    {
        double smallest = sizes.Fraction(0);
        double t = smallest >= 1 ? 1 : Math.Clamp((fraction - smallest) / (1 - smallest), 0, 1);
        int i = 1;
        while (i < Scale.Length - 1 && t > Scale[i].At) i++;
        var (a, b) = (Scale[i - 1], Scale[i]);
        double u = (t - a.At) / (b.At - a.At);
        int Mix(int p, int q) => (int)Math.Round(p + (q - p) * u);
        var color = $"#{Mix(a.R, b.R):x2}{Mix(a.G, b.G):x2}{Mix(a.B, b.B):x2}";
        return (color, t >= 0.55 ? "#fff" : "#111");
    }

    /// <summary>The legend of the experts' shades as HTML: one swatch per expert with its fraction and neurons.</summary>
    static string Legend(ExpertSizes sizes) =>
        "<span class=\"efml-legend\" style=\"display:inline-flex;flex-wrap:wrap;gap:4px 10px;align-items:center\">" +
        string.Concat(Enumerable.Range(0, sizes.Count).Select(j =>
        {
            var (fill, ink) = Shade(sizes, sizes.Fraction(j));
            return $"<span style=\"display:inline-flex;align-items:center;gap:4px\"><span style=\"display:inline-block;min-width:38px;padding:0 4px;" +
                   $"text-align:center;border-radius:3px;background:{fill};color:{ink}\">{Percent(sizes.Fraction(j))}</span>" +
                   $"<span style=\"color:{Muted}\">{sizes.Neurons[j]} neurons</span></span>";
        })) +
        "</span>";

    /// <summary>One row of swatches from <paramref name="left"/>: each expert's share of the MLP and its neurons.</summary>
    static string SvgLegend(ExpertSizes sizes, double left, double y)
    {
        var parts = new StringBuilder(Label(left, y + 1.5, "expert (neurons):", 11.5, Muted, anchor: "start"));
        double x = left + 108;
        for (int j = 0; j < sizes.Count; j++)
        {
            var label = $"{Percent(sizes.Fraction(j))} ({sizes.Neurons[j]})";
            var (fill, _) = Shade(sizes, sizes.Fraction(j));
            parts.Append($"<rect x=\"{F(x)}\" y=\"{F(y - 10)}\" width=\"14\" height=\"14\" rx=\"2\" fill=\"{fill}\" stroke=\"#ccc\" stroke-width=\"0.5\"/>" +
                         Label(x + 18, y + 1.5, label, 11.5, anchor: "start"));
            x += 18 + label.Length * 6.6 + 14;
        }
        return $"<g class=\"efml-legend\">{parts}</g>";
    }

    static IEnumerable<RoutingPoint> Finite(IEnumerable<RoutingPoint> points) =>
        points.Where(p => p is not null && double.IsFinite(p.ValidationBits) && double.IsFinite(p.ComputeFraction));

    /// <summary>Bits per byte of the dense model: the full static width, else the routed variant at θ = 1.</summary>
    static double? DenseBits(IReadOnlyList<RoutingPoint> routed, IReadOnlyList<RoutingPoint> staticWidths)
    {
        var full = Finite(staticWidths).Where(p => Math.Abs(p.ActiveFraction - 1) < 1e-9).Select(p => (double?)p.ValidationBits).FirstOrDefault();
        return full ?? Finite(routed).Where(p => p.Theta == 1).Select(p => (double?)p.ValidationBits).FirstOrDefault();
    }

    static string Hover(RoutingPoint p, double? dense)
    {
        var text = $"{p.Method}: {p.ValidationBits.ToString("0.000", CultureInfo.InvariantCulture)} bits/byte" +
                   (dense is double d && d > 0 ? $" ({(p.ValidationBits / d - 1).ToString("+0.0%;-0.0%;0.0%", CultureInfo.InvariantCulture)} vs dense)" : "") +
                   $", compute {Percent(p.ComputeFraction, 1)} of the dense MLP (active neurons {Percent(p.ActiveFraction, 1)})";
        return text;
    }

    static string HorizontalLine(double x0, double x1, double y, string color, string cssClass, string label, bool below) =>
        $"<g class=\"{cssClass}\"><line x1=\"{F(x0)}\" y1=\"{F(y)}\" x2=\"{F(x1)}\" y2=\"{F(y)}\" stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>" +
        Label(x0 + 6, below ? y + 14 : y - 5, label, 11.5, color, anchor: "start", halo: true) + "</g>";

    static string Character(Rune rune) => rune.Value switch
    {
        '\n' or '\t' => rune.ToString(),
        < 0x20 => ((char)(0x2400 + rune.Value)).ToString(),   // control characters as their visible symbols (␍ …)
        0x7f => "\u2421",
        _ => Encode(rune.ToString()),
    };

    static string Visible(Rune rune) => rune.Value switch
    {
        '\n' => "newline",
        '\t' => "tab",
        ' ' => "space",
        < 0x20 or 0x7f => $"U+{rune.Value:X4}",
        _ => $"‘{rune}’",
    };
}
