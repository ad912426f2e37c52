using EfficientML.Core;
using System.Globalization;
using System.Text;
using EfficientML.Routing;
using Plotly.NET;
using static EfficientML.Interactive.ColouredText;
using static TorchSharp.torch;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// Charts of DynaMoE token-difficulty routing: the text coloured by the expert each character used (styled HTML text), and
/// as plotly charts the share of tokens on each expert per layer, validation loss against MLP compute for routed and
/// static-width variants, and the difficulty labels' shares. Experts are shaded on one sequential scale throughout: the
/// smallest light, the full MLP dark.
/// </summary>
public static class RoutingCharts
{
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

        var id = $"efml-token-experts-{Guid.NewGuid():N}";
        var html = new StringBuilder();
        html.Append($"<div id=\"{id}\" class=\"efml-token-experts\" style=\"{Html.BlockStyle};color:{Ink}\">");
        html.Append("<div style=\"display:flex;flex-wrap:wrap;align-items:center;gap:6px 14px;margin-bottom:6px\">");
        html.Append($"<b>{Html.Encode(title ?? "Expert size per character")}</b>");
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
                tip.Append($"\nlayer {l}: {Format.Percent(sizes.Fraction((int)chosen[l]), 0)} ({sizes.Neurons[(int)chosen[l]]} neurons)");
            if (layers > 1) tip.Append($"\nmean: {Format.Percent(mean, 1)}");
            html.Append($"<span style=\"background:{background};color:{ink}\" data-e=\"{string.Join(",", chosen)}\" title=\"{Html.Encode(tip.ToString())}\">");
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
    /// as in <see cref="RoutingPoint.Usage"/>. Hover a segment for its layer, expert and share.
    /// </summary>
    public static GenericChart ExpertUsage(IReadOnlyList<IReadOnlyList<double>> usage, ExpertSizes sizes, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(usage);
        ArgumentNullException.ThrowIfNull(sizes);
        if (usage.Count == 0) throw new InvalidSettingsException("Give the usage of at least one layer: (layers, experts).");
        for (int l = 0; l < usage.Count; l++)
            if (usage[l] is null || usage[l].Count != sizes.Count)
                throw new InvalidSettingsException($"Layer {l} has {usage[l]?.Count ?? 0} shares but there are {sizes.Count} experts ({sizes}).");
        var layers = Enumerable.Range(0, usage.Count).Select(l => $"layer {l}").ToList();
        var totals = usage.Select(row => row.Where(double.IsFinite).Sum()).ToList();
        double Share(int l, int j) => totals[l] > 0 && double.IsFinite(usage[l][j]) ? usage[l][j] / totals[l] : 0;
        var traces = new List<GenericChart>();
        for (int j = 0; j < sizes.Count; j++)
        {
            var shares = Enumerable.Range(0, usage.Count).Select(l => Share(l, j)).ToList();
            var (fill, ink) = Shade(sizes, sizes.Fraction(j));
            var name = $"expert {Format.Percent(sizes.Fraction(j), 0)} ({sizes.Neurons[j]} neurons)";
            var trace = Chart.Bar<double, string, string>(shares, Keys: layers, Name: name, ShowLegend: shares.Any(s => s > 0), UseDefaults: false);
            PlotParts.Traces(trace,
                ("x", shares.Select(s => s > 0 ? (object)s : null).ToArray()),           // a zero share draws (and hovers) nothing
                ("marker", new Dictionary<string, object> { ["color"] = fill, ["line"] = new Dictionary<string, object> { ["color"] = "#fff", ["width"] = 1 } }),
                ("text", shares.Select(s => s > 0 ? Format.Percent(s, 0) : "").ToArray()),
                ("textposition", "inside"), ("insidetextanchor", "middle"), ("textangle", 0),
                ("textfont", new Dictionary<string, object> { ["color"] = ink, ["size"] = 11 }));
            PlotParts.Hover(trace, shares.Select((s, l) => $"layer {l}, expert {Format.Percent(sizes.Fraction(j), 0)} ({sizes.Neurons[j]} neurons): {Format.Percent(s, 1)} of tokens"));
            traces.Add(trace);
        }
        int height = 200 + 30 * usage.Count;
        var chart = ChartStyle.Apply(Chart.Combine(traces), title ?? "Share of tokens on each expert, per layer",
            "share of the layer's tokens on each expert", null, height);
        PlotParts.Frame(chart, height, left: 70, right: 145, top: 82, bottom: 110, legendGap: 58);
        PlotParts.Axis(chart, "xaxis", ("range", new[] { 0.0, 1.0 }), ("tickformat", ".0%"), ("fixedrange", true));
        PlotParts.Axis(chart, "yaxis", ("type", "category"), ("autorange", "reversed"), ("automargin", true), ("fixedrange", true));
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("barmode", "stack");
        layout.SetProperty("bargap", 0.2);
        layout.SetProperty("uniformtext", new Dictionary<string, object> { ["mode"] = "hide", ["minsize"] = 10 });   // no label wider than its segment
        var header = PlotlyShapes.Label("paper", 1, "paper", 1, "active: mean share of<br>the MLP a token used", "left", "bottom", Muted, 11);
        header["xshift"] = 8;
        var annotations = new List<object> { header };
        for (int l = 0; l < usage.Count; l++)
        {
            double mean = Enumerable.Range(0, sizes.Count).Sum(j => Share(l, j) * sizes.Fraction(j));
            var label = PlotlyShapes.Label("paper", 1, "y", 0, totals[l] > 0 ? $"<b>active {Format.Percent(mean, 1)}</b>" : "no tokens", "left", "middle", Ink);
            label["y"] = layers[l];                                                          // category axis: placed by the layer's name
            label["xshift"] = 8;
            annotations.Add(label);
        }
        layout.SetProperty("annotations", annotations.ToArray());
        return chart;
    }

