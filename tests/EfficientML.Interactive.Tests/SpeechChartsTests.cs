using EfficientML.Core;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EfficientML.Interactive;

namespace EfficientML.Interactive.Tests;

public class SpeechChartsTests
{
    static byte[] DataUri(string html, string mime)
    {
        var match = Regex.Match(html, $"data:{Regex.Escape(mime)};base64,([A-Za-z0-9+/=]+)");
        Assert.True(match.Success, $"no {mime} data URI in the HTML");
        return Convert.FromBase64String(match.Groups[1].Value);
    }

    static JsonElement Figure(Plotly.NET.GenericChart chart) => JsonDocument.Parse(ChartHtml.FigureJson(chart)).RootElement;

    /// <summary>The plotly figures an HTML view draws, in order (each <see cref="ChartHtml.Fragment"/> holds one).</summary>
    static List<JsonElement> Figures(string html) =>
        Regex.Matches(html, @"var figure = (.*?);\s*var config", RegexOptions.Singleline)
            .Select(m => JsonDocument.Parse(m.Groups[1].Value).RootElement).ToList();

    /// <summary>The view is plotly and HTML only: no hand-drawn SVG, no raster image, nothing fetched from the network.</summary>
    static void AssertNoSvgOrImages(string html)
    {
        Assert.DoesNotContain("<svg", html);
        Assert.DoesNotContain("data:image/png", html);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
    }

    static double[] Numbers(JsonElement array) => array.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    static double[][] Matrix(JsonElement array) => array.EnumerateArray().Select(Numbers).ToArray();

    static List<JsonElement> Traces(JsonElement figure, string type) =>
        figure.GetProperty("data").EnumerateArray().Where(t => t.GetProperty("type").GetString() == type).ToList();

    /// <summary>The colour a trace's colour scale gives <paramref name="value"/>, where that falls exactly on one of its stops.</summary>
    static string ColourAt(JsonElement trace, double value)
    {
        double at = (value - trace.GetProperty("zmin").GetDouble()) / (trace.GetProperty("zmax").GetDouble() - trace.GetProperty("zmin").GetDouble());
        var stop = trace.GetProperty("colorscale").EnumerateArray().Single(s => Math.Abs(s[0].GetDouble() - at) < 1e-9);
        return stop[1].GetString()!;
    }

    static float[] Chirp(int samples, int rate = 16000) =>
        Enumerable.Range(0, samples).Select(n => (float)(0.6 * Math.Sin(2 * Math.PI * (200 + 1500.0 * n / samples) * n / rate))).ToArray();

    [Fact]
    public void The_spectrogram_is_a_viridis_heatmap_with_the_lowest_band_at_the_bottom_over_the_clips_seconds()
    {
        // Band b has value b everywhere: the bottom row (y = 0) is the lowest band, the top one the highest.
        var logMel = new float[40, 98];
        for (int b = 0; b < 40; b++)
            for (int f = 0; f < 98; f++) logMel[b, f] = b;
        var figure = Figure(AudioCharts.Clip(Chirp(16000), 16000, logMel));
        var heatmap = Assert.Single(Traces(figure, "heatmap"));
        var z = Matrix(heatmap.GetProperty("z"));
        Assert.Equal(40, z.Length);
        Assert.All(z, row => Assert.Equal(98, row.Length));
        Assert.Equal(Enumerable.Range(0, 40).Select(b => (double)b), z.Select(row => row[17]));
        Assert.Equal(Enumerable.Range(0, 40).Select(b => (double)b), Numbers(heatmap.GetProperty("y")));
        Assert.Equal((0, 39), (heatmap.GetProperty("zmin").GetDouble(), heatmap.GetProperty("zmax").GetDouble()));
        Assert.Equal("#fde725", ColourAt(heatmap, 39));                          // the highest value: viridis' yellow end
        Assert.Equal("#440154", ColourAt(heatmap, 0));                           // the lowest: its dark purple end
        var layout = figure.GetProperty("layout");
        var bands = layout.GetProperty(heatmap.TryGetProperty("yaxis", out var axis) && axis.GetString() == "y2" ? "yaxis2" : "yaxis");
        Assert.Equal(new[] { -0.5, 39.5 }, Numbers(bands.GetProperty("range")));   // upward: band 0 at the bottom
        Assert.Equal("mel band", bands.GetProperty("title").GetProperty("text").GetString());
        // Frames spread evenly over the one-second clip, on the waveform's time axis in seconds.
        var x = Numbers(heatmap.GetProperty("x"));
        Assert.Equal(0.5 / 98, x[0], 1e-5);
        Assert.Equal(1 - 0.5 / 98, x[^1], 1e-5);
        Assert.Equal(new[] { 0.0, 1.0 }, Numbers(layout.GetProperty("xaxis").GetProperty("range")));
        Assert.Equal("time (s)", layout.GetProperty("xaxis").GetProperty("title").GetProperty("text").GetString());
        var hover = heatmap.GetProperty("hovertemplate").GetString()!;
        Assert.Contains("%{x:.3f} s", hover);
        Assert.Contains("mel band %{y}", hover);
        Assert.Contains("%{z:.2f}", hover);
        Assert.Equal("log energy", heatmap.GetProperty("colorbar").GetProperty("title").GetProperty("text").GetString());
    }

