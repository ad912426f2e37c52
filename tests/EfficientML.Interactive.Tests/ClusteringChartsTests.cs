using EfficientML.Core;
using System.Text.Json;
using EfficientML.Clustering;
using EfficientML.Interactive;
using TorchSharp;

namespace EfficientML.Interactive.Tests;

public class ClusteringChartsTests
{
    internal const long Float32Bytes = 4 * 1048576;

    internal static List<CompressionResult> Results() =>
    [
        new("float32", 0, 1.5, Float32Bytes, Float32Bytes, 32, null),
        new("k-means (no fine-tuning)", 2, 3.0, 300_000, Float32Bytes, 2.25, null),
        new("DKM fine-tuned", 2, 2.0, 300_000, Float32Bytes, 2.25, null),
        new("k-means (no fine-tuning)", 4, 1.8, 560_000, Float32Bytes, 4.25, null),
        new("DKM fine-tuned", 4, 1.6, 560_000, Float32Bytes, 4.25, null),
    ];

    internal static List<SavedMemoryRow> MemoryRows() =>
    [
        new("DKM (plain autograd storage)", EDkmOptions.None, 1_000_000, 1_000_000, 0.010, 2.5),
        new("+ uniquify", new EDkmOptions { Uniquify = true }, 100_000, 100_000, 0.012, 2.5),
        new("+ uniquify + shard over 4", new EDkmOptions { Uniquify = true, Shards = 4 }, 100_000, 25_000, 0.015, 2.5),
    ];

    static JsonElement Figure(Plotly.NET.GenericChart chart) =>
        JsonDocument.Parse(ChartHtml.FigureJson(chart).Replace("\\u003c", "<")).RootElement;

    [Fact]
    public void Weight_histogram_draws_counts_and_a_line_per_centroid()
    {
        using var weight = torch.tensor(new float[] { -1, -1, -0.9f, 0, 0.1f, 0.1f, 1, 1 }).reshape(2, 4);
        using var centroids = torch.tensor(new float[] { -0.95f, 0.05f, 1 }).reshape(1, 3);
        var figure = Figure(ClusteringCharts.WeightHistogram(weight, centroids, "w"));

        var bars = figure.GetProperty("data")[0];
        Assert.Equal("bar", bars.GetProperty("type").GetString());
        Assert.Equal(ClusteringCharts.HistogramBins, bars.GetProperty("y").GetArrayLength());
        Assert.Equal(8, bars.GetProperty("y").EnumerateArray().Sum(v => v.GetDouble()));
        var shapes = figure.GetProperty("layout").GetProperty("shapes").EnumerateArray().ToList();
        Assert.Equal(3, shapes.Count);
        Assert.Equal(-0.95, shapes[0].GetProperty("x0").GetDouble(), 1e-6);
        var json = figure.GetRawText();
        Assert.Contains("w: 8 values, 3 centroids", json);
        Assert.Contains("centroids (k = 3)", json);
        Assert.Contains("c1 = 0.05", json);
    }

    [Fact]
    public void Weight_histogram_of_grouped_tables_draws_the_first_table_and_says_so()
    {
        using var weight = torch.arange(16, dtype: torch.float32).reshape(4, 4);
        using var centroids = torch.tensor(new float[] { 1, 5, 9, 13 }).reshape(2, 2);
        var json = ChartHtml.FigureJson(ClusteringCharts.WeightHistogram(weight, centroids, "grouped"));
        Assert.Contains("grouped (table 1 of 2: rows 0–1): 8 values, 2 centroids", json);
        // Without centroids: the histogram alone.
        var alone = Figure(ClusteringCharts.WeightHistogram(weight, null, "before"));
        Assert.Empty(alone.GetProperty("layout").GetProperty("shapes").EnumerateArray());
        Assert.Contains("before: 16 values\"", alone.GetRawText());
    }