    // ───────────────────────────── loss vs compute ─────────────────────────────

    /// <summary>Whether any of <paramref name="points"/> has a finite validation loss, so that there is something to chart.</summary>
    public static bool AnyFinite(IEnumerable<RoutingPoint> points) => points.Any(p => double.IsFinite(p.ValidationLoss));

    /// <summary>
    /// <see cref="Pareto"/> as an HTML fragment, or a note in its place when no point has a finite loss (a broken training),
    /// so the rest of a study can still be shown.
    /// </summary>
    public static string ParetoFragment(IReadOnlyList<RoutingPoint> routed, IReadOnlyList<RoutingPoint> staticWidths, IReadOnlyList<RoutingPoint>? elastic = null, string? title = null) =>
        AnyFinite(routed.Concat(staticWidths).Concat(elastic ?? []))
            ? ChartHtml.Fragment(Pareto(routed, staticWidths, elastic, title))
            : $"<div style=\"margin:6px 0\">No chart: every validation loss is NaN or infinite, so the model the points were measured on is broken " +
              "(a fine-tuning that diverged; train again with a lower learning rate).</div>";

    /// <summary>
    /// Validation loss (bits per byte) against MLP compute per token (% of the dense MLP, routers included): the routed
    /// variants joined by a line and labelled with θ, the static widths of the same weights, and (when given) the static widths
    /// after the elastic baseline's fine-tuning, as separate series; a dashed line at the dense model's loss and another 2 %
    /// above it. The dense loss is that of the full static width (else the routed variant at θ = 1). Hover a point for its
    /// method, loss (and how far above the dense model), compute and active neurons.
    /// </summary>
    public static GenericChart Pareto(IReadOnlyList<RoutingPoint> routed, IReadOnlyList<RoutingPoint> staticWidths, IReadOnlyList<RoutingPoint>? elastic = null, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(routed);
        ArgumentNullException.ThrowIfNull(staticWidths);
        var series = new List<(string Name, List<RoutingPoint> Points, string Color, string Symbol, bool Labels)>
        {
            ("routed, labelled with θ", Finite(routed).OrderBy(p => p.Theta ?? 0).ThenBy(p => p.ComputeFraction).ToList(), ChartStyle.Palette[0], "circle", true),
            ("static widths, same weights", Finite(staticWidths).OrderBy(p => p.ComputeFraction).ToList(), ChartStyle.Palette[1], "square", false),
        };
        if (elastic is not null)
            series.Add(("static widths, elastic baseline", Finite(elastic).OrderBy(p => p.ComputeFraction).ToList(), ChartStyle.Palette[2], "diamond", false));
        series.RemoveAll(s => s.Points.Count == 0);                                          // the legend lists only what is drawn
        var all = series.SelectMany(s => s.Points).ToList();
        if (all.Count == 0) throw new InvalidSettingsException("Give at least one routing point with a finite loss.");
        double? dense = DenseBits(routed, staticWidths);

        const int height = 450, top = 62, bottom = 100, plotWidth = 760;
        var xs = all.Select(p => 100 * p.ComputeFraction).ToList();
        var ys = all.Select(p => p.ValidationBits).ToList();
        if (dense is double d) { ys.Add(d); ys.Add(d * 1.02); }
        var (xLow, xHigh) = Padded(xs.Min(), xs.Max(), 0.06);
        var (yLow, yHigh) = Padded(ys.Min(), ys.Max(), 0.08);
        // θ labels only where they do not cover earlier ones (close θs crowd the low-compute end), judged in pixels of a typical plot.
        double Px(double percent) => (percent - xLow) / (xHigh - xLow) * plotWidth;
        double Py(double bits) => (yHigh - bits) / (yHigh - yLow) * (height - top - bottom);
        var placed = new List<(double X, double Y)>();
        var traces = new List<GenericChart>();
        foreach (var s in series)
        {
            var trace = Chart.Line<double, double, string>(s.Points.Select(p => 100 * p.ComputeFraction), s.Points.Select(p => p.ValidationBits),
                ShowMarkers: true, Name: s.Name, ShowLegend: true, UseDefaults: false);
            PlotParts.Traces(trace,
                ("mode", s.Labels ? "lines+markers+text" : "lines+markers"),
                ("line", new Dictionary<string, object> { ["color"] = s.Color, ["width"] = 2 }),
                ("marker", new Dictionary<string, object> { ["color"] = s.Color, ["symbol"] = s.Symbol, ["size"] = 9, ["line"] = new Dictionary<string, object> { ["color"] = "#fff", ["width"] = 1 } }));
            if (s.Labels)
            {
                var labels = s.Points.Select(p =>
                {
                    if (p.Theta is not double theta) return "";
                    double x = Px(100 * p.ComputeFraction), y = Py(p.ValidationBits);
                    if (placed.Any(q => Math.Abs(q.X - x) < 26 && Math.Abs(q.Y - y) < 13)) return "";
                    placed.Add((x, y));
                    return Format.Number(theta);
                }).ToArray();
                PlotParts.Traces(trace, ("text", labels), ("textposition", "top right"),
                    ("textfont", new Dictionary<string, object> { ["color"] = s.Color, ["size"] = 11 }));
            }
            traces.Add(PlotParts.Hover(trace, s.Points.Select(p => Hover(p, dense))));
        }
        var chart = ChartStyle.Apply(Chart.Combine(traces), title ?? "Validation loss vs MLP compute",
            "MLP compute per token (% of the dense MLP, routers included)", "validation loss (bits per byte)", height);
        PlotParts.Frame(chart, height, top: top, bottom: bottom, legendGap: 52);
        PlotParts.Axis(chart, "xaxis", ("range", new[] { xLow, xHigh }), ("ticksuffix", "%"));
        PlotParts.Axis(chart, "yaxis", ("range", new[] { yLow, yHigh }));
        if (dense is double bits)
        {
            var layout = GenericChart.getLayout(chart);
            layout.SetProperty("shapes", new object[]
            {
                PlotlyShapes.HorizontalLine(bits, DenseColor, "dash"),
                PlotlyShapes.HorizontalLine(bits * 1.02, ToleranceColor, "dash"),
            });
            // Labelled at the left, where less compute costs loss and the points run high: the dense one under its line, +2 % over its own.
            var denseLabel = PlotlyShapes.Label("paper", 0, "y", bits, $"dense model: {Format.Fixed(bits, 3)} bits/byte", "left", "top", DenseColor, 11);
            var withinLabel = PlotlyShapes.Label("paper", 0, "y", bits * 1.02, $"dense +2%: {Format.Fixed(bits * 1.02, 3)} bits/byte", "left", "bottom", ToleranceColor, 11);
            foreach (var label in new[] { denseLabel, withinLabel })
            {
                label["bgcolor"] = "rgba(255,255,255,0.85)";
                label["xshift"] = 4;
            }
            layout.SetProperty("annotations", new object[] { denseLabel, withinLabel });
        }
        return chart;
    }