    [Fact]
    public void The_waveform_is_the_lowest_and_highest_sample_of_each_column_filled_between()
    {
        // 800 samples over 400 columns: column c holds +c/400 and −c/800.
        var samples = Enumerable.Range(0, 800).Select(i => i % 2 == 0 ? (i / 2) / 400f : -(i / 2) / 800f).ToArray();
        samples[10] = float.NaN;                                                // read as silence
        var figure = Figure(AudioCharts.Clip(samples, 8000));
        var lines = Traces(figure, "scatter");
        Assert.Equal(2, lines.Count);
        var (highs, lows) = (Numbers(lines[0].GetProperty("y")), Numbers(lines[1].GetProperty("y")));
        Assert.Equal(AudioCharts.WaveformColumns, highs.Length);
        Assert.Equal(399 / 400.0, highs[399], 1e-4);
        Assert.Equal(-399 / 800.0, lows[399], 1e-4);
        Assert.Equal(0, highs[5], 1e-4);
        Assert.Equal(-5 / 800.0, lows[5], 1e-4);
        Assert.Equal("tonexty", lines[1].GetProperty("fill").GetString());
        Assert.Equal(Numbers(lines[1].GetProperty("y")), Numbers(lines[0].GetProperty("customdata")));   // the hover gives both ends
        var x = Numbers(lines[0].GetProperty("x"));
        Assert.Equal(0.5 * 0.1 / 400, x[0], 1e-6);                                // column centres in seconds (0.1 s clip)
        var amplitude = Numbers(figure.GetProperty("layout").GetProperty("yaxis").GetProperty("range"));
        Assert.Equal(-399 / 400.0 * 1.04, amplitude[0], 1e-4);
        Assert.Equal(399 / 400.0 * 1.04, amplitude[1], 1e-4);
        // A clip shorter than the columns: one column per sample.
        Assert.Equal(3, Numbers(Traces(Figure(AudioCharts.Clip([0.1f, -0.2f, 0.3f], 16000)), "scatter")[0].GetProperty("y")).Length);
    }

    [Fact]
    public void The_audio_view_is_a_player_and_a_plotly_chart()
    {
        var logMel = new float[4, 6];
        var html = AudioCharts.AudioView(Chirp(8000), 16000, logMel, "chirp <a>");
        AssertNoSvgOrImages(html);
        Assert.Contains("<b>chirp &lt;a&gt;</b>", html);
        Assert.Contains("0.50 s at 16000 Hz, 8,000 samples, peak 0.6", html);
        Assert.Contains("log-mel 4 bands × 6 frames", html);
        Assert.Single(Regex.Matches(html, "<audio[^>]* src=\"data:audio/wav;base64,"));
        var figure = Assert.Single(Figures(html));
        Assert.Single(Traces(figure, "heatmap"));
        Assert.Equal(2, Traces(figure, "scatter").Count);
    }

