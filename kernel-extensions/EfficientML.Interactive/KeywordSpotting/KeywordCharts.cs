using EfficientML.Core;
using Plotly.NET;
using Plotly.NET.CSharp;
using System.Text;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// Charts of keyword spotting, from plain arrays: a confusion matrix, kernels side by side on one colour scale
/// (re-parameterisation), and a keyword dataset's summary (clips per class and split, voices per split, the noise's SNR).
/// Shares use a sequential blue scale; signed values a blue (negative), white (zero), red (positive) scale as
/// <see cref="HeatMap"/>.
/// </summary>
public static class KeywordCharts
{
    /// <summary>Most classes <see cref="ConfusionMatrix"/> draws (cells stay legible up to about 16).</summary>
    public const int MaxClasses = 40;

    /// <summary>Narrowest a confusion matrix's chart is, in pixels, so that its title fits beside plotly's tool bar.</summary>
    const int MinConfusionWidth = 520;

    /// <summary>Most cells <see cref="KernelPanels"/> draws over all panels.</summary>
    public const int MaxKernelCells = 40_000;

    /// <summary>Voices listed per split in <see cref="DatasetSummary"/> besides those shared with another split.</summary>
    public const int MaxVoicesShown = 10;

    /// <summary>Sequential blues for shares: near white (0) to dark blue (1).</summary>
    public static IReadOnlyList<string> Blues { get; } = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"];

    /// <summary>Diverging for signed values: blue (−limit), white (0), red (+limit), at even steps.</summary>
    public static IReadOnlyList<string> Diverging { get; } = ["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"];

    const string Font = "system-ui,-apple-system,'Segoe UI',sans-serif";
    const string Mono = "ui-monospace,SFMono-Regular,Menlo,Consolas,monospace";
    const string Ink = "#333";
    const string Muted = "#666";

    // ───────────────────────────── confusion matrix ─────────────────────────────