    [Fact]
    public void Attention_map_is_dkms_softmax_with_rows_sorted_by_weight()
    {
        using var weight = torch.tensor(new float[] { 0.9f, -1, 0, 0.2f, -0.5f, 1 });
        using var centroids = torch.tensor(new float[] { 1, -1, 0 });                  // drawn sorted: −1, 0, 1
        const double tau = 0.1;
        var figure = Figure(ClusteringCharts.Attention(weight, centroids, tau, rows: 6));
        var trace = figure.GetProperty("data")[0];
        Assert.Equal("heatmap", trace.GetProperty("type").GetString());
        var z = trace.GetProperty("z").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        Assert.Equal(6, z.Length);
        var sorted = new[] { -1.0, -0.5, 0, 0.2, 0.9, 1 };
        var c = new[] { -1.0, 0, 1 };
        for (int i = 0; i < 6; i++)
        {
            var logits = c.Select(cj => -(sorted[i] - cj) * (sorted[i] - cj) / tau).ToArray();
            double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
            for (int j = 0; j < 3; j++)
                Assert.Equal(Math.Max(Math.Exp(logits[j] - max) / sum, 1e-7), z[i][j], 5);
        }
        var json = figure.GetRawText();
        Assert.Contains("τ = 0.1: 6 of 6 weights × 3 centroids", json);
        Assert.Contains("\"c0 = -1\"", json);
        var ticks = figure.GetProperty("layout").GetProperty("yaxis").GetProperty("ticktext").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Equal(new[] { "-1", "-0.5", "0", "0.2", "0.9", "1" }, ticks);
        Assert.Throws<InvalidSettingsException>(() => ClusteringCharts.Attention(weight, centroids, 0));
    }

    [Fact]
    public void Attention_map_samples_rows_evenly_over_the_sorted_weights()
    {
        using var weight = torch.linspace(-1, 1, 1000).reshape(10, 100);
        using var centroids = torch.tensor(new float[] { -0.5f, 0.5f });
        var figure = Figure(ClusteringCharts.Attention(weight, centroids, 1e-2, rows: 5));
        Assert.Contains("5 of 1,000 weights × 2 centroids", figure.GetRawText());
        // Sorted ranks 0, 250, 500, 749 and 999 of −1 + 2i/999.
        var ticks = figure.GetProperty("layout").GetProperty("yaxis").GetProperty("ticktext").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Equal(new[] { "-1", "-0.4995", "0.001", "0.4995", "1" }, ticks);
    }

    [Fact]
    public void Saved_memory_bars_are_on_a_log_axis_and_labelled_with_the_ratio_to_plain_dkm()
    {
        var rows = MemoryRows();
        var json = ChartHtml.FigureJson(ClusteringCharts.SavedMemory(rows));
        var figure = Figure(ClusteringCharts.SavedMemory(rows));
        // Horizontal bars: the long storage names read unrotated on the left, so none runs into the legend.
        Assert.All(figure.GetProperty("data").EnumerateArray(), t => Assert.Equal("h", t.GetProperty("orientation").GetString()));
        Assert.Equal("log", figure.GetProperty("layout").GetProperty("xaxis").GetProperty("type").GetString());
        Assert.True(figure.GetProperty("layout").GetProperty("yaxis").GetProperty("automargin").GetBoolean());
        Assert.Contains("\"name\":\"busiest worker\"", json);
        Assert.Contains("\"name\":\"all workers\"", json);
        Assert.Contains(" (plain DKM)", json);
        Assert.Contains("÷10", json);
        Assert.Contains("÷40", json);
        Assert.Contains("up to 40× less per worker than plain DKM", json);
    }

    [Fact]
    public void Bits_vs_loss_draws_a_line_per_method_and_the_float32_line()
    {
        var figure = Figure(ClusteringCharts.BitsVsLoss(Results()));
        var names = figure.GetProperty("data").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
        Assert.Equal(new[] { "k-means (no fine-tuning)", "DKM fine-tuned" }, names);
        var kmeans = figure.GetProperty("data")[0];
        Assert.Equal(new[] { 2.0, 4.0 }, kmeans.GetProperty("x").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal(3.0 / Math.Log(2), kmeans.GetProperty("y")[0].GetDouble(), 9);
        var layout = figure.GetProperty("layout");
        Assert.Equal(new[] { 2, 4 }, layout.GetProperty("xaxis").GetProperty("tickvals").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal(1.5 / Math.Log(2), layout.GetProperty("shapes")[0].GetProperty("y0").GetDouble(), 9);
        Assert.Contains("float32: 2.164 bits/byte", layout.GetRawText());
    }
}
