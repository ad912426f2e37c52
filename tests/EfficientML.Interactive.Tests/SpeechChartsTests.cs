using EfficientML.Core;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using EfficientML.Interactive;

namespace EfficientML.Interactive.Tests;

public class SpeechChartsTests
{
    /// <summary>CRC-32 bit by bit (no table), independent of the encoder's.</summary>
    static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }

    /// <summary>Checks signature, chunk order and every CRC; returns the size and the RGB pixels (inflated, unfiltered).</summary>
    static (int Width, int Height, byte[] Rgb) DecodePng(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        int at = 8, width = 0, height = 0;
        var chunks = new List<string>();
        using var idat = new MemoryStream();
        while (at < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            var type = Encoding.ASCII.GetString(png, at + 4, 4);
            var typeAndData = png.AsSpan(at + 4, 4 + length);
            Assert.Equal(Crc32(typeAndData), BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length)));
            var data = png.AsSpan(at + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                Assert.Equal(new byte[] { 8, 2, 0, 0, 0 }, data[8..13].ToArray());   // 8-bit RGB, deflate, no interlace
            }
            if (type == "IDAT") idat.Write(data);
            chunks.Add(type);
            at += 12 + length;
        }
        Assert.Equal(png.Length, at);
        Assert.Equal("IHDR", chunks[0]);
        Assert.Equal("IEND", chunks[^1]);
        idat.Position = 0;
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(idat, CompressionMode.Decompress)) zlib.CopyTo(inflated);
        var raw = inflated.ToArray();
        Assert.Equal(height * (1 + 3 * width), raw.Length);
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            Assert.Equal(0, raw[y * (1 + 3 * width)]);                          // filter type 0
            Array.Copy(raw, y * (1 + 3 * width) + 1, rgb, y * 3 * width, 3 * width);
        }
        return (width, height, rgb);
    }

    static byte[] DataUri(string html, string mime)
    {
        var match = Regex.Match(html, $"data:{Regex.Escape(mime)};base64,([A-Za-z0-9+/=]+)");
        Assert.True(match.Success, $"no {mime} data URI in the HTML");
        return Convert.FromBase64String(match.Groups[1].Value);
    }

    static float[] Chirp(int samples, int rate = 16000) =>
        Enumerable.Range(0, samples).Select(n => (float)(0.6 * Math.Sin(2 * Math.PI * (200 + 1500.0 * n / samples) * n / rate))).ToArray();

    [Fact]
    public void The_png_encoder_writes_a_file_that_decodes_to_its_pixels()
    {
        var random = new Random(3);
        var rgb = new byte[7 * 5 * 3];
        random.NextBytes(rgb);
        var (width, height, decoded) = DecodePng(PngEncoder.Encode(7, 5, rgb));
        Assert.Equal((7, 5), (width, height));
        Assert.Equal(rgb, decoded);
        Assert.Contains("take 105 bytes", Assert.Throws<InvalidSettingsException>(() => PngEncoder.Encode(7, 5, new byte[10])).Message);
    }

    [Fact]
    public void The_spectrogram_is_an_inline_png_with_the_lowest_band_at_the_bottom()
    {
        // Band b has value b everywhere: the top row is the highest band (yellow), the bottom row the lowest (dark purple).
        var logMel = new float[40, 98];
        for (int b = 0; b < 40; b++)
            for (int f = 0; f < 98; f++) logMel[b, f] = b;
        var html = SpeechCharts.AudioView(Chirp(16000), 16000, logMel, "chirp");
        var (width, height, rgb) = DecodePng(DataUri(html, "image/png"));
        Assert.Equal((98, 40), (width, height));
        Assert.Equal(new byte[] { 0xfd, 0xe7, 0x25 }, rgb[..3]);                  // top-left: viridis' high end
        Assert.Equal(new byte[] { 0x44, 0x01, 0x54 }, rgb[^3..]);                 // bottom-right: viridis' low end
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", ""));
        Assert.DoesNotContain("https://", html);
    }

    [Fact]
    public void The_wav_data_uri_decodes_to_the_same_samples()
    {
        var samples = Chirp(4000, 8000).Append(1.5f).Append(-2f).Append(0f).ToArray();   // the last three: clipped, clipped, silent
        var wav = DataUri(SpeechCharts.AudioView(samples, 8000), "audio/wav");
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
    public void The_confusion_matrix_states_the_accuracy_and_recall_computed_from_the_counts()
    {
        int[,] counts = { { 8, 1, 1 }, { 2, 6, 2 }, { 0, 1, 9 } };
        var html = SpeechCharts.ConfusionMatrix(counts, ["yes", "no", "<silence>"], "Keywords");
        Assert.Contains("Keywords &#183; accuracy 76.7% (23 of 30)", html);         // (8 + 6 + 9) / 30
        Assert.Contains("recall of no: 6 of 10", html);
        Assert.Contains(">60.0%</text>", html);
        Assert.Contains("&lt;silence&gt;", html);
        Assert.DoesNotContain("<silence>", html);
        Assert.Contains("true no, predicted &lt;silence&gt;: 2 (20% of no)", html);
    }

    [Fact]
    public void Kernel_panels_share_one_symmetric_colour_scale_and_show_the_sum()
    {
        var html = SpeechCharts.KernelPanels(
            [("3-wide", new float[,] { { 2, -2, 0 } }), ("1-wide, zero-padded", new float[,] { { 0, 1, 0 } }), ("folded", new float[,] { { 2, -1, 0 } })],
            title: "Folding", rowLabel: "input channel", columnLabel: "tap", asSum: true);
        // ±2 (the largest magnitude over all panels) is the scale's end everywhere; 0 is white; 1 is halfway to red.
        Assert.Contains("fill=\"#b2182b\"><title>3-wide: input channel 0, tap 0: 2</title>", html);
        Assert.Contains("fill=\"#2166ac\"><title>3-wide: input channel 0, tap 1: -2</title>", html);
        Assert.Contains("fill=\"#f7f7f7\"><title>1-wide, zero-padded: input channel 0, tap 0: 0</title>", html);
        Assert.Contains("fill=\"#f4a582\"><title>1-wide, zero-padded: input channel 0, tap 1: 1</title>", html);
        Assert.Contains(">+</text>", html);
        Assert.Contains(">=</text>", html);
        Assert.DoesNotContain(">=</text>", SpeechCharts.KernelPanels([("a", new float[,] { { 1 } }), ("b", new float[,] { { 1 } })]));
    }

    [Fact]
    public void The_dataset_summary_counts_clips_voices_and_noise()
    {
        var html = SpeechCharts.DatasetSummary(
            [("train", "yes", 40), ("train", "no", 38), ("test", "yes", 10), ("test", "no", 12), ("train", "yes", 2)],
            [("train", "en-us"), ("train", "en-gb+f3"), ("test", "en-us"), ("test", "en-sc")],
            [5, 7.5, 10, 12, 20, double.PositiveInfinity]);
        Assert.Contains("102 clips, 2 classes, 2 splits", html);
        Assert.Contains(">42<", html);                                           // train, yes: both entries summed
        Assert.Contains(">80<", html);                                           // train total
        Assert.Contains("also in another split", html);                          // en-us is in both
        Assert.Contains("SNR of the added noise (5 clips)", html);
        Assert.Contains("not shown: 1 clip without noise", html);
    }

    [Fact]
    public void The_gallery_draws_every_clip_on_one_colour_range()
    {
        var spectrogram = new float[4, 5];
        var html = SpeechCharts.AudioGallery(
            [("yes", Chirp(8000), 16000, spectrogram), ("no", Chirp(4000), 16000, null), ("up", Chirp(2000), 16000, null)], columns: 2);
        Assert.Equal(3, Regex.Matches(html, "data:audio/wav;base64,").Count);
        Assert.Single(Regex.Matches(html, "data:image/png;base64,"));
        Assert.Contains("repeat(2,", html);
    }

    [Fact]
    public void Bad_input_gives_a_clear_message()
    {
        Assert.Contains("has no samples", Assert.Throws<InvalidSettingsException>(() => SpeechCharts.AudioView([], 16000)).Message);
        Assert.Contains("sample rate of the clip must be positive", Assert.Throws<InvalidSettingsException>(() => SpeechCharts.AudioView([0.1f], 0)).Message);
        Assert.Contains("is empty", Assert.Throws<InvalidSettingsException>(() => SpeechCharts.AudioView([0.1f], 16000, new float[0, 5])).Message);
        Assert.Contains("Clip 1 (‘no’) has no samples",
            Assert.Throws<InvalidSettingsException>(() => SpeechCharts.AudioGallery([("yes", [0.1f], 16000, null), ("no", [], 16000, null)])).Message);
        Assert.Contains("there are 3 labels: give 3×3 counts",
            Assert.Throws<InvalidSettingsException>(() => SpeechCharts.ConfusionMatrix(new int[2, 2], ["a", "b", "c"])).Message);
        Assert.Contains("cannot be negative", Assert.Throws<InvalidSettingsException>(() => SpeechCharts.ConfusionMatrix(new[,] { { 1, -1 }, { 0, 2 } }, ["a", "b"])).Message);
        Assert.Contains("Panel 1 (‘identity’) is 4×1 but panel 0 (‘3-wide’) is 4×3: give every panel the same shape",
            Assert.Throws<InvalidSettingsException>(() => SpeechCharts.KernelPanels([("3-wide", new float[4, 3]), ("identity", new float[4, 1])])).Message);
        Assert.Contains("counts cannot be negative", Assert.Throws<InvalidSettingsException>(() => SpeechCharts.DatasetSummary([("train", "yes", -1)], [], [])).Message);
    }
}
