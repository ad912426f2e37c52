using EfficientML.Clustering;
using EfficientML.Core;
using EfficientML.Models;
using Microsoft.DotNet.Interactive.Formatting;
using TorchSharp;

namespace EfficientML.Interactive.Tests;

/// <summary>The HTML of compression results, palettes and saved-memory reports (formatters are registered by the shared kernel).</summary>
public class ClusteringFormatterTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    [Fact]
    public void Compression_result_html_has_the_figures_and_the_runs_loss_chart()
    {
        _ = fixture.Kernel;
        using var model = new TinyGpt(TestKernel.TinyConfig, seed: 1);
        using var corpus = CloningFormatterTests.TinyCorpus();
        var run = LanguageModelTraining.Train(model, corpus, CloningFormatterTests.Quick(2), "DKM 3-bit fine-tuning");
        var result = new CompressionResult("DKM fine-tuned", 3, 1.2345, 419_430, ClusteringChartsTests.Float32Bytes, 3.125, run);

        var html = result.ToDisplayString("text/html");
        Assert.Contains("efml-compression", html);
        Assert.Contains("<b>DKM fine-tuned</b>, 3-bit", html);
        Assert.Contains(Html.Number(1.2345), html);                                       // nats
        Assert.Contains(Html.Number(Math.Round(1.2345 / Math.Log(2), 4)), html);          // bits per byte
        Assert.Contains("419.4 KB", html);
        Assert.Contains("10×", html);                                                     // 4 MiB / 0.4 MiB
        Assert.Contains("3.125", html);
        Assert.Contains("Plotly.newPlot", html);
        Assert.Contains("DKM 3-bit fine-tuning", html);

        var alone = (result with { Run = null }).ToDisplayString("text/html");
        Assert.DoesNotContain("Plotly.newPlot", alone);
    }

    [Fact]
    public void A_list_or_array_of_results_is_one_table_and_the_bits_vs_loss_chart()
    {
        _ = fixture.Kernel;
        var results = ClusteringChartsTests.Results();
        foreach (var html in new[] { results.ToDisplayString("text/html"), results.ToArray().ToDisplayString("text/html"),
                                     ((IReadOnlyList<CompressionResult>)results).ToDisplayString("text/html") })
        {
            Assert.Contains("efml-compressions", html);
            Assert.Equal(5, System.Text.RegularExpressions.Regex.Matches(html, "<tr><td").Count);
            Assert.Contains("32 (float)", html);
            Assert.Contains("Validation loss vs bits per weight", html);
            Assert.Contains("float32: 2.164 bits/byte", html);
        }
    }

    [Fact]
    public void Palette_html_has_the_shape_the_table_the_index_counts_and_the_packed_size()
    {
        _ = fixture.Kernel;
        using var palette = new Palette(torch.tensor(new float[] { -1, 0, 0.5f, 2 }).reshape(1, 4),
            torch.tensor(new byte[] { 0, 0, 1, 2, 3, 3, 3, 1 }).reshape(2, 4), Bits: 2, GroupSize: null);
        var html = palette.ToDisplayString("text/html");
        Assert.Contains("efml-palette", html);
        Assert.Contains("2×4 = 8 weights", html);
        Assert.Contains("k = 4", html);
        Assert.Contains("1 (one for the whole tensor)", html);
        Assert.Contains("18 B: indices 2 B at 2 bits + tables 16 B float32", html);       // 8 × 2 bits + 4 float32
        Assert.Contains($"{Html.Number(palette.BitsPerWeight)} (tables included)", html);
        var rows = System.Text.RegularExpressions.Regex.Matches(html, "<tr><td[^>]*>(\\d)</td><td[^>]*>([^<]*)</td><td[^>]*>(\\d+)</td>")
            .Select(m => (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value)).ToList();
        Assert.Equal(new[] { ("0", "-1", "2"), ("1", "0", "2"), ("2", "0.5", "1"), ("3", "2", "3") }, rows);
    }

    [Fact]
    public void A_grouped_palette_shows_a_column_per_table()
    {
        _ = fixture.Kernel;
        using var weight = torch.randn(4, 16, generator: new torch.Generator(1));
        using var clusterer = new DkmClusterer(new DkmOptions { Bits = 1, GroupSize = 2 });
        using var palette = clusterer.Palettize(weight);
        var html = palette.ToDisplayString("text/html");
        Assert.Contains("2 (one per 2 output channels)", html);
        Assert.Contains(">table 0<", html);
        Assert.Contains(">table 1<", html);
        Assert.Contains("k = 2", html);
    }

    [Fact]
    public void Saved_tensor_report_html_has_peak_and_current_bytes_by_kind_and_worker()
    {
        _ = fixture.Kernel;
        using var store = new SavedTensorStore(new EDkmOptions { Uniquify = true, Shards = 2 });
        using var clusterer = new DkmClusterer(new DkmOptions { Bits = 2 }, store);
        using var weight = torch.randn(8, 16, generator: new torch.Generator(2)).requires_grad_();
        using (var soft = clusterer.Soft(weight))
        {
            var report = store.Report;                                                      // before backward: everything held
            var html = report.ToDisplayString("text/html");
            Assert.Contains("efml-saved-report", html);
            Assert.Contains(Html.Encode("eDKM: uniquify + shard×2"), html);
            Assert.Contains($"{Html.Count(report.Peak.Total)} B", html);
            Assert.Contains($"{Html.Count(report.Peak[SavedKind.Attention])} B", html);
            Assert.Contains("worker 1", html);
            Assert.Contains($"busiest worker at most {Html.Count(report.PeakPerWorker)} B", html);
            soft.sum().backward();
        }
        var after = store.Report.ToDisplayString("text/html");
        Assert.Contains(">0 B</td></tr>", after);                                         // backward freed what was kept
    }

    [Fact]
    public void Saved_memory_rows_html_has_the_ratios_and_the_bar_chart()
    {
        _ = fixture.Kernel;
        IReadOnlyList<SavedMemoryRow> rows = ClusteringChartsTests.MemoryRows();
        var html = rows.ToDisplayString("text/html");
        Assert.Contains("efml-saved-memory", html);
        Assert.Contains("1,000,000 B (1 MB)", html);
        Assert.Contains(">10×<", html);
        Assert.Contains(">40×<", html);
        Assert.Contains("1.2×", html);                                                    // 12 ms vs 10 ms
        Assert.Contains("Plotly.newPlot", html);
        Assert.Contains("÷40", html);
    }
}