    /// <summary>
    /// A confusion matrix: rows are the true class, columns the predicted one, each cell shaded by its share of the row and
    /// showing its count (and, up to 16 classes, that share); each row's recall at its right end, and the overall accuracy
    /// in the title. Hover a cell for its count and share, a recall for the counts behind it.
    /// </summary>
    public static GenericChart ConfusionMatrix(int[,] counts, IReadOnlyList<string> labels, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(labels);
        int n = labels.Count;
        if (n == 0) throw new InvalidSettingsException("Give at least one class label.");
        if (n > MaxClasses) throw new InvalidSettingsException($"{n} classes: the matrix draws at most {MaxClasses} (cells stay legible up to about 16).");
        if (counts.GetLength(0) != n || counts.GetLength(1) != n)
            throw new InvalidSettingsException($"The counts are {counts.GetLength(0)}×{counts.GetLength(1)} but there are {n} labels: give {n}×{n} counts, rows the true class, columns the predicted one.");
        long total = 0, correct = 0;
        var rowTotals = new long[n];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
            {
                if (counts[r, c] < 0) throw new InvalidSettingsException($"Count [{r}, {c}] is {counts[r, c]}; counts cannot be negative.");
                rowTotals[r] += counts[r, c];
                total += counts[r, c];
                if (r == c) correct += counts[r, c];
            }
        double accuracy = total > 0 ? (double)correct / total : double.NaN;
        var names = labels.Select(l => Text(l ?? "")).ToList();

        bool withShares = n <= 16;
        var shares = new double[n][];
        var cellText = new string[n][];
        var hover = new string[n][];
        for (int r = 0; r < n; r++)
        {
            (shares[r], cellText[r], hover[r]) = (new double[n], new string[n], new string[n]);
            for (int c = 0; c < n; c++)
            {
                int count = counts[r, c];
                double share = rowTotals[r] > 0 ? (double)count / rowTotals[r] : 0;
                shares[r][c] = Math.Round(share, 4);
                var text = count == 0 ? "<span style=\"color:#bbb\">0</span>" :
                           withShares ? $"{Format.Count(count)}<br>{Format.Percent(share, 0)}" : Format.Count(count);
                cellText[r][c] = r == c && count > 0 ? $"<b>{text}</b>" : text;
                hover[r][c] = $"true {names[r]}, predicted {names[c]}: {Format.Count(count)}" +
                              (rowTotals[r] > 0 ? $" ({Format.Percent(share, 1)} of {names[r]})" : "");
            }
        }

        int cell = n <= 6 ? 52 : n <= 10 ? 42 : n <= 16 ? 36 : Math.Max(16, 560 / n);
        int longest = labels.Max(l => (l ?? "").Length);
        bool rotate = longest * 6.6 > cell - 4;
        // Turned column labels: at most 20 characters (the full name is in every cell's hover), 45° down to the left.
        var columnNames = labels.Select(l => Text(rotate ? Shorten(l ?? "", 20) : l ?? "")).ToList();
        int labelW = (int)Math.Min(170, 14 + longest * 6.8);
        var rowNames = labels.Select(l => Text(Shorten(l ?? "", (labelW - 10) / 6.6))).ToList();
        // Room under the matrix for the column labels (turned 45°: their length × sin 45° of height) and the axis title.
        int reach = rotate ? (int)(Math.Min(20, longest) * 7 * 0.71) + 8 : 16;
        int matrix = n * cell, left = labelW + 44, top = 56, bottom = reach + 48;
        int right = Math.Max(150, MinConfusionWidth - left - matrix);   // a small matrix keeps square cells; the margin grows

        var heatmap = Chart.Heatmap<double, int, int, string>(shares, X: Enumerable.Range(0, n).ToArray(), Y: Enumerable.Range(0, n).ToArray(),
            Name: "share of the row", UseDefaults: false);
        foreach (var trace in GenericChart.getTraces(heatmap))
        {
            trace.SetProperty("zmin", 0.0);
            trace.SetProperty("zmax", 1.0);
            trace.SetProperty("colorscale", Stops(Blues));
            trace.SetProperty("text", cellText);
            trace.SetProperty("texttemplate", "%{text}");
            trace.SetProperty("textfont", new Dictionary<string, object> { ["size"] = cell >= 40 ? 13 : cell >= 30 ? 11 : 9 });
            trace.SetProperty("hovertext", hover);
            trace.SetProperty("hoverinfo", "text");
            trace.SetProperty("xgap", 1);
            trace.SetProperty("ygap", 1);
            trace.SetProperty("colorbar", new Dictionary<string, object>
            {
                // Along the bar where it has room, else above it.
                ["title"] = new Dictionary<string, object> { ["text"] = "share of the row", ["side"] = matrix >= 150 ? "right" : "top" },
                ["x"] = 1 + 64.0 / matrix, ["xanchor"] = "left", ["thickness"] = 12, ["tickformat"] = ".0%", ["outlinewidth"] = 0,
            });
        }
        var titleLine = (title ?? "Confusion matrix") + " · accuracy " +
                        (total > 0 ? $"{Format.Percent(accuracy, 1)} ({Format.Count(correct)} of {Format.Count(total)})" : "– (no examples)");
        var chart = ChartStyle.Apply(heatmap, Text(titleLine), null, null, height: top + matrix + bottom);
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("width", left + matrix + right);
        layout.SetProperty("modebar", SmallModeBar);
        layout.SetProperty("margin", new Dictionary<string, object> { ["l"] = left, ["r"] = right, ["t"] = top, ["b"] = bottom });
        layout.SetProperty("xaxis", new Dictionary<string, object>
        {
            ["tickmode"] = "array", ["tickvals"] = Enumerable.Range(0, n).ToArray(), ["ticktext"] = columnNames.ToArray(),
            ["tickangle"] = rotate ? -45 : 0, ["range"] = new[] { -0.5, n - 0.5 }, ["showgrid"] = false, ["zeroline"] = false,
        });
        layout.SetProperty("yaxis", new Dictionary<string, object>
        {
            ["title"] = new Dictionary<string, object> { ["text"] = "true class" },
            ["tickmode"] = "array", ["tickvals"] = Enumerable.Range(0, n).ToArray(), ["ticktext"] = rowNames.ToArray(),
            ["range"] = new[] { n - 0.5, -0.5 }, ["showgrid"] = false, ["zeroline"] = false, ["automargin"] = true,
        });
        // Recall at the end of each row (right of the matrix, which fills the plot area), under a "recall" heading.
        var heading = PlotlyShapes.Label("paper", 1, "paper", 1, "recall", "left", "bottom", Muted, 11);
        heading["xshift"] = 8;
        // The column axis's title under the turned labels (plotly places an axis title by the labels' unturned height).
        var predicted = PlotlyShapes.Label("paper", 0.5, "paper", 0, "predicted class", "center", "top", Ink, 14);
        predicted["yshift"] = -(reach + 10);
        var annotations = new List<object> { heading, predicted };
        for (int r = 0; r < n; r++)
        {
            double recall = rowTotals[r] > 0 ? (double)counts[r, r] / rowTotals[r] : double.NaN;
            var label = PlotlyShapes.Label("paper", 1, "y", r, Format.Percent(recall, 1), "left", "middle", Ink, 12);
            label["xshift"] = 8;
            label["hovertext"] = rowTotals[r] > 0 ? $"recall of {names[r]}: {Format.Count(counts[r, r])} of {Format.Count(rowTotals[r])}" : $"no {names[r]} examples";
            annotations.Add(label);
        }
        layout.SetProperty("annotations", annotations.ToArray());
        return chart;
    }

