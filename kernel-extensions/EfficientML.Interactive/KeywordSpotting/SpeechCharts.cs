using EfficientML.Core;
using System.Globalization;
using System.Text;
using static EfficientML.Interactive.SvgParts;

namespace EfficientML.Interactive;

/// <summary>
/// Charts for the speech notebooks as self-contained HTML (inline SVG, audio and images as data URIs; no chart library, no
/// external file), from plain arrays: a clip with its player, waveform and log-mel spectrogram; a gallery of clips; a
/// confusion matrix; kernels side by side on one colour scale (re-parameterisation); and a dataset summary.
/// Spectrograms use the viridis colour map (perceptually even, readable in grey and with colour-blindness); signed values
/// a blue (negative), white (zero), red (positive) scale as <see cref="HeatMap"/>.
/// </summary>
public static class SpeechCharts
{
    /// <summary>Width in SVG units of the wide charts (they scale down to narrower outputs).</summary>
    public const int Width = 860;

    /// <summary>Longest clip the audio charts embed, in seconds (the audio travels inside the HTML).</summary>
    public const double MaxSeconds = 120;

    /// <summary>Most clips <see cref="AudioGallery"/> draws.</summary>
    public const int MaxGalleryClips = 60;

    /// <summary>Most classes <see cref="ConfusionMatrix"/> draws (cells stay legible up to about 16).</summary>
    public const int MaxClasses = 40;

    /// <summary>Most cells <see cref="KernelPanels"/> draws over all panels (each is one element).</summary>
    public const int MaxKernelCells = 40_000;

    static string WaveColor => ChartStyle.Palette[0];

    // Viridis at ten even steps (matplotlib's map): dark blue-purple (low) to yellow (high).
    static readonly (double At, int R, int G, int B)[] Viridis = Stops(
        "#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725");

    // Sequential blues for shares: near white (0) to dark blue (1).
    static readonly (double At, int R, int G, int B)[] Blues = Stops("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b");

    // Diverging for signed values: blue (−limit), white (0), red (+limit), as HeatMap.
    static readonly (double At, int R, int G, int B)[] Diverging = Stops("#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b");

    // ───────────────────────────── one clip ─────────────────────────────

    /// <summary>
    /// One clip: an audio player (the clip embedded as a 16-bit WAV), its waveform (the lowest and highest sample under each
    /// pixel column), and, when given, its log-mel spectrogram <paramref name="logMel"/> [mel band, frame] (lowest band at the
    /// bottom, viridis from the lowest to the highest value, frames spread evenly over the clip's duration).
    /// </summary>
    public static string AudioView(float[] samples, int sampleRate, float[,]? logMel = null, string? title = null)
    {
        CheckClip(samples, sampleRate, logMel, "the clip");
        double seconds = (double)samples.Length / sampleRate, peak = Peak(samples);
        const int left = 64, waveTop = 6, waveH = 96, gap = 14;
        int right = logMel is null ? 20 : 96, plotW = Width - left - right;
        int mels = logMel?.GetLength(0) ?? 0, frames = logMel?.GetLength(1) ?? 0;
        int specTop = waveTop + waveH + gap, specH = logMel is null ? 0 : Math.Clamp(mels * 4, 120, 240);
        int axisY = logMel is null ? waveTop + waveH : specTop + specH, height = axisY + 44;

        var html = new StringBuilder();
        html.Append($"<div class=\"efml-audio-view\" style=\"font-family:{Font};font-size:13px;color:{Ink};max-width:{Width}px;margin:6px 0\">");
        html.Append("<div style=\"display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 12px\">");
        html.Append($"<b>{Encode(title ?? "Audio")}</b>");
        html.Append($"<span style=\"color:{Muted}\">{Number(seconds, "0.00")} s at {sampleRate.ToString(CultureInfo.InvariantCulture)} Hz, peak {Number(peak, "0.00")}" +
                    (logMel is null ? "" : $", log-mel {mels} bands × {frames} frames") + "</span></div>");
        html.Append($"<audio class=\"efml-audio\" controls preload=\"metadata\" src=\"{WavEncoder.DataUri(samples, sampleRate)}\" " +
                    "style=\"display:block;width:100%;max-width:480px;height:36px;margin:4px 0 2px\"></audio>");

        var svg = Svg(Width, height, "efml-audio-svg");
        var (timeTicks, _, _) = Ticks(0, seconds, 8, pad: false);
        double X(double t) => left + t / seconds * plotW;

        // Waveform, with the time grid behind it.
        double amplitude = peak > 0 ? peak : 1;
        foreach (var t in timeTicks)
            svg.Append($"<line x1=\"{F(X(t))}\" y1=\"{waveTop}\" x2=\"{F(X(t))}\" y2=\"{waveTop + waveH}\" stroke=\"#eee\"/>");
        svg.Append($"<line x1=\"{left}\" y1=\"{F(waveTop + waveH / 2.0)}\" x2=\"{left + plotW}\" y2=\"{F(waveTop + waveH / 2.0)}\" stroke=\"#ddd\"/>");
        svg.Append(Envelope(samples, left, waveTop, plotW, waveH, amplitude, plotW));
        svg.Append($"<rect x=\"{left}\" y=\"{waveTop}\" width=\"{plotW}\" height=\"{waveH}\" fill=\"none\" stroke=\"#bbb\">" +
                   $"{Title($"waveform: {samples.Length:N0} samples, peak {Number(peak, "0.000")}")}</rect>");
        foreach (var (value, y) in new[] { (amplitude, waveTop + 4.0), (0.0, waveTop + waveH / 2.0 + 4), (-amplitude, waveTop + waveH - 1.0) })
            svg.Append(Label(left - 6, y, Number(value, "0.##"), 11, Muted, anchor: "end"));
        svg.Append(VerticalText(16, waveTop + waveH / 2.0, "amplitude", 12));

        if (logMel is not null)
        {
            var (low, high) = Range(logMel);
            svg.Append($"<image class=\"efml-spectrogram\" x=\"{left}\" y=\"{specTop}\" width=\"{plotW}\" height=\"{specH}\" preserveAspectRatio=\"none\" " +
                       $"style=\"image-rendering:pixelated\" href=\"{SpectrogramUri(logMel, low, high)}\">" +
                       $"{Title($"log-mel spectrogram: {mels} bands × {frames} frames, values {Number(low, "0.0#")} … {Number(high, "0.0#")}")}</image>");
            svg.Append($"<rect x=\"{left}\" y=\"{specTop}\" width=\"{plotW}\" height=\"{specH}\" fill=\"none\" stroke=\"#bbb\"/>");
            MelAxis(svg, left, specTop, specH, mels);
            svg.Append(VerticalText(16, specTop + specH / 2.0, "mel band", 12));
            ColorBar(svg, left + plotW + 14, specTop, 12, specH, Viridis, Number(high, "0.0"), Number(low, "0.0"), null, "log energy");
        }

        foreach (var t in timeTicks)
        {
            svg.Append($"<line x1=\"{F(X(t))}\" y1=\"{axisY}\" x2=\"{F(X(t))}\" y2=\"{axisY + 4}\" stroke=\"#999\"/>");
            svg.Append(Label(X(t), axisY + 16, Number(t, "0.###"), 11, Muted));
        }
        svg.Append(Label(left + plotW / 2.0, axisY + 34, "time (s)", 12));
        html.Append(svg).Append("</svg></div>");
        return html.ToString();
    }

