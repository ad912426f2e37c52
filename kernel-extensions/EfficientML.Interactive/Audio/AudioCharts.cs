using EfficientML.Core;
using Plotly.NET;
using Plotly.NET.CSharp;
using System.Net;
using System.Text;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// Views of audio for any speech notebook, from plain arrays: one clip with its player (the clip embedded as a 16-bit WAV
/// data URI), its waveform and its log-mel spectrogram as a plotly chart; and a gallery of clips on one colour range.
/// Spectrograms use the viridis colour map (perceptually even, readable in grey and with colour-blindness), lowest band at
/// the bottom.
/// </summary>
public static class AudioCharts
{
    /// <summary>Widest the views grow, in pixels (they shrink with narrower outputs).</summary>
    public const int MaxWidth = 860;

    /// <summary>Longest clip the views embed, in seconds (the audio travels inside the HTML).</summary>
    public const double MaxSeconds = 120;

    /// <summary>Most clips <see cref="AudioGallery"/> draws.</summary>
    public const int MaxGalleryClips = 60;

    /// <summary>Columns of the waveform's envelope in <see cref="Clip"/> (the lowest and highest sample of each).</summary>
    public const int WaveformColumns = 400;

    /// <summary>Columns of the waveform's envelope in a gallery cell.</summary>
    public const int GalleryWaveformColumns = 150;

    /// <summary>Viridis at ten even steps (matplotlib's map): dark blue-purple (low) to yellow (high).</summary>
    public static IReadOnlyList<string> Viridis { get; } =
        ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"];

    const string Font = "system-ui,-apple-system,'Segoe UI',sans-serif";
    const string Muted = "#666";
    static string WaveColor => ChartStyle.Palette[0];

    // ───────────────────────────── one clip ─────────────────────────────

    /// <summary>
    /// One clip as HTML: its title and length, an audio player (the clip embedded as a 16-bit WAV) and <see cref="Clip"/>:
    /// the waveform and, when given, the log-mel spectrogram <paramref name="logMel"/> [mel band, frame].
    /// </summary>
    public static string AudioView(float[] samples, int sampleRate, float[,]? logMel = null, string? title = null)
    {
        CheckClip(samples, sampleRate, logMel, "the clip");
        double seconds = (double)samples.Length / sampleRate;
        var html = new StringBuilder();
        html.Append($"<div class=\"efml-audio-view\" style=\"font-family:{Font};font-size:13px;color:#333;max-width:{MaxWidth}px;margin:6px 0\">");
        html.Append("<div style=\"display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 12px\">");
        html.Append($"<b>{Encode(title ?? "Audio")}</b>");
        html.Append($"<span style=\"color:{Muted}\">{Format.Fixed(seconds, 2)} s at {sampleRate} Hz, {Format.Count(samples.Length)} samples, " +
                    $"peak {Format.Fixed(Peak(samples), 3)}" +
                    (logMel is null ? "" : $", log-mel {logMel.GetLength(0)} bands × {logMel.GetLength(1)} frames") + "</span></div>");
        html.Append(Player(samples, sampleRate, "display:block;width:100%;max-width:480px;height:36px;margin:4px 0 2px"));
        html.Append(ChartHtml.Fragment(ClipChart(samples, sampleRate, logMel, null, Peak(samples), logMel is null ? null : Range(logMel), compact: false)));
        return html.Append("</div>").ToString();
    }

    /// <summary>
    /// A clip's waveform (the lowest and highest sample in each of <see cref="WaveformColumns"/> columns, as a filled band)
    /// and, when given, its log-mel spectrogram <paramref name="logMel"/> [mel band, frame] below it on the same time axis:
    /// lowest band at the bottom, viridis from the lowest to the highest value, frames spread evenly over the clip's
    /// duration. Hover gives the time and the envelope, or the time, band and value.
    /// </summary>
    public static GenericChart Clip(float[] samples, int sampleRate, float[,]? logMel = null, string? title = null)
    {
        CheckClip(samples, sampleRate, logMel, "the clip");
        return ClipChart(samples, sampleRate, logMel, title, Peak(samples), logMel is null ? null : Range(logMel), compact: false);
    }

    // ───────────────────────────── many clips ─────────────────────────────