    // ───────────────────────────── difficulty labels ─────────────────────────────

    /// <summary>
    /// The difficulty labels' distribution: one bar per expert (smallest first) with the share of tokens whose smallest
    /// adequate expert it is (as from <see cref="DifficultyLabels.Shares"/>), written over the bar.
    /// </summary>
    public static GenericChart LabelShares(IReadOnlyList<double> shares, ExpertSizes sizes, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(shares);
        ArgumentNullException.ThrowIfNull(sizes);
        if (shares.Count != sizes.Count)
            throw new InvalidSettingsException($"{shares.Count} shares for {sizes.Count} experts ({sizes}): give one per expert, smallest first.");
        double total = shares.Where(double.IsFinite).Sum();
        var normalised = shares.Select(s => total > 0 && double.IsFinite(s) ? s / total : 0).ToList();
        var experts = Enumerable.Range(0, sizes.Count).Select(j => $"{Format.Percent(sizes.Fraction(j), 0)}<br>{sizes.Neurons[j]} neurons").ToList();
        var chart = Chart.Column<double, string, string>(normalised, Keys: experts, Name: "labels", ShowLegend: false, UseDefaults: false);
        PlotParts.Traces(chart,
            ("marker", new Dictionary<string, object> { ["color"] = Enumerable.Range(0, sizes.Count).Select(j => Shade(sizes, sizes.Fraction(j)).Background).ToArray() }),
            ("text", normalised.Select(s => $"<b>{Format.Percent(s, 1)}</b>").ToArray()),
            ("textposition", "outside"), ("cliponaxis", false));
        PlotParts.Hover(chart, normalised.Select((s, j) => $"expert {Format.Percent(sizes.Fraction(j), 0)} ({sizes.Neurons[j]} neurons): {Format.Percent(s, 1)} of tokens"));
        const int height = 320;
        chart = ChartStyle.Apply(chart, title ?? "Difficulty labels: each token's smallest adequate expert",
            "smallest adequate expert (share of the MLP, neurons)", "share of tokens", height);
        PlotParts.Frame(chart, height, bottom: 80);
        PlotParts.Axis(chart, "yaxis", ("range", new[] { 0, Math.Max(1e-9, normalised.Max()) * 1.18 }), ("tickformat", ".0%"), ("rangemode", "tozero"));
        PlotParts.Axis(chart, "xaxis", ("type", "category"));
        GenericChart.getLayout(chart).SetProperty("bargap", 0.3);
        return chart;
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
                   $"text-align:center;border-radius:3px;background:{fill};color:{ink}\">{Format.Percent(sizes.Fraction(j), 0)}</span>" +
                   $"<span style=\"color:{Muted}\">{sizes.Neurons[j]} neurons</span></span>";
        })) +
        "</span>";

    /// <summary>[low, high] widened by <paramref name="share"/> of its span on each side (a point's span: ±5 % of it, at least ±0.5).</summary>
    static (double Low, double High) Padded(double low, double high, double share)
    {
        if (!(high > low))
        {
            double pad = Math.Max(Math.Abs(low) * 0.05, 0.5);
            return (low - pad, high + pad);
        }
        double span = high - low;
        return (low - span * share, high + span * share);
    }

    static IEnumerable<RoutingPoint> Finite(IEnumerable<RoutingPoint> points) =>
        points.Where(p => p is not null && double.IsFinite(p.ValidationBits) && double.IsFinite(p.ComputeFraction));

    /// <summary>Bits per byte of the dense model: the full static width, else the routed variant at θ = 1.</summary>
    static double? DenseBits(IReadOnlyList<RoutingPoint> routed, IReadOnlyList<RoutingPoint> staticWidths)
    {
        var full = Finite(staticWidths).Where(p => Math.Abs(p.ActiveFraction - 1) < 1e-9).Select(p => (double?)p.ValidationBits).FirstOrDefault();
        return full ?? Finite(routed).Where(p => p.Theta == 1).Select(p => (double?)p.ValidationBits).FirstOrDefault();
    }

    static string Hover(RoutingPoint p, double? dense) =>
        $"{p.Method}: {Format.Fixed(p.ValidationBits, 3)} bits/byte" +
        (dense is double d && d > 0 ? $" ({RoutingPointHtml.Signed(p.ValidationBits / d - 1)} vs dense)" : "") +
        $"<br>compute {Format.Percent(p.ComputeFraction, 1)} of the dense MLP (active neurons {Format.Percent(p.ActiveFraction, 1)})";

    static string Character(Rune rune) => rune.Value switch
    {
        '\n' or '\t' => rune.ToString(),
        < 0x20 => ((char)(0x2400 + rune.Value)).ToString(),   // control characters as their visible symbols (␍ …)
        0x7f => "\u2421",
        _ => Html.Encode(rune.ToString()),
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