    // ───────────────────────────── kernels ─────────────────────────────

    /// <summary>
    /// Small heat maps side by side on one shared symmetric colour scale (blue negative, white zero, red positive), e.g. for one
    /// output channel of a convolution, rows = input channels and columns = kernel taps. With <paramref name="asSum"/> a "+"
    /// stands between panels and "=" before the last: "k-wide branch + 1-wide branch (zero-padded) + identity = folded kernel".
    /// Every panel must have the same shape (zero-pad narrower kernels); hover a cell for its value.
    /// </summary>
    public static GenericChart KernelPanels(IReadOnlyList<(string Title, float[,] Values)> panels, string? title = null, string? rowLabel = null,
        string? columnLabel = null, bool asSum = false)
    {
        ArgumentNullException.ThrowIfNull(panels);
        if (panels.Count == 0) throw new InvalidSettingsException("Give at least one panel.");
        for (int p = 0; p < panels.Count; p++)
            if (panels[p].Values is null || panels[p].Values.GetLength(0) == 0 || panels[p].Values.GetLength(1) == 0)
                throw new InvalidSettingsException($"Panel {p} (‘{panels[p].Title}’) has no values.");
        int rows = panels[0].Values.GetLength(0), cols = panels[0].Values.GetLength(1), count = panels.Count;
        for (int p = 1; p < count; p++)
            if (panels[p].Values.GetLength(0) != rows || panels[p].Values.GetLength(1) != cols)
                throw new InvalidSettingsException($"Panel {p} (‘{panels[p].Title}’) is {panels[p].Values.GetLength(0)}×{panels[p].Values.GetLength(1)} but panel 0 (‘{panels[0].Title}’) is {rows}×{cols}: " +
                    "give every panel the same shape (zero-pad narrower kernels to the widest).");
        if ((long)rows * cols * count > MaxKernelCells)
            throw new InvalidSettingsException($"{count} panels of {rows}×{cols} are {Format.Count((long)rows * cols * count)} cells; draw at most {Format.Count(MaxKernelCells)}: show fewer channels.");
        if (asSum && count < 2) throw new InvalidSettingsException("A sum needs at least two panels: the parts and the result.");

        double limit = 0;
        foreach (var (_, values) in panels)
            foreach (var v in values)
                if (float.IsFinite(v)) limit = Math.Max(limit, Math.Abs(v));
        if (limit == 0) limit = 1;

        // Pixel layout: the row axis, the panels with an operator between each two, the colour bar.
        const int left = 64, right = 96, opW = 36, minSlot = 104, maxWidth = 860, titleLine = 15;
        int cellW = Math.Clamp((maxWidth - left - right - (count - 1) * opW) / (count * cols), 4, 28);
        int slot = Math.Max(cols * cellW, minSlot), plotW = count * slot + (count - 1) * opW;
        int panelH = Math.Clamp(rows * Math.Clamp(380 / rows, 3, 28), 80, 400);
        var wrapped = panels.Select(p => Wrapped(p.Title ?? "", slot / 6.4, 3)).ToList();
        int top = (title is null ? 8 : 40) + wrapped.Max(w => w.Count) * titleLine + 8, bottom = columnLabel is null ? 30 : 48;

        var traces = new List<GenericChart>();
        var layoutAxes = new List<(string Name, Dictionary<string, object> Axis)>();
        var annotations = new List<object>();
        var boxes = new List<object>();
        var rowName = Text(rowLabel ?? "row");
        var columnName = Text(columnLabel ?? "column");
        for (int p = 0; p < count; p++)
        {
            var values = panels[p].Values;
            var z = new double?[rows][];
            for (int r = 0; r < rows; r++)
            {
                z[r] = new double?[cols];
                for (int c = 0; c < cols; c++) z[r][c] = float.IsFinite(values[r, c]) ? values[r, c] : null;
            }
            var heatmap = Chart.Heatmap<double, int, int, string>(z.Select(r => r.Select(v => v ?? 0)), X: Enumerable.Range(0, cols).ToArray(),
                Y: Enumerable.Range(0, rows).ToArray(), Name: panels[p].Title ?? "", UseDefaults: false);
            string xName = p == 0 ? "x" : $"x{p + 1}";
            foreach (var trace in GenericChart.getTraces(heatmap))
            {
                trace.SetProperty("z", z);
                trace.SetProperty("xaxis", xName);
                trace.SetProperty("yaxis", "y");
                trace.SetProperty("zmin", -limit);
                trace.SetProperty("zmax", limit);
                trace.SetProperty("colorscale", Stops(Diverging));
                trace.SetProperty("showscale", p == count - 1);
                trace.SetProperty("hovertemplate", $"{Text(panels[p].Title ?? "")}: {rowName} %{{y}}, {columnName} %{{x}}: %{{z:.4~g}}<extra></extra>");
                if (p == count - 1)
                    trace.SetProperty("colorbar", new Dictionary<string, object>
                    {
                        ["title"] = new Dictionary<string, object> { ["text"] = "value", ["side"] = "right" },
                        ["thickness"] = 12, ["len"] = Math.Min(1.0, 220.0 / panelH), ["y"] = 1, ["yanchor"] = "top", ["outlinewidth"] = 0,
                        ["tickvals"] = new[] { -limit, 0, limit },
                        ["ticktext"] = new[] { "−" + Format.Short(limit), "0", "+" + Format.Short(limit) },
                    });
            }
            traces.Add(heatmap);

            double x0 = p * (slot + opW), from = x0 / plotW, to = (x0 + slot) / plotW;
            var axis = new Dictionary<string, object>
            {
                ["domain"] = new[] { from, to }, ["anchor"] = "y", ["range"] = new[] { -0.5, cols - 0.5 },
                ["tickmode"] = "array", ["tickvals"] = IndexTicks(cols, slot / 16.0).ToArray(),
                ["showgrid"] = false, ["zeroline"] = false, ["ticks"] = "",
            };
            if (columnLabel is not null) axis["title"] = new Dictionary<string, object> { ["text"] = columnName, ["standoff"] = 4 };
            layoutAxes.Add((p == 0 ? "xaxis" : $"xaxis{p + 1}", axis));

            boxes.Add(new Dictionary<string, object>
            {
                ["type"] = "rect", ["xref"] = "paper", ["x0"] = from, ["x1"] = to, ["yref"] = "paper", ["y0"] = 0, ["y1"] = 1,
                ["line"] = new Dictionary<string, object> { ["color"] = "#999", ["width"] = 1 },
            });
            var heading = string.Join("<br>", wrapped[p].Select(Text));
            annotations.Add(PlotlyShapes.Label("paper", (from + to) / 2, "paper", 1, asSum && p == count - 1 ? $"<b>{heading}</b>" : heading, "center", "bottom", Ink, 12));
            if (asSum && p < count - 1)
                annotations.Add(PlotlyShapes.Label("paper", (x0 + slot + opW / 2.0) / plotW, "paper", 0.5, p == count - 2 ? "=" : "+", "center", "middle", Ink, 24));
        }
        var chart = ChartStyle.Apply(Chart.Combine(traces), title is null ? null : Text(title), null, null, height: top + panelH + bottom);
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("width", left + plotW + right);
        layout.SetProperty("showlegend", false);
        layout.SetProperty("margin", new Dictionary<string, object> { ["l"] = left, ["r"] = right, ["t"] = top, ["b"] = bottom });
        foreach (var (name, axis) in layoutAxes) layout.SetProperty(name, axis);
        var yaxis = new Dictionary<string, object>
        {
            ["range"] = new[] { rows - 0.5, -0.5 }, ["tickmode"] = "array", ["tickvals"] = IndexTicks(rows, panelH / 18.0).ToArray(),
            ["showgrid"] = false, ["zeroline"] = false, ["ticks"] = "", ["showline"] = false,
        };
        if (rowLabel is not null) yaxis["title"] = new Dictionary<string, object> { ["text"] = rowName };
        layout.SetProperty("yaxis", yaxis);
        layout.SetProperty("annotations", annotations.ToArray());
        layout.SetProperty("shapes", boxes.ToArray());
        return chart;
    }