    /// <summary>
    /// A compact grid of clips (e.g. samples of a dataset), <paramref name="columns"/> per row: each with its label and length,
    /// a small player and a small chart of its waveform and, when given, its log-mel spectrogram. All spectrograms share one
    /// colour range, so they compare; all waveforms one amplitude scale.
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
        var spectrograms = list.Where(c => c.LogMel is not null).Select(c => Range(c.LogMel!)).ToList();
        (double Low, double High)? shared = spectrograms.Count > 0 ? (spectrograms.Min(r => r.Low), spectrograms.Max(r => r.High)) : null;

        var html = new StringBuilder();
        html.Append($"<div class=\"efml-audio-gallery\" style=\"font-family:{Font};font-size:12.5px;color:#333;max-width:{MaxWidth}px;margin:6px 0\">");
        html.Append($"<div style=\"display:grid;grid-template-columns:repeat({columns},minmax(0,1fr));gap:8px\">");
        foreach (var clip in list)
        {
            double seconds = (double)clip.Samples.Length / clip.SampleRate;
            var label = Encode(clip.Label);
            html.Append("<div class=\"efml-clip\" style=\"border:1px solid #ddd;border-radius:4px;padding:5px 7px;min-width:0\">");
            html.Append("<div style=\"display:flex;justify-content:space-between;gap:6px;align-items:baseline\">" +
                        $"<b style=\"overflow:hidden;text-overflow:ellipsis;white-space:nowrap\" title=\"{label}\">{label}</b>" +
                        $"<span style=\"color:{Muted};white-space:nowrap\">{Format.Fixed(seconds, 2)} s</span></div>");
            html.Append(Player(clip.Samples, clip.SampleRate, "display:block;width:100%;height:30px;margin:3px 0"));
            html.Append(ChartHtml.Fragment(ClipChart(clip.Samples, clip.SampleRate, clip.LogMel, null, amplitude, shared, compact: true)));
            html.Append("</div>");
        }
        html.Append("</div>");
        if (shared is var (low, high))
            html.Append($"<div style=\"color:{Muted};margin-top:4px\">Spectrograms: log-mel, low bands at the bottom, one colour range for all " +
                        $"({Gradient()} {Format.Fixed(low, 1)} … {Format.Fixed(high, 1)}); waveforms share one amplitude scale (peak {Format.Fixed(amplitude, 2)}). " +
                        "Hover a chart for time, band and value.</div>");
        return html.Append("</div>").ToString();
    }

    // ───────────────────────────── the chart ─────────────────────────────

    /// <summary>
    /// The waveform on top (y axis "y2") and the spectrogram under it (y axis "y"), one time axis in seconds for both.
    /// <paramref name="amplitude"/> is the waveform's axis limit and <paramref name="range"/> the spectrogram's colour range
    /// (shared across a gallery). Compact: no axes, colour bar or tool bar, for a gallery cell.
    /// </summary>
    static GenericChart ClipChart(float[] samples, int sampleRate, float[,]? logMel, string? title, double amplitude,
        (double Low, double High)? range, bool compact)
    {
        double seconds = (double)samples.Length / sampleRate;
        if (!(amplitude > 0)) amplitude = 1;
        var (times, highs, lows) = Envelope(samples, seconds, compact ? GalleryWaveformColumns : WaveformColumns);

        // The envelope: the highs, then the lows filled up to them.
        var high = Chart.Line<double, double, string>(times, highs, Name: "highest sample", LineColor: Color.fromString(WaveColor), UseDefaults: false);
        var low = Chart.Line<double, double, string>(times, lows, Name: "lowest sample", LineColor: Color.fromString(WaveColor), UseDefaults: false);
        foreach (var trace in GenericChart.getTraces(high))
        {
            trace.SetProperty("customdata", lows);
            trace.SetProperty("hovertemplate", "%{x:.3f} s<br>samples %{customdata:.3f} … %{y:.3f}<extra></extra>");
        }
        foreach (var trace in GenericChart.getTraces(low))
        {
            trace.SetProperty("fill", "tonexty");
            trace.SetProperty("fillcolor", WaveColor);
            trace.SetProperty("hoverinfo", "skip");
        }
        var parts = new List<GenericChart> { high, low };
        foreach (var trace in parts.SelectMany(GenericChart.getTraces))
        {
            // A thin line of the same colour keeps quiet stretches (a flat envelope) visible.
            trace.SetProperty("line", new Dictionary<string, object> { ["color"] = WaveColor, ["width"] = 0.7 });
            trace.SetProperty("yaxis", logMel is null ? "y" : "y2");
            trace.SetProperty("showlegend", false);
        }

        int mels = logMel?.GetLength(0) ?? 0, frames = logMel?.GetLength(1) ?? 0;
        if (logMel is not null)
        {
            var (zLow, zHigh) = range ?? Range(logMel);
            // Row b is band b: plotly draws row 0 at the bottom of an upward y axis, so the lowest band is at the bottom.
            var z = new double?[mels][];
            for (int b = 0; b < mels; b++)
            {
                z[b] = new double?[frames];
                for (int f = 0; f < frames; f++) z[b][f] = float.IsFinite(logMel[b, f]) ? Math.Round((double)logMel[b, f], 2) : null;
            }
            var frameTimes = Enumerable.Range(0, frames).Select(f => Math.Round((f + 0.5) * seconds / frames, 6)).ToArray();
            var spectrogram = Chart.Heatmap<double, double, int, string>(z.Select(r => r.Select(v => v ?? 0)), X: frameTimes,
                Y: Enumerable.Range(0, mels).ToArray(), Name: "log-mel", UseDefaults: false);
            foreach (var trace in GenericChart.getTraces(spectrogram))
            {
                trace.SetProperty("z", z);                                   // missing values (non-finite) stay gaps
                trace.SetProperty("zmin", zLow);
                trace.SetProperty("zmax", zHigh);
                trace.SetProperty("colorscale", Viridis.Select((c, i) => new object[] { (double)i / (Viridis.Count - 1), c }).ToArray());
                trace.SetProperty("hovertemplate", "%{x:.3f} s, mel band %{y}<br>log energy %{z:.2f}<extra></extra>");
                trace.SetProperty("showscale", !compact);
                if (!compact)
                    trace.SetProperty("colorbar", new Dictionary<string, object>
                    {
                        ["title"] = new Dictionary<string, object> { ["text"] = "log energy", ["side"] = "right" },
                        ["thickness"] = 12, ["len"] = SpectrogramShare(mels), ["y"] = 0, ["yanchor"] = "bottom",
                        ["outlinewidth"] = 0,
                    });
            }
            parts.Add(spectrogram);
        }

        // Heights in pixels: the waveform band, a gap, the spectrogram; the top margin leaves room for plotly's tool bar.
        var (waveH, gap, specH) = Heights(logMel is null ? 0 : mels, compact);
        int top = compact ? 2 : title is null ? 30 : 50, bottom = compact ? 2 : 44;
        int plotH = waveH + gap + specH;
        var chart = ChartStyle.Apply(Chart.Combine(parts), title, null, null, height: top + plotH + bottom);
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("showlegend", false);
        layout.SetProperty("margin", new Dictionary<string, object>
        {
            ["l"] = compact ? 2 : 64, ["r"] = compact ? 2 : logMel is null ? 20 : 90, ["t"] = top, ["b"] = bottom,
        });
        var time = Axis(compact, compact ? null : "time (s)");
        time["range"] = new[] { 0.0, seconds };
        layout.SetProperty("xaxis", time);
        var wave = Axis(compact, compact ? null : "amplitude");
        wave["range"] = new[] { -amplitude * 1.04, amplitude * 1.04 };
        wave["zeroline"] = true;
        wave["zerolinecolor"] = "#ddd";
        if (logMel is null)
            layout.SetProperty("yaxis", wave);
        else
        {
            wave["domain"] = new[] { (double)(specH + gap) / plotH, 1.0 };
            wave["anchor"] = "x";
            var bands = Axis(compact, compact ? null : "mel band");
            bands["domain"] = new[] { 0.0, (double)specH / plotH };
            bands["range"] = new[] { -0.5, mels - 0.5 };
            layout.SetProperty("yaxis", bands);
            layout.SetProperty("yaxis2", wave);
        }
        if (compact)
        {
            layout.SetProperty("dragmode", false);
            layout.SetProperty("plot_bgcolor", "#fafafa");
            layout.SetProperty("modebar", new Dictionary<string, object>
            {
                ["remove"] = new[] { "zoom2d", "pan2d", "select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d", "resetScale2d", "toImage" },
            });
        }
        return chart;
    }

    /// <summary>Pixel heights of the waveform, the gap under it and the spectrogram (0 and 0 without one).</summary>
    static (int Wave, int Gap, int Spectrogram) Heights(int mels, bool compact) =>
        mels == 0 ? (compact ? 46 : 96, 0, 0) : compact ? (46, 4, 64) : (96, 16, Math.Clamp(mels * 4, 120, 240));

    /// <summary>The spectrogram's share of the full view's plot height (its colour bar spans just that).</summary>
    static double SpectrogramShare(int mels)
    {
        var (wave, gap, spectrogram) = Heights(mels, compact: false);
        return (double)spectrogram / (wave + gap + spectrogram);
    }

    /// <summary>An axis: with grid, ticks and title in the full view; hidden (range only) in a gallery cell.</summary>
    static Dictionary<string, object> Axis(bool compact, string? title)
    {
        if (compact) return new Dictionary<string, object> { ["visible"] = false, ["fixedrange"] = true };
        var axis = new Dictionary<string, object> { ["showgrid"] = true, ["zeroline"] = false, ["linecolor"] = "#bbb" };
        if (title is not null) axis["title"] = new Dictionary<string, object> { ["text"] = title };
        return axis;
    }

    // ───────────────────────────── shared pieces ─────────────────────────────

    static string Player(float[] samples, int sampleRate, string style) =>
        $"<audio class=\"efml-audio\" controls preload=\"metadata\" src=\"{WavEncoder.DataUri(samples, sampleRate)}\" style=\"{style}\"></audio>";

    static void CheckClip(float[] samples, int sampleRate, float[,]? logMel, string what)
    {
        if (samples is null) throw new ArgumentNullException(nameof(samples), $"Give the samples of {what}.");
        if (samples.Length == 0) throw new InvalidSettingsException($"{Capital(what)} has no samples: give at least one.");
        if (sampleRate <= 0) throw new InvalidSettingsException($"The sample rate of {what} must be positive, e.g. 16000 Hz (got {sampleRate}).");
        if ((double)samples.Length / sampleRate > MaxSeconds)
            throw new InvalidSettingsException($"{Capital(what)} lasts {Format.Fixed((double)samples.Length / sampleRate, 1)} s; the chart embeds at most {MaxSeconds:0} s of audio: cut it shorter.");
        if (logMel is not null && (logMel.GetLength(0) == 0 || logMel.GetLength(1) == 0))
            throw new InvalidSettingsException($"The log-mel spectrogram of {what} is empty ({logMel.GetLength(0)}×{logMel.GetLength(1)}); give [mel bands, frames] or null.");
    }

    static string Capital(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    static string Encode(string? text) => WebUtility.HtmlEncode(text ?? "");

    static double Peak(float[] samples)
    {
        double peak = 0;
        foreach (var s in samples) if (float.IsFinite(s)) peak = Math.Max(peak, Math.Abs(s));
        return peak;
    }

    /// <summary>
    /// The highest and lowest sample (non-finite ones read as silence) of each of <paramref name="columns"/> even stretches
    /// (fewer for a shorter clip), with each stretch's centre time in seconds.
    /// </summary>
    static (double[] Times, double[] Highs, double[] Lows) Envelope(float[] samples, double seconds, int columns)
    {
        columns = Math.Min(columns, samples.Length);
        var (times, highs, lows) = (new double[columns], new double[columns], new double[columns]);
        for (int c = 0; c < columns; c++)
        {
            int from = (int)((long)c * samples.Length / columns), to = (int)((long)(c + 1) * samples.Length / columns);
            float hi = float.NegativeInfinity, lo = float.PositiveInfinity;
            for (int i = from; i < to; i++)
            {
                float s = float.IsFinite(samples[i]) ? samples[i] : 0;
                if (s > hi) hi = s;
                if (s < lo) lo = s;
            }
            times[c] = Math.Round((c + 0.5) * seconds / columns, 6);
            highs[c] = Math.Round(hi, 4);
            lows[c] = Math.Round(lo, 4);
        }
        return (times, highs, lows);
    }

    /// <summary>The lowest and highest finite value (0 … 1 when there is none; widened by ±0.5 when all are equal).</summary>
    static (double Low, double High) Range(float[,] values)
    {
        double low = double.PositiveInfinity, high = double.NegativeInfinity;
        foreach (var v in values)
            if (float.IsFinite(v)) { low = Math.Min(low, v); high = Math.Max(high, v); }
        if (double.IsInfinity(low)) return (0, 1);
        return high > low ? (low, high) : (low - 0.5, high + 0.5);
    }

    /// <summary>An inline swatch of viridis, for the gallery's legend in running text.</summary>
    static string Gradient() =>
        "<span style=\"display:inline-block;width:54px;height:9px;vertical-align:middle;border:1px solid #ccc;background:linear-gradient(to right," +
        string.Join(",", Viridis) + ")\"></span>";
}