    // ───────────────────────────── many clips ─────────────────────────────

    /// <summary>
    /// A compact grid of clips (e.g. samples of a dataset), <paramref name="columns"/> per row: each with its label and length,
    /// a small player, its waveform and, when given, its log-mel spectrogram. All spectrograms share one colour range, so
    /// they compare; all waveforms one amplitude scale.
    /// </summary>
    public static string AudioGallery(IEnumerable<(string Label, float[] Samples, int SampleRate, float[,]? LogMel)> clips, int columns = 3)
    {
        ArgumentNullException.ThrowIfNull(clips);
        var list = clips.ToList();
        if (list.Count == 0) throw new InvalidSettingsException("Give at least one clip.");
        if (list.Count > MaxGalleryClips)
            throw new InvalidSettingsException($"{list.Count} clips: the gallery embeds every clip's audio and shows at most {MaxGalleryClips}; pick a sample of them.");
        if (columns < 1 || columns > 8) throw new InvalidSettingsException($"Use 1 to 8 columns (got {columns}).");
        for (int i = 0; i < list.Count; i++) CheckClip(list[i].Samples, list[i].SampleRate, list[i].LogMel, $"clip {i} (‘{list[i].Label}’)");

        double amplitude = list.Max(c => Peak(c.Samples));
        if (amplitude <= 0) amplitude = 1;
        var spectrograms = list.Where(c => c.LogMel is not null).Select(c => Range(c.LogMel!)).ToList();
        double low = spectrograms.Count > 0 ? spectrograms.Min(r => r.Low) : 0, high = spectrograms.Count > 0 ? spectrograms.Max(r => r.High) : 1;

        var html = new StringBuilder();
        html.Append($"<div class=\"efml-audio-gallery\" style=\"font-family:{Font};font-size:12.5px;color:{Ink};max-width:{Width}px;margin:6px 0\">");
        html.Append($"<div style=\"display:grid;grid-template-columns:repeat({columns},minmax(0,1fr));gap:8px\">");
        const int waveW = 260, waveH = 46;
        foreach (var clip in list)
        {
            double seconds = (double)clip.Samples.Length / clip.SampleRate;
            html.Append("<div class=\"efml-clip\" style=\"border:1px solid #ddd;border-radius:4px;padding:5px 7px;min-width:0\">");
            html.Append("<div style=\"display:flex;justify-content:space-between;gap:6px;align-items:baseline\">" +
                        $"<b style=\"overflow:hidden;text-overflow:ellipsis;white-space:nowrap\" title=\"{Encode(clip.Label ?? "")}\">{Encode(clip.Label ?? "")}</b>" +
                        $"<span style=\"color:{Muted};white-space:nowrap\">{Number(seconds, "0.00")} s</span></div>");
            html.Append($"<audio controls preload=\"metadata\" src=\"{WavEncoder.DataUri(clip.Samples, clip.SampleRate)}\" style=\"display:block;width:100%;height:30px;margin:3px 0\"></audio>");
            html.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {waveW} {waveH}\" width=\"100%\" preserveAspectRatio=\"none\" " +
                        $"style=\"display:block;height:{waveH}px;background:#fafafa\" role=\"img\">");
            html.Append($"<line x1=\"0\" y1=\"{waveH / 2.0}\" x2=\"{waveW}\" y2=\"{waveH / 2.0}\" stroke=\"#ddd\"/>");
            html.Append(Envelope(clip.Samples, 0, 1, waveW, waveH - 2, amplitude, waveW));
            html.Append($"{Title($"waveform, peak {Number(Peak(clip.Samples), "0.000")}")}</svg>");
            if (clip.LogMel is { } logMel)
                html.Append($"<img class=\"efml-spectrogram\" alt=\"log-mel spectrogram\" title=\"log-mel: {logMel.GetLength(0)} bands × {logMel.GetLength(1)} frames (low bands at the bottom)\" " +
                            $"src=\"{SpectrogramUri(logMel, low, high)}\" style=\"display:block;width:100%;height:64px;margin-top:3px;image-rendering:pixelated\"/>");
            html.Append("</div>");
        }
        html.Append("</div>");
        if (spectrograms.Count > 0)
            html.Append($"<div style=\"color:{Muted};margin-top:4px\">Spectrograms: log-mel, low bands at the bottom, one colour range for all " +
                        $"({Gradient(Viridis)} {Number(low, "0.0")} … {Number(high, "0.0")}); waveforms share one amplitude scale (peak {Number(amplitude, "0.00")}).</div>");
        return html.Append("</div>").ToString();
    }

    // ───────────────────────────── confusion matrix ─────────────────────────────

    /// <summary>
    /// A confusion matrix: rows are the true class, columns the predicted one, each cell shaded by its share of the row and
    /// showing its count; each row's recall at its end, and the overall accuracy in the title line.
    /// </summary>
    public static string ConfusionMatrix(int[,] counts, IReadOnlyList<string> labels, string? title = null)
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
        var names = labels.Select(l => l ?? "").ToList();

        int cell = n <= 6 ? 52 : n <= 10 ? 42 : n <= 16 ? 34 : Math.Max(18, 560 / n);
        double countFont = cell >= 40 ? 13 : cell >= 30 ? 11.5 : 9.5;
        int longest = names.Max(s => s.Length);
        int labelW = (int)Math.Min(170, 14 + longest * 6.8);
        bool rotate = longest * 6.6 > cell - 4;
        // Turned column labels: at most 20 characters (the full name is in every cell's tooltip), 45° up to the right.
        var columnNames = names.Select(s => rotate ? Shorten(s, 20) : s).ToList();
        double reach = columnNames.Max(s => s.Length) * 6.6 * 0.72;
        int columnLabelH = rotate ? (int)(12 + reach) : 22;
        int left = 26 + labelW, top = 30 + 18 + columnLabelH, matrixW = n * cell;
        int width = (int)Math.Max(Math.Max(left + matrixW + 78, 420), rotate ? left + matrixW - cell / 2.0 + reach + 10 : 0), height = top + matrixW + 34;

        var svg = Svg(width, height, "efml-confusion");
        var heading = (title ?? "Confusion matrix") + " · accuracy " +
                      (total > 0 ? $"{Percent(accuracy, 1)} ({correct:N0} of {total:N0})" : "– (no examples)");
        svg.Append(Label(0, 16, heading, 14, anchor: "start", weight: "600", cssClass: "efml-accuracy"));
        svg.Append(Label(left + matrixW / 2.0, 40, "predicted class", 12.5));
        svg.Append(VerticalText(12, top + matrixW / 2.0, "true class", 12.5));
        for (int c = 0; c < n; c++)
        {
            double x = left + (c + 0.5) * cell;
            svg.Append(rotate
                ? $"<text x=\"{F(x)}\" y=\"{top - 6}\" font-size=\"11.5\" fill=\"{Ink}\" transform=\"rotate(-45 {F(x)} {top - 6})\">{Title(names[c])}{Encode(columnNames[c])}</text>"
                : Label(x, top - 7, names[c], 11.5));
        }
        for (int r = 0; r < n; r++)
        {
            double y = top + r * cell;
            svg.Append($"<text x=\"{left - 6}\" y=\"{F(y + cell / 2.0 + 4)}\" font-size=\"11.5\" fill=\"{Ink}\" text-anchor=\"end\">" +
                       $"{Title(names[r])}{Encode(Shorten(names[r], (labelW - 10) / 6.6))}</text>");
            for (int c = 0; c < n; c++)
            {
                int count = counts[r, c];
                double share = rowTotals[r] > 0 ? (double)count / rowTotals[r] : 0;
                var fill = Hex(Interpolate(Blues, share));
                var tip = $"true {names[r]}, predicted {names[c]}: {count:N0}" + (rowTotals[r] > 0 ? $" ({Percent(share, 1)} of {names[r]})" : "");
                svg.Append($"<rect x=\"{left + c * cell}\" y=\"{F(y)}\" width=\"{cell}\" height=\"{cell}\" fill=\"{fill}\" stroke=\"#fff\" stroke-width=\"1\">{Title(tip)}</rect>");
                string ink = count == 0 ? "#bbb" : share > 0.5 ? "#fff" : Ink;
                svg.Append($"<text x=\"{F(left + (c + 0.5) * cell)}\" y=\"{F(y + cell / 2.0 + countFont * 0.36)}\" font-size=\"{F(countFont)}\" fill=\"{ink}\" " +
                           $"text-anchor=\"middle\" pointer-events=\"none\"{(r == c ? " font-weight=\"600\"" : "")}>{Compact(count)}</text>");
            }
            double recall = rowTotals[r] > 0 ? (double)counts[r, r] / rowTotals[r] : double.NaN;
            svg.Append($"<text x=\"{left + matrixW + 10}\" y=\"{F(y + cell / 2.0 + 4)}\" font-size=\"12\" fill=\"{Ink}\">" +
                       $"{Title(rowTotals[r] > 0 ? $"recall of {names[r]}: {counts[r, r]:N0} of {rowTotals[r]:N0}" : $"no {names[r]} examples")}" +
                       $"{(double.IsFinite(recall) ? (100 * recall).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "–")}</text>");
        }
        svg.Append(Label(left + matrixW + 10, top - 7, "recall", 11.5, Muted, anchor: "start"));
        svg.Append($"<rect x=\"{left}\" y=\"{top}\" width=\"{matrixW}\" height=\"{matrixW}\" fill=\"none\" stroke=\"#bbb\"/>");
        svg.Append(Label(left, top + matrixW + 20, "Shade: share of the row (the true class). Hover a cell for its count and share.", 11, Muted, anchor: "start"));
        return Wrap(svg, "efml-confusion-chart", width);
    }

    // ───────────────────────────── kernels ─────────────────────────────

    /// <summary>
    /// Small heat maps side by side on one shared symmetric colour scale (blue negative, white zero, red positive), e.g. for one
    /// output channel of a convolution, rows = input channels and columns = kernel taps. With <paramref name="asSum"/> a "+"
    /// stands between panels and "=" before the last: "k-wide branch + 1-wide branch (zero-padded) + identity = folded kernel".
    /// Every panel must have the same shape (zero-pad narrower kernels); each cell's tooltip gives its value.
    /// </summary>
    public static string KernelPanels(IReadOnlyList<(string Title, float[,] Values)> panels, string? title = null, string? rowLabel = null,
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
            throw new InvalidSettingsException($"{count} panels of {rows}×{cols} are {(long)rows * cols * count:N0} cells; draw at most {MaxKernelCells:N0}: show fewer channels.");
        if (asSum && count < 2) throw new InvalidSettingsException("A sum needs at least two panels: the parts and the result.");

        double limit = 0;
        foreach (var (_, values) in panels)
            foreach (var v in values)
                if (float.IsFinite(v)) limit = Math.Max(limit, Math.Abs(v));
        if (limit == 0) limit = 1;

        const int rowAxisW = 58, barW = 96, opW = 34, minSlot = 104, titleLine = 15;
        int available = Width - rowAxisW - barW - (count - 1) * opW;
        int cellW = Math.Clamp(available / (count * cols), 4, 28);
        int cellH = Math.Clamp(Math.Min(cellW, 380 / rows), 3, 28);
        int panelW = cols * cellW, panelH = rows * cellH, slot = Math.Max(panelW, minSlot);
        var wrapped = panels.Select(p => Wrapped(p.Title ?? "", slot / 6.4, 3)).ToList();
        int titleLines = wrapped.Max(w => w.Count);
        int top = (title is null ? 6 : 30) + titleLines * titleLine + 6;
        int width = Math.Min(Width, rowAxisW + count * slot + (count - 1) * opW + barW);
        int height = top + panelH + (columnLabel is null ? 26 : 42);

        var svg = Svg(width, height, "efml-kernels");
        if (title is not null) svg.Append(Label(0, 16, title, 14, anchor: "start", weight: "600"));
        if (rowLabel is not null) svg.Append(VerticalText(12, top + panelH / 2.0, rowLabel, 12));
        var rowTicks = IndexTicks(rows, panelH / 18.0);
        for (int p = 0; p < count; p++)
        {
            double slotX = rowAxisW + p * (slot + opW), x0 = slotX + (slot - panelW) / 2.0;
            for (int line = 0; line < wrapped[p].Count; line++)
                svg.Append(Label(slotX + slot / 2.0, top - 8 - (wrapped[p].Count - 1 - line) * titleLine, wrapped[p][line], 12,
                    weight: asSum && p == count - 1 ? "600" : null));
            var values = panels[p].Values;
            svg.Append($"<g class=\"efml-kernel\">");
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                {
                    float v = values[r, c];
                    var fill = float.IsFinite(v) ? Hex(Interpolate(Diverging, 0.5 + 0.5 * Math.Clamp(v / limit, -1, 1))) : "#ccc";
                    svg.Append($"<rect x=\"{F(x0 + c * cellW)}\" y=\"{top + r * cellH}\" width=\"{cellW}\" height=\"{cellH}\" fill=\"{fill}\">" +
                               $"{Title($"{panels[p].Title}: {(rowLabel ?? "row")} {r}, {(columnLabel ?? "column")} {c}: {v.ToString("G4", CultureInfo.InvariantCulture)}")}</rect>");
                }
            svg.Append("</g>");
            svg.Append($"<rect x=\"{F(x0)}\" y=\"{top}\" width=\"{panelW}\" height=\"{panelH}\" fill=\"none\" stroke=\"#999\"/>");
            if (p == 0)
                foreach (var r in rowTicks)
                    svg.Append(Label(x0 - 5, top + (r + 0.5) * cellH + 4, r.ToString(CultureInfo.InvariantCulture), 10.5, Muted, anchor: "end"));
            foreach (var c in IndexTicks(cols, panelW / 16.0))
                svg.Append(Label(x0 + (c + 0.5) * cellW, top + panelH + 14, c.ToString(CultureInfo.InvariantCulture), 10.5, Muted));
            if (columnLabel is not null) svg.Append(Label(slotX + slot / 2.0, top + panelH + 31, columnLabel, 11.5, Muted));
            if (p < count - 1)
            {
                string op = asSum ? (p == count - 2 ? "=" : "+") : "";
                if (op.Length > 0)
                    svg.Append(Label(slotX + slot + opW / 2.0, top + panelH / 2.0 + 8, op, 24, Ink, weight: "600"));
            }
        }
        string limitText = limit.ToString("G3", CultureInfo.InvariantCulture);
        ColorBar(svg, width - barW + 22, top, 12, Math.Min(panelH, 200), Diverging, "+" + limitText, "−" + limitText, "0", "value");
        return Wrap(svg, "efml-kernel-panels", width);
    }

    // ───────────────────────────── dataset summary ─────────────────────────────

    /// <summary>Voices listed per split in <see cref="DatasetSummary"/> besides those shared with another split.</summary>
    public const int MaxVoicesShown = 10;

    /// <summary>
    /// A compact summary of a keyword dataset: clips per class and split (with totals), the voices of each split (and which
    /// appear in more than one), and a histogram of the signal-to-noise ratios of the added noise (non-finite values, e.g.
    /// +∞ for clean clips, are counted apart).
    /// </summary>
    public static string DatasetSummary(IReadOnlyList<(string Split, string Label, int Count)> counts, IReadOnlyList<(string Split, string Voice)> voices, IReadOnlyList<double> snrs)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(voices);
        ArgumentNullException.ThrowIfNull(snrs);
        if (counts.Count == 0) throw new InvalidSettingsException("Give the clip count of at least one class in one split.");
        foreach (var (split, label, n) in counts)
            if (n < 0) throw new InvalidSettingsException($"Split ‘{split}’, class ‘{label}’ has {n} clips; counts cannot be negative.");
        var splits = counts.Select(c => c.Split ?? "").Concat(voices.Select(v => v.Split ?? "")).Distinct().ToList();
        var labels = counts.Select(c => c.Label ?? "").Distinct().ToList();
        var table = counts.GroupBy(c => (c.Split ?? "", c.Label ?? "")).ToDictionary(g => g.Key, g => g.Sum(c => (long)c.Count));
        long Cell(string split, string label) => table.TryGetValue((split, label), out var n) ? n : 0;
        var countedSplits = splits.Where(s => labels.Any(l => table.ContainsKey((s, l)))).ToList();

        var html = new StringBuilder();
        html.Append($"<div class=\"efml-dataset-summary\" style=\"font-family:{Font};font-size:13px;color:{Ink};max-width:{Width}px;margin:6px 0\">");
        long total = table.Values.Sum();
        html.Append($"<div style=\"margin-bottom:6px\"><b>Dataset</b> <span style=\"color:{Muted}\">{total:N0} clips, {labels.Count} classes, {countedSplits.Count} splits</span></div>");
        html.Append("<div style=\"display:flex;flex-wrap:wrap;gap:14px 24px;align-items:flex-start\">");

        // Clips per class and split.
        const string th = "padding:3px 8px;border-bottom:1px solid #bbb;text-align:right;font-weight:600";
        const string td = "padding:2px 8px;text-align:right;font-variant-numeric:tabular-nums";
        html.Append("<table class=\"efml-counts\" style=\"border-collapse:collapse;font-size:12.5px\"><thead><tr>");
        html.Append($"<th style=\"{th};text-align:left\">class</th>");
        foreach (var s in countedSplits) html.Append($"<th style=\"{th}\">{Encode(s)}</th>");
        html.Append($"<th style=\"{th};color:{Muted}\">total</th></tr></thead><tbody>");
        foreach (var label in labels)
        {
            html.Append($"<tr><td style=\"{td};text-align:left\">{Encode(label)}</td>");
            foreach (var s in countedSplits) html.Append($"<td style=\"{td}\">{Cell(s, label):N0}</td>");
            html.Append($"<td style=\"{td};color:{Muted}\">{countedSplits.Sum(s => Cell(s, label)):N0}</td></tr>");
        }
        html.Append($"<tr><td style=\"{td};text-align:left;border-top:1px solid #bbb;color:{Muted}\">total</td>");
        foreach (var s in countedSplits) html.Append($"<td style=\"{td};border-top:1px solid #bbb;color:{Muted}\">{labels.Sum(l => Cell(s, l)):N0}</td>");
        html.Append($"<td style=\"{td};border-top:1px solid #bbb;font-weight:600\">{total:N0}</td></tr></tbody></table>");

        // Voices per split.
        var bySplit = voices.GroupBy(v => v.Split ?? "").ToDictionary(g => g.Key, g => g.Select(v => v.Voice ?? "").Distinct().ToList());
        var shared = bySplit.SelectMany(kv => kv.Value.Select(v => (kv.Key, v))).GroupBy(x => x.v).Where(g => g.Select(x => x.Key).Distinct().Count() > 1)
                            .Select(g => g.Key).ToHashSet();
        html.Append("<div class=\"efml-voices\" style=\"max-width:230px\"><div style=\"font-weight:600;margin-bottom:3px\">voices per split</div>");
        if (bySplit.Count == 0) html.Append($"<div style=\"color:{Muted}\">none given</div>");
        foreach (var s in splits.Where(bySplit.ContainsKey))
        {
            html.Append($"<div style=\"margin:2px 0 5px\"><span style=\"font-weight:600\">{Encode(s)}</span> <span style=\"color:{Muted}\">{bySplit[s].Count} voice{(bySplit[s].Count == 1 ? "" : "s")}</span><br/>");
            // Every voice another split shares, then the first few others: a full dataset has hundreds.
            var shown = bySplit[s].Where(shared.Contains).Concat(bySplit[s].Where(v => !shared.Contains(v)).Take(MaxVoicesShown)).ToList();
            foreach (var v in shown)
                html.Append($"<span title=\"{Encode(shared.Contains(v) ? "also in another split" : "only in this split")}\" style=\"display:inline-block;margin:1px 3px 1px 0;padding:0 5px;border-radius:3px;" +
                            $"font-family:{Mono};font-size:11.5px;background:{(shared.Contains(v) ? "#fde0c5" : "#eef3f8")}\">{Encode(v)}</span>");
            if (shown.Count < bySplit[s].Count) html.Append($"<span style=\"color:{Muted};font-size:12px\"> … and {bySplit[s].Count - shown.Count} more</span>");
            html.Append("</div>");
        }
        if (bySplit.Count > 1)
            html.Append($"<div style=\"color:{Muted};font-size:12px\">{(shared.Count == 0 ? "No voice appears in two splits." : $"Orange: in more than one split ({shared.Count}).")}</div>");
        html.Append("</div>");

        html.Append(SnrHistogram(snrs));
        html.Append("</div></div>");
        return html.ToString();
    }

    static string SnrHistogram(IReadOnlyList<double> snrs)
    {
        var finite = snrs.Where(double.IsFinite).ToList();
        int other = snrs.Count - finite.Count;
        string otherNote = other == 0 ? "" : $"not shown: {other:N0} clip{(other == 1 ? "" : "s")} without noise (non-finite SNR)";
        if (finite.Count == 0)
            return $"<div class=\"efml-snr\"><div style=\"font-weight:600\">SNR of the added noise</div><div style=\"color:{Muted}\">" +
                   (snrs.Count == 0 ? "none given" : otherNote) + "</div></div>";
        double min = finite.Min(), max = finite.Max();
        var (ticks, _, _) = Ticks(min, max, 6, pad: false);
        double step = ticks.Count > 1 ? ticks[1] - ticks[0] : 1;
        double start = Math.Floor(min / step) * step;
        int binCount = Math.Max(1, (int)Math.Floor((max - start) / step) + 1);
        var bins = new int[binCount];
        foreach (var v in finite) bins[Math.Clamp((int)Math.Floor((v - start) / step), 0, binCount - 1)]++;

        const int width = 290, height = 176, left = 14, right = 14, top = 26, bottom = 48;
        int plotW = width - left - right, plotH = height - top - bottom, highest = bins.Max();
        double barW = (double)plotW / binCount;
        var svg = Svg(width, height, "efml-snr");
        svg.Append(Label(0, 14, $"SNR of the added noise ({finite.Count:N0} clips)", 13, anchor: "start", weight: "600"));
        for (int b = 0; b < binCount; b++)
        {
            double h = (double)bins[b] / highest * (plotH - 14), x = left + b * barW, y = top + plotH - h;
            double lo = start + b * step, hi = lo + step;
            svg.Append($"<rect x=\"{F(x + 1)}\" y=\"{F(y)}\" width=\"{F(Math.Max(barW - 2, 1))}\" height=\"{F(Math.Max(h, bins[b] > 0 ? 1 : 0))}\" fill=\"{ChartStyle.Palette[0]}\">" +
                       $"{Title($"{Number(lo)} … {Number(hi)} dB: {bins[b]:N0} clips")}</rect>");
            if (bins[b] > 0 && barW >= 16) svg.Append(Label(x + barW / 2, y - 3, bins[b].ToString(CultureInfo.InvariantCulture), 10.5, Muted));
        }
        int every = Math.Max(1, (int)Math.Ceiling(30 / barW));
        for (int b = 0; b <= binCount; b += every)
            svg.Append(Label(left + b * barW, top + plotH + 14, Number(start + b * step), 10.5, Muted));
        svg.Append($"<line x1=\"{left}\" y1=\"{top + plotH}\" x2=\"{left + plotW}\" y2=\"{top + plotH}\" stroke=\"#bbb\"/>");
        svg.Append(Label(left + plotW / 2.0, top + plotH + 30, "SNR (dB)", 11.5));
        if (otherNote.Length > 0) svg.Append(Label(left + plotW / 2.0, top + plotH + 44, otherNote, 10.5, Muted));
        return Wrap(svg, "efml-snr-histogram", width);
    }

    // ───────────────────────────── shared pieces ─────────────────────────────

    static void CheckClip(float[] samples, int sampleRate, float[,]? logMel, string what)
    {
        if (samples is null) throw new ArgumentNullException(nameof(samples), $"Give the samples of {what}.");
        if (samples.Length == 0) throw new InvalidSettingsException($"{Capital(what)} has no samples: give at least one.");
        if (sampleRate <= 0) throw new InvalidSettingsException($"The sample rate of {what} must be positive, e.g. 16000 Hz (got {sampleRate}).");
        if ((double)samples.Length / sampleRate > MaxSeconds)
            throw new InvalidSettingsException($"{Capital(what)} lasts {(double)samples.Length / sampleRate:0.#} s; the chart embeds at most {MaxSeconds:0} s of audio: cut it shorter.");
        if (logMel is not null && (logMel.GetLength(0) == 0 || logMel.GetLength(1) == 0))
            throw new InvalidSettingsException($"The log-mel spectrogram of {what} is empty ({logMel.GetLength(0)}×{logMel.GetLength(1)}); give [mel bands, frames] or null.");
    }

    static string Capital(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    static double Peak(float[] samples)
    {
        double peak = 0;
        foreach (var s in samples) if (float.IsFinite(s)) peak = Math.Max(peak, Math.Abs(s));
        return peak;
    }

    /// <summary>A filled path through the highest sample of each of <paramref name="columns"/> columns and back through the lowest.</summary>
    static string Envelope(float[] samples, double left, double top, double width, double height, double amplitude, int columns)
    {
        double Y(double v) => top + height / 2.0 - Math.Clamp(v / amplitude, -1, 1) * height / 2.0;
        var highs = new double[columns];
        var lows = new double[columns];
        for (int c = 0; c < columns; c++)
        {
            int from = (int)((long)c * samples.Length / columns), to = Math.Max(from + 1, (int)((long)(c + 1) * samples.Length / columns));
            float hi = float.NegativeInfinity, lo = float.PositiveInfinity;
            for (int i = from; i < Math.Min(to, samples.Length); i++)
            {
                float s = float.IsFinite(samples[i]) ? samples[i] : 0;
                if (s > hi) hi = s;
                if (s < lo) lo = s;
            }
            highs[c] = hi;
            lows[c] = lo;
        }
        var path = new StringBuilder();
        double step = width / columns;
        for (int c = 0; c < columns; c++) path.Append(c == 0 ? 'M' : 'L').Append(F(left + (c + 0.5) * step)).Append(',').Append(F(Y(highs[c]))).Append(' ');
        for (int c = columns - 1; c >= 0; c--) path.Append('L').Append(F(left + (c + 0.5) * step)).Append(',').Append(F(Y(lows[c]))).Append(' ');
        // A thin stroke of the same colour keeps quiet stretches (a flat envelope) visible.
        return $"<path class=\"efml-waveform\" d=\"{path}Z\" fill=\"{WaveColor}\" stroke=\"{WaveColor}\" stroke-width=\"0.7\" stroke-linejoin=\"round\"/>";
    }

    static (double Low, double High) Range(float[,] values)
    {
        double low = double.PositiveInfinity, high = double.NegativeInfinity;
        foreach (var v in values)
            if (float.IsFinite(v)) { low = Math.Min(low, v); high = Math.Max(high, v); }
        if (double.IsInfinity(low)) return (0, 1);
        return high > low ? (low, high) : (low - 0.5, high + 0.5);
    }

    /// <summary>[mel, frame] values as a PNG data URI, one pixel per value, the highest band in the top row, viridis from low to high.</summary>
    static string SpectrogramUri(float[,] values, double low, double high)
    {
        int mels = values.GetLength(0), frames = values.GetLength(1);
        var rgb = new byte[mels * frames * 3];
        for (int row = 0; row < mels; row++)
        {
            int band = mels - 1 - row;
            for (int f = 0; f < frames; f++)
            {
                float v = values[band, f];
                var (r, g, b) = float.IsFinite(v) ? Interpolate(Viridis, (v - low) / (high - low)) : (200, 200, 200);
                int at = (row * frames + f) * 3;
                rgb[at] = (byte)r;
                rgb[at + 1] = (byte)g;
                rgb[at + 2] = (byte)b;
            }
        }
        return PngEncoder.DataUri(frames, mels, rgb);
    }

    static void MelAxis(StringBuilder svg, double left, double top, double height, int mels)
    {
        foreach (var b in IndexTicks(mels, height / 26.0))
        {
            double y = top + height - (b + 0.5) * height / mels;
            svg.Append($"<line x1=\"{F(left - 4)}\" y1=\"{F(y)}\" x2=\"{F(left)}\" y2=\"{F(y)}\" stroke=\"#999\"/>");
            svg.Append(Label(left - 6, y + 4, b.ToString(CultureInfo.InvariantCulture), 11, Muted, anchor: "end"));
        }
    }

    /// <summary>Round indices in [0, count) for an axis with room for about <paramref name="room"/> labels, always with 0.</summary>
    static List<int> IndexTicks(int count, double room)
    {
        if (count <= Math.Max(1, room)) return Enumerable.Range(0, count).ToList();
        var (ticks, _, _) = Ticks(0, count - 1, Math.Max(1, (int)room), pad: false);
        return ticks.Select(t => (int)Math.Round(t)).Where(t => t >= 0 && t < count).Distinct().ToList();
    }

    /// <summary>A vertical colour bar, top = high; labels at its ends (and middle), and a title turned up its right side.</summary>
    static void ColorBar(StringBuilder svg, double x, double y, double width, double height, (double At, int R, int G, int B)[] stops,
        string highLabel, string lowLabel, string? middleLabel, string title)
    {
        var id = NewId("efml-bar");
        svg.Append($"<defs><linearGradient id=\"{id}\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
        foreach (var s in stops) svg.Append($"<stop offset=\"{F(100 * s.At)}%\" stop-color=\"{Hex((s.R, s.G, s.B))}\"/>");
        svg.Append("</linearGradient></defs>");
        svg.Append($"<rect x=\"{F(x)}\" y=\"{F(y)}\" width=\"{F(width)}\" height=\"{F(height)}\" fill=\"url(#{id})\" stroke=\"#bbb\" stroke-width=\"0.5\"/>");
        svg.Append(Label(x + width + 4, y + 9, highLabel, 10.5, Muted, anchor: "start"));
        svg.Append(Label(x + width + 4, y + height, lowLabel, 10.5, Muted, anchor: "start"));
        if (middleLabel is not null) svg.Append(Label(x + width + 4, y + height / 2 + 4, middleLabel, 10.5, Muted, anchor: "start"));
        svg.Append($"<text x=\"{F(x + width + 50)}\" y=\"{F(y + height / 2)}\" font-size=\"11\" fill=\"{Muted}\" text-anchor=\"middle\" " +
                   $"transform=\"rotate(90 {F(x + width + 50)} {F(y + height / 2)})\">{Encode(title)}</text>");
    }

    /// <summary>An inline swatch of a colour scale, for legends in running text.</summary>
    static string Gradient((double At, int R, int G, int B)[] stops) =>
        "<span style=\"display:inline-block;width:54px;height:9px;vertical-align:middle;border:1px solid #ccc;background:linear-gradient(to right," +
        string.Join(",", stops.Select(s => $"{Hex((s.R, s.G, s.B))} {F(100 * s.At)}%")) + ")\"></span>";

    static (double At, int R, int G, int B)[] Stops(params string[] colors) =>
        colors.Select((c, i) => ((double)i / (colors.Length - 1),
            int.Parse(c.AsSpan(1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            int.Parse(c.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            int.Parse(c.AsSpan(5, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture))).ToArray();

    static (int R, int G, int B) Interpolate((double At, int R, int G, int B)[] stops, double t)
    {
        t = double.IsFinite(t) ? Math.Clamp(t, 0, 1) : 0;
        int i = 1;
        while (i < stops.Length - 1 && t > stops[i].At) i++;
        var (a, b) = (stops[i - 1], stops[i]);
        double u = (t - a.At) / (b.At - a.At);
        int Mix(int p, int q) => (int)Math.Round(p + (q - p) * u);
        return (Mix(a.R, b.R), Mix(a.G, b.G), Mix(a.B, b.B));
    }

    static string Hex((int R, int G, int B) c) => $"#{c.R:x2}{c.G:x2}{c.B:x2}";

    /// <summary>Counts as written in a cell: up to 9,999 in full, then in thousands.</summary>
    static string Compact(int count) =>
        count < 10_000 ? count.ToString(CultureInfo.InvariantCulture) : (count / 1000.0).ToString(count < 100_000 ? "0.#" : "0", CultureInfo.InvariantCulture) + "k";

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