    // ───────────────────────────── dataset summary ─────────────────────────────

    /// <summary>
    /// A compact summary of a keyword dataset (HTML): clips per class and split as a table with totals and as stacked bars,
    /// the voices of each split (and which appear in more than one), and a histogram of the signal-to-noise ratios of the
    /// added noise (non-finite values, e.g. +∞ for clean clips, are counted apart).
    /// </summary>
    public static string DatasetSummary(IReadOnlyList<(string Split, string Label, int Count)> counts, IReadOnlyList<(string Split, string Voice)> voices, IReadOnlyList<double> snrs)
    {
        ArgumentNullException.ThrowIfNull(voices);
        ArgumentNullException.ThrowIfNull(snrs);
        var (labels, countedSplits, table) = CountTable(counts);
        var splits = countedSplits.Concat(voices.Select(v => v.Split ?? "")).Distinct().ToList();
        long Cell(string split, string label) => table.TryGetValue((split, label), out var n) ? n : 0;

        var html = new StringBuilder();
        html.Append($"<div class=\"efml-dataset-summary\" style=\"font-family:{Font};font-size:13px;color:{Ink};max-width:860px;margin:6px 0\">");
        long total = table.Values.Sum();
        html.Append($"<div style=\"margin-bottom:6px\"><b>Dataset</b> <span style=\"color:{Muted}\">{Format.Count(total)} clips, {labels.Count} classes, {countedSplits.Count} splits</span></div>");
        html.Append("<div style=\"display:flex;flex-wrap:wrap;gap:14px 24px;align-items:flex-start\">");

        // Clips per class and split.
        const string th = "padding:3px 8px;border-bottom:1px solid #bbb;text-align:right;font-weight:600";
        const string td = "padding:2px 8px;text-align:right;font-variant-numeric:tabular-nums";
        html.Append("<table class=\"efml-counts\" style=\"border-collapse:collapse;font-size:12.5px\"><thead><tr>");
        html.Append($"<th style=\"{th};text-align:left\">class</th>");
        foreach (var s in countedSplits) html.Append($"<th style=\"{th}\">{Html.Encode(s)}</th>");
        html.Append($"<th style=\"{th};color:{Muted}\">total</th></tr></thead><tbody>");
        foreach (var label in labels)
        {
            html.Append($"<tr><td style=\"{td};text-align:left\">{Html.Encode(label)}</td>");
            foreach (var s in countedSplits) html.Append($"<td style=\"{td}\">{Format.Count(Cell(s, label))}</td>");
            html.Append($"<td style=\"{td};color:{Muted}\">{Format.Count(countedSplits.Sum(s => Cell(s, label)))}</td></tr>");
        }
        html.Append($"<tr><td style=\"{td};text-align:left;border-top:1px solid #bbb;color:{Muted}\">total</td>");
        foreach (var s in countedSplits) html.Append($"<td style=\"{td};border-top:1px solid #bbb;color:{Muted}\">{Format.Count(labels.Sum(l => Cell(s, l)))}</td>");
        html.Append($"<td style=\"{td};border-top:1px solid #bbb;font-weight:600\">{Format.Count(total)}</td></tr></tbody></table>");

        // Voices per split.
        var bySplit = voices.GroupBy(v => v.Split ?? "").ToDictionary(g => g.Key, g => g.Select(v => v.Voice ?? "").Distinct().ToList());
        var shared = bySplit.SelectMany(kv => kv.Value.Select(v => (kv.Key, v))).GroupBy(x => x.v).Where(g => g.Select(x => x.Key).Distinct().Count() > 1)
                            .Select(g => g.Key).ToHashSet();
        html.Append("<div class=\"efml-voices\" style=\"max-width:230px\"><div style=\"font-weight:600;margin-bottom:3px\">voices per split</div>");
        if (bySplit.Count == 0) html.Append($"<div style=\"color:{Muted}\">none given</div>");
        foreach (var s in splits.Where(bySplit.ContainsKey))
        {
            html.Append($"<div style=\"margin:2px 0 5px\"><span style=\"font-weight:600\">{Html.Encode(s)}</span> <span style=\"color:{Muted}\">{bySplit[s].Count} voice{(bySplit[s].Count == 1 ? "" : "s")}</span><br/>");
            // Every voice another split shares, then the first few others: a full dataset has hundreds.
            var shown = bySplit[s].Where(shared.Contains).Concat(bySplit[s].Where(v => !shared.Contains(v)).Take(MaxVoicesShown)).ToList();
            foreach (var v in shown)
                html.Append($"<span title=\"{(shared.Contains(v) ? "also in another split" : "only in this split")}\" style=\"display:inline-block;margin:1px 3px 1px 0;padding:0 5px;border-radius:3px;" +
                            $"font-family:{Mono};font-size:11.5px;background:{(shared.Contains(v) ? "#fde0c5" : "#eef3f8")}\">{Html.Encode(v)}</span>");
            if (shown.Count < bySplit[s].Count) html.Append($"<span style=\"color:{Muted};font-size:12px\"> … and {bySplit[s].Count - shown.Count} more</span>");
            html.Append("</div>");
        }
        if (bySplit.Count > 1)
            html.Append($"<div style=\"color:{Muted};font-size:12px\">{(shared.Count == 0 ? "No voice appears in two splits." : $"Orange: in more than one split ({shared.Count}).")}</div>");
        html.Append("</div></div>");

        // The charts: clips per class and split, and the noise's SNR.
        // Each half has its width before plotly measures it (a chart is drawn as soon as its script runs, before its neighbour exists).
        const string cellStyle = "width:calc(50% - 6px);min-width:300px;flex:0 1 auto";
        html.Append("<div style=\"display:flex;flex-wrap:wrap;gap:12px;margin-top:8px\">");
        html.Append($"<div class=\"efml-clips-per-class\" style=\"{cellStyle}\">{ChartHtml.Fragment(ClipsPerClass(counts))}</div>");
        int finite = snrs.Count(double.IsFinite);
        html.Append($"<div class=\"efml-snr\" style=\"{cellStyle}\">");
        if (finite > 0) html.Append(ChartHtml.Fragment(SnrHistogram(snrs)));
        else html.Append($"<div style=\"font-weight:600\">SNR of the added noise</div><div style=\"color:{Muted}\">{(snrs.Count == 0 ? "none given" : NotShown(snrs.Count))}</div>");
        html.Append("</div></div>");
        return html.Append("</div>").ToString();
    }

    /// <summary>Clips per class as bars stacked by split (one colour each); hover a bar for its count.</summary>
    public static GenericChart ClipsPerClass(IReadOnlyList<(string Split, string Label, int Count)> counts)
    {
        var (labels, splits, table) = CountTable(counts);
        var keys = labels.Select(Text).ToList();
        var traces = splits.Select((split, i) =>
        {
            var bars = Chart.Column<double, string, string>(labels.Select(l => (double)(table.TryGetValue((split, l), out var n) ? n : 0)), Keys: keys,
                Name: Text(split), MarkerColor: ChartStyle.ColorAt(i), UseDefaults: false);
            foreach (var trace in GenericChart.getTraces(bars))
                trace.SetProperty("hovertemplate", $"%{{x}}, {Text(split)}: %{{y:,.0f}} clips<extra></extra>");
            return bars;
        });
        var chart = ChartStyle.Apply(Chart.Combine(traces), $"Clips per class and split ({Format.Count(table.Values.Sum())})", null, "clips", height: 320);
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("barmode", "stack");
        layout.SetProperty("bargap", 0.15);
        layout.SetProperty("xaxis", new Dictionary<string, object> { ["type"] = "category", ["tickangle"] = labels.Count > 6 ? -45 : 0, ["automargin"] = true });
        layout.SetProperty("legend", new Dictionary<string, object>
        {
            ["orientation"] = "h", ["x"] = 0, ["xanchor"] = "left", ["y"] = 1, ["yanchor"] = "bottom", ["traceorder"] = "normal",
        });
        layout.SetProperty("margin", new Dictionary<string, object> { ["l"] = 50, ["r"] = 10, ["t"] = 66, ["b"] = 40 });
        layout.SetProperty("modebar", SmallModeBar);
        return chart;
    }

    /// <summary>
    /// A histogram of the finite signal-to-noise ratios in dB (bins of a round width), each bar labelled with its count;
    /// how many are not finite (clips without noise) is said under the axis.
    /// </summary>
    public static GenericChart SnrHistogram(IReadOnlyList<double> snrs)
    {
        ArgumentNullException.ThrowIfNull(snrs);
        var finite = snrs.Where(double.IsFinite).ToList();
        if (finite.Count == 0) throw new InvalidSettingsException("Give at least one finite SNR (clips without noise have +∞ and are not drawn).");
        double min = finite.Min(), max = finite.Max();
        double step = RoundStep(min, max, 6), start = Math.Floor(min / step) * step;
        int binCount = Math.Max(1, (int)Math.Floor((max - start) / step) + 1);
        var bins = new int[binCount];
        foreach (var v in finite) bins[Math.Clamp((int)Math.Floor((v - start) / step), 0, binCount - 1)]++;
        var centres = Enumerable.Range(0, binCount).Select(b => start + (b + 0.5) * step).ToList();
        var bars = Chart.Column<double, double, string>(bins.Select(b => (double)b), Keys: centres, Name: "clips",
            MarkerColor: ChartStyle.ColorAt(0), MultiText: bins.Select(b => b > 0 ? Format.Count(b) : "").ToList(),
            TextPosition: StyleParam.TextPosition.Outside, UseDefaults: false);
        foreach (var trace in GenericChart.getTraces(bars))
        {
            trace.SetProperty("width", step * 0.92);
            trace.SetProperty("hovertext", Enumerable.Range(0, binCount)
                .Select(b => $"{Format.Number(start + b * step)} … {Format.Number(start + (b + 1) * step)} dB: {Format.Count(bins[b])} clips").ToArray());
            trace.SetProperty("hoverinfo", "text");
            trace.SetProperty("cliponaxis", false);
        }
        int other = snrs.Count - finite.Count;
        var xTitle = "SNR (dB)" + (other == 0 ? "" : $"<br><span style=\"font-size:11px;color:{Muted}\">{NotShown(other)}</span>");
        var chart = ChartStyle.Apply(bars, $"SNR of the added noise ({Format.Count(finite.Count)} clips)", null, "clips", height: 320);
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("showlegend", false);
        int every = Math.Max(1, (int)Math.Ceiling(binCount / 8.0));
        layout.SetProperty("xaxis", new Dictionary<string, object>
        {
            ["title"] = new Dictionary<string, object> { ["text"] = xTitle },
            ["tickmode"] = "array", ["tickvals"] = Enumerable.Range(0, binCount + 1).Where(b => b % every == 0).Select(b => start + b * step).ToArray(),
            ["range"] = new[] { start - step * 0.1, start + (binCount + 0.1) * step }, ["showgrid"] = false,
        });
        layout.SetProperty("yaxis", new Dictionary<string, object>
        {
            ["title"] = new Dictionary<string, object> { ["text"] = "clips" }, ["range"] = new[] { 0.0, bins.Max() * 1.18 }, ["rangemode"] = "tozero",
        });
        layout.SetProperty("margin", new Dictionary<string, object> { ["l"] = 50, ["r"] = 10, ["t"] = 50, ["b"] = other == 0 ? 50 : 66 });
        layout.SetProperty("modebar", SmallModeBar);
        return chart;
    }

    /// <summary>Plotly's tool bar without the buttons a small chart does not need, so it leaves the title free.</summary>
    static Dictionary<string, object> SmallModeBar => new()
    {
        ["remove"] = new[] { "select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d" },
    };

    static string NotShown(int other) => $"not shown: {Format.Count(other)} clip{(other == 1 ? "" : "s")} without noise (non-finite SNR)";

    /// <summary>Classes and splits in order of appearance, and clips per (split, class) with repeated entries summed.</summary>
    static (List<string> Labels, List<string> Splits, Dictionary<(string Split, string Label), long> Table) CountTable(
        IReadOnlyList<(string Split, string Label, int Count)> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (counts.Count == 0) throw new InvalidSettingsException("Give the clip count of at least one class in one split.");
        foreach (var (split, label, n) in counts)
            if (n < 0) throw new InvalidSettingsException($"Split ‘{split}’, class ‘{label}’ has {n} clips; counts cannot be negative.");
        var table = counts.GroupBy(c => (c.Split ?? "", c.Label ?? "")).ToDictionary(g => g.Key, g => g.Sum(c => (long)c.Count));
        return (counts.Select(c => c.Label ?? "").Distinct().ToList(), counts.Select(c => c.Split ?? "").Distinct().ToList(), table);
    }

    // ───────────────────────────── shared pieces ─────────────────────────────

    /// <summary>Text for plotly labels, which read &lt;tags&gt; and &amp;entities: the characters that would be read so, escaped.</summary>
    static string Text(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    static object[] Stops(IReadOnlyList<string> colors) =>
        colors.Select((c, i) => (object)new object[] { (double)i / (colors.Count - 1), c }).ToArray();

    /// <summary>A round bin width (1, 2, 2.5 or 5 times a power of ten) giving about <paramref name="count"/> bins over [low, high].</summary>
    static double RoundStep(double low, double high, int count)
    {
        if (!(high > low)) { double pad = Math.Max(Math.Abs(low) * 0.05, 0.5); low -= pad; high += pad; }
        double raw = (high - low) / count, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        return new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw * (1 - 1e-12));
    }

    /// <summary>Round indices in [0, count) for an axis with room for about <paramref name="room"/> labels, always with 0.</summary>
    static List<int> IndexTicks(int count, double room)
    {
        if (count <= Math.Max(1, room)) return Enumerable.Range(0, count).ToList();
        double step = RoundStep(0, count - 1, Math.Max(1, (int)room));
        int every = Math.Max(1, (int)Math.Round(step));
        return Enumerable.Range(0, count).Where(i => i % every == 0).ToList();
    }

    static string Shorten(string text, double characters)
    {
        int most = Math.Max(3, (int)characters);
        return text.Length <= most ? text : text[..(most - 1)] + "…";
    }

    /// <summary><paramref name="text"/> broken at spaces into lines of about <paramref name="characters"/>, at most <paramref name="lines"/> (the last shortened).</summary>
    static List<string> Wrapped(string text, double characters, int lines)
    {
        int most = Math.Max(4, (int)characters);
        var result = new List<string>();
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > most)
            {
                result.Add(line.ToString());
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        if (line.Length > 0 || result.Count == 0) result.Add(line.ToString());
        if (result.Count > lines) result = [.. result.Take(lines - 1), string.Join(" ", result.Skip(lines - 1))];
        return result.Select(l => Shorten(l, most)).ToList();
    }
}