    [Fact]
    public void The_wav_data_uri_decodes_to_the_same_samples()
    {
        var samples = Chirp(4000, 8000).Append(1.5f).Append(-2f).Append(0f).ToArray();   // the last three: clipped, clipped, silent
        var wav = DataUri(AudioCharts.AudioView(samples, 8000), "audio/wav");
        Assert.Equal("RIFF", Encoding.ASCII.GetString(wav, 0, 4));
        Assert.Equal(wav.Length - 8, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(4)));
        Assert.Equal("WAVEfmt ", Encoding.ASCII.GetString(wav, 8, 8));
        Assert.Equal(1, BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(20)));        // PCM
        Assert.Equal(1, BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(22)));        // mono
        Assert.Equal(8000, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(24)));
        Assert.Equal(16, BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(34)));
        Assert.Equal("data", Encoding.ASCII.GetString(wav, 36, 4));
        Assert.Equal(2 * samples.Length, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(40)));
        for (int i = 0; i < samples.Length; i++)
        {
            double decoded = BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(44 + 2 * i)) / 32767.0;
            double expected = Math.Clamp(samples[i], -1, 1);
            Assert.True(Math.Abs(decoded - expected) <= 0.5 / 32767 + 1e-7, $"sample {i}: {samples[i]} came back as {decoded}");
        }
    }

    [Fact]
    public void The_gallery_draws_every_clip_on_one_colour_range_and_one_amplitude_scale()
    {
        var quiet = new float[4, 5];                                             // 0 everywhere
        var loud = new float[4, 5];
        loud[0, 0] = -5;
        loud[3, 4] = 3;
        var soft = Chirp(4000).Select(s => s / 2).ToArray();                     // peak 0.3; the others 0.6
        var html = AudioCharts.AudioGallery(
            [("yes", Chirp(8000), 16000, quiet), ("no", soft, 16000, null), ("up", Chirp(2000), 16000, loud)], columns: 2);
        AssertNoSvgOrImages(html);
        Assert.Equal(3, Regex.Matches(html, "<audio[^>]* src=\"data:audio/wav;base64,").Count);
        Assert.Contains("repeat(2,", html);
        Assert.Contains("</span> -5.0 … 3.0)", html);                                   // the shared range, stated under the grid
        var figures = Figures(html);
        Assert.Equal(3, figures.Count);
        var heatmaps = figures.SelectMany(f => Traces(f, "heatmap")).ToList();
        Assert.Equal(2, heatmaps.Count);                                         // "no" has no spectrogram
        Assert.All(heatmaps, h => Assert.Equal((-5, 3), (h.GetProperty("zmin").GetDouble(), h.GetProperty("zmax").GetDouble())));
        var ranges = figures.Select(f => Numbers(f.GetProperty("layout").GetProperty(Traces(f, "heatmap").Count > 0 ? "yaxis2" : "yaxis").GetProperty("range"))).ToList();
        double loudest = Chirp(8000).Max(Math.Abs);
        Assert.All(ranges, r => Assert.Equal(loudest * 1.04, r[1], 1e-6));       // the soft clip too: one amplitude scale
        Assert.All(figures, f => Assert.True(Numbers(Traces(f, "scatter")[0].GetProperty("y")).Length <= AudioCharts.GalleryWaveformColumns));
    }

    [Fact]
    public void The_confusion_matrix_states_the_accuracy_and_recall_computed_from_the_counts()
    {
        int[,] counts = { { 8, 1, 1 }, { 2, 6, 2 }, { 0, 1, 9 } };
        var chart = KeywordCharts.ConfusionMatrix(counts, ["yes", "no", "<silence>"], "Keywords");
        var figure = Figure(chart);
        var layout = figure.GetProperty("layout");
        Assert.Equal("Keywords · accuracy 76.7% (23 of 30)", layout.GetProperty("title").GetProperty("text").GetString());   // (8 + 6 + 9) / 30
        var heatmap = Assert.Single(Traces(figure, "heatmap"));
        var shares = Matrix(heatmap.GetProperty("z"));
        Assert.Equal(new[] { 0.2, 0.6, 0.2 }, shares[1]);                        // shaded by the share of the row
        Assert.Equal((0, 1), (heatmap.GetProperty("zmin").GetDouble(), heatmap.GetProperty("zmax").GetDouble()));
        Assert.Equal("#08306b", ColourAt(heatmap, 1));                           // a whole row: the darkest blue
        Assert.Equal("2<br>20%", heatmap.GetProperty("text")[1][2].GetString());
        Assert.Equal("<b>6<br>60%</b>", heatmap.GetProperty("text")[1][1].GetString());
        Assert.Equal("true no, predicted &lt;silence&gt;: 2 (20% of no)", heatmap.GetProperty("hovertext")[1][2].GetString());
        var recalls = layout.GetProperty("annotations").EnumerateArray()
            .Where(a => a.GetProperty("yref").GetString() == "y").ToDictionary(a => (int)a.GetProperty("y").GetDouble());
        Assert.Equal("60%", recalls[1].GetProperty("text").GetString());
        Assert.Equal("recall of no: 6 of 10", recalls[1].GetProperty("hovertext").GetString());
        Assert.Equal("90%", recalls[2].GetProperty("text").GetString());
        Assert.Equal(new[] { "yes", "no", "&lt;silence&gt;" }, layout.GetProperty("yaxis").GetProperty("ticktext").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(new[] { 2.5, -0.5 }, Numbers(layout.GetProperty("yaxis").GetProperty("range")));   // the first class at the top
        Assert.DoesNotContain("<silence>", figure.GetRawText().Replace("\\u003C", "<").Replace("\\u003c", "<"));
    }

    [Fact]
    public void Kernel_panels_share_one_symmetric_colour_scale_and_show_the_sum()
    {
        var chart = KeywordCharts.KernelPanels(
            [("3-wide", new float[,] { { 2, -2, 0 } }), ("1-wide, zero-padded", new float[,] { { 0, 1, 0 } }), ("folded", new float[,] { { 2, -1, 0 } })],
            title: "Folding", rowLabel: "input channel", columnLabel: "tap", asSum: true);
        var figure = Figure(chart);
        var heatmaps = Traces(figure, "heatmap");
        Assert.Equal(3, heatmaps.Count);
        // ±2 (the largest magnitude over all panels) is the scale's end everywhere; 0 is white; 1 is halfway to red.
        Assert.All(heatmaps, h => Assert.Equal((-2, 2), (h.GetProperty("zmin").GetDouble(), h.GetProperty("zmax").GetDouble())));
        Assert.Equal("#b2182b", ColourAt(heatmaps[0], 2));
        Assert.Equal("#2166ac", ColourAt(heatmaps[0], -2));
        Assert.Equal("#f7f7f7", ColourAt(heatmaps[1], 0));
        Assert.Equal("#f4a582", ColourAt(heatmaps[1], 1));
        Assert.Equal(new[] { 2.0, -1, 0 }, Matrix(heatmaps[2].GetProperty("z"))[0]);
        Assert.Equal(new[] { false, false, true }, heatmaps.Select(h => h.GetProperty("showscale").GetBoolean()));   // one colour bar
        Assert.Equal("3-wide: input channel %{y}, tap %{x}: %{z:.4~g}<extra></extra>", heatmaps[0].GetProperty("hovertemplate").GetString());
        // Each panel on its own x axis, side by side, left to right.
        var layout = figure.GetProperty("layout");
        var domains = new[] { "xaxis", "xaxis2", "xaxis3" }.Select(a => Numbers(layout.GetProperty(a).GetProperty("domain"))).ToList();
        Assert.Equal(new[] { "x", "x2", "x3" }, heatmaps.Select(h => h.GetProperty("xaxis").GetString()));
        for (int p = 1; p < 3; p++) Assert.True(domains[p][0] > domains[p - 1][1], $"panel {p} overlaps panel {p - 1}");
        var texts = layout.GetProperty("annotations").EnumerateArray().Select(a => a.GetProperty("text").GetString()).ToList();
        Assert.Equal(new[] { "3-wide", "+", "1-wide,<br>zero-padded", "=", "<b>folded</b>" }, texts);   // titles wrap
        Assert.Equal("Folding", layout.GetProperty("title").GetProperty("text").GetString());
        var plain = Figure(KeywordCharts.KernelPanels([("a", new float[,] { { 1 } }), ("b", new float[,] { { 1 } })]));
        Assert.Equal(new[] { "a", "b" }, plain.GetProperty("layout").GetProperty("annotations").EnumerateArray().Select(a => a.GetProperty("text").GetString()));
    }

    [Fact]
    public void The_dataset_summary_counts_clips_voices_and_noise()
    {
        (string, string, int)[] counts = [("train", "yes", 40), ("train", "no", 38), ("test", "yes", 10), ("test", "no", 12), ("train", "yes", 2)];
        double[] snrs = [5, 7.5, 10, 12, 20, double.PositiveInfinity];
        var html = KeywordCharts.DatasetSummary(counts, [("train", "en-us"), ("train", "en-gb+f3"), ("test", "en-us"), ("test", "en-sc")], snrs);
        AssertNoSvgOrImages(html);
        Assert.Contains("102 clips, 2 classes, 2 splits", html);
        Assert.Contains(">42<", html);                                           // train, yes: both entries summed
        Assert.Contains(">80<", html);                                           // train total
        Assert.Contains("also in another split", html);                          // en-us is in both
        Assert.Equal(2, Figures(html).Count);

        var bars = Figure(KeywordCharts.ClipsPerClass(counts));
        Assert.Equal("stack", bars.GetProperty("layout").GetProperty("barmode").GetString());
        var splits = Traces(bars, "bar");
        Assert.Equal(new[] { "train", "test" }, splits.Select(s => s.GetProperty("name").GetString()));
        Assert.Equal(new[] { 42.0, 38 }, Numbers(splits[0].GetProperty("y")));
        Assert.Equal(new[] { 10.0, 12 }, Numbers(splits[1].GetProperty("y")));
        Assert.Contains("(102)", bars.GetProperty("layout").GetProperty("title").GetProperty("text").GetString());

        // Bins 2.5 dB wide from 5 dB: 5 | 7.5 | 10, 12 | – | – | – | 20.
        var histogram = Figure(KeywordCharts.SnrHistogram(snrs));
        var layout = histogram.GetProperty("layout");
        Assert.Equal("SNR of the added noise (5 clips)", layout.GetProperty("title").GetProperty("text").GetString());
        var counted = Assert.Single(Traces(histogram, "bar"));
        Assert.Equal(new[] { 1.0, 1, 2, 0, 0, 0, 1 }, Numbers(counted.GetProperty("y")));
        Assert.Equal(6.25, Numbers(counted.GetProperty("x"))[0], 1e-9);
        Assert.Equal("10 … 12.5 dB: 2 clips", counted.GetProperty("hovertext")[2].GetString());
        Assert.Contains("not shown: 1 clip without noise (non-finite SNR)", layout.GetProperty("xaxis").GetProperty("title").GetProperty("text").GetString());
    }

    [Fact]
    public void Bad_input_gives_a_clear_message()
    {
        Assert.Contains("has no samples", Assert.Throws<InvalidSettingsException>(() => AudioCharts.AudioView([], 16000)).Message);
        Assert.Contains("sample rate of the clip must be positive", Assert.Throws<InvalidSettingsException>(() => AudioCharts.AudioView([0.1f], 0)).Message);
        Assert.Contains("is empty", Assert.Throws<InvalidSettingsException>(() => AudioCharts.Clip([0.1f], 16000, new float[0, 5])).Message);
        Assert.Contains("Clip 1 (‘no’) has no samples",
            Assert.Throws<InvalidSettingsException>(() => AudioCharts.AudioGallery([("yes", [0.1f], 16000, null), ("no", [], 16000, null)])).Message);
        Assert.Contains("there are 3 labels: give 3×3 counts",
            Assert.Throws<InvalidSettingsException>(() => KeywordCharts.ConfusionMatrix(new int[2, 2], ["a", "b", "c"])).Message);
        Assert.Contains("cannot be negative", Assert.Throws<InvalidSettingsException>(() => KeywordCharts.ConfusionMatrix(new[,] { { 1, -1 }, { 0, 2 } }, ["a", "b"])).Message);
        Assert.Contains("Panel 1 (‘identity’) is 4×1 but panel 0 (‘3-wide’) is 4×3: give every panel the same shape",
            Assert.Throws<InvalidSettingsException>(() => KeywordCharts.KernelPanels([("3-wide", new float[4, 3]), ("identity", new float[4, 1])])).Message);
        Assert.Contains("counts cannot be negative", Assert.Throws<InvalidSettingsException>(() => KeywordCharts.DatasetSummary([("train", "yes", -1)], [], [])).Message);
        Assert.Contains("at least one finite SNR", Assert.Throws<InvalidSettingsException>(() => KeywordCharts.SnrHistogram([double.PositiveInfinity])).Message);
        // A dataset without noise says so instead of drawing an empty histogram.
        Assert.Contains("not shown: 2 clips without noise", KeywordCharts.DatasetSummary([("train", "yes", 2)], [], [double.PositiveInfinity, double.PositiveInfinity]));
    }
}
