using EfficientML.Core;
using EfficientML.Cloning;
using EfficientML.Models;
using EfficientML.Interactive;
using Plotly.NET;
using TorchSharp;

namespace EfficientML.Interactive.Tests;

public class CloningChartsTests
{
    static SubcloneReport SmallSubclone()
    {
        using var model = new TinyGpt(TestKernel.TinyConfig with { Layers = 4, Heads = 4, KvHeads = 4 }, seed: 1);
        using var tokens = torch.randint(256, [2, 16], dtype: torch.int64);
        var (small, report) = Subcloning.Shrink(model, new SubcloneOptions { Dim = 8, Layers = 2 }, tokens);
        small.Dispose();
        return report;
    }

    [Fact]
    public void Weight_tiling_shows_the_source_and_the_grown_weight_side_by_side()
    {
        using var model = new TinyGpt(TestKernel.TinyConfig, seed: 1);
        var (grown, _) = HyperCloning.Expand(model, 2);
        using (grown)
        {
            var html = CloningCharts.WeightTiling(model, grown, "blocks.0.mlp.fc.weight");
            Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(html, "\"type\":\"heatmap\"").Count);
            Assert.Contains("display:flex", html);
            Assert.Contains("<code>blocks.0.mlp.fc.weight</code>", html);
            Assert.Contains("source [32×16]", html);
            Assert.Contains("grown ×2 [64×32]", html);
            Assert.Contains("\"dash\":\"dash\"", html);   // lines between the copies
            Assert.Contains("input dimension (column)", html);
            // A norm's weight is a vector: drawn as one row.
            Assert.Contains("[1×32]", CloningCharts.WeightTiling(model, grown, "blocks.0.ln_1.weight"));
            var error = Assert.Throws<InvalidSettingsException>(() => CloningCharts.WeightTiling(model, grown, "blocks.0.fc.weight"));
            Assert.Contains("blocks.0.mlp.fc.weight", error.Message);
        }
    }

    [Fact]
    public void Function_check_draws_a_bar_per_layer_on_a_log_axis_with_the_tolerance_line()
    {
        using var model = new TinyGpt(TestKernel.TinyConfig with { Layers = 2 }, seed: 1);
        var (grown, report) = HyperCloning.Expand(model, 2);
        grown.Dispose();
        var json = ChartHtml.FigureJson(CloningCharts.FunctionCheck(report));
        Assert.Contains("\"type\":\"log\"", json);
        Assert.Contains("\"y0\":0.0001", json);
        Assert.Contains("[\"embeddings\",\"block 0\",\"block 1\",\"logits\"]", json);
        Assert.Contains("same function", json);
    }

    [Fact]
    public void Importance_curve_is_sorted_and_cut_at_the_kept_width()
    {
        var report = SmallSubclone();
        var chart = CloningCharts.ImportanceCurve(report);
        var traces = GenericChart.getTraces(chart).ToList();
        Assert.Equal(2, traces.Count);
        var json = ChartHtml.FigureJson(chart);
        Assert.Contains("\"x0\":8.5", json);
        Assert.Contains("kept d′ = 8 of 16", json);
        Assert.Contains("\"name\":\"kept (8)\"", json);
        Assert.Contains("\"name\":\"dropped (8)\"", json);
    }

    [Fact]
    public void Layer_diagram_fills_kept_blocks_and_leaves_dropped_ones_hollow()
    {
        var report = SmallSubclone();
        var json = ChartHtml.FigureJson(CloningCharts.LayerDiagram(report));
        Assert.Contains("Blocks kept: 0, 3 of 4", json);
        Assert.Contains("\"name\":\"kept\"", json);
        Assert.Contains("\"name\":\"dropped\"", json);
        Assert.Contains("rgba(0,0,0,0)", json);
        Assert.Contains("block 1\\u003cbr>change", json); // FigureJson escapes every <
        Assert.Contains("\"categoryarray\":[\"0\",\"1\",\"2\",\"3\"]", json);
    }

    [Fact]
    public void Layer_agreement_has_a_bar_per_layer()
    {
        var report = SmallSubclone();
        var json = ChartHtml.FigureJson(CloningCharts.LayerAgreement(report));
        Assert.Contains("[\"embeddings\",\"block 0\",\"block 1\",\"block 2\",\"block 3\"]", json);
        Assert.Contains("share of its top d′ kept", json);
    }

    [Fact]
    public void Race_chart_draws_both_runs_and_the_mark()
    {
        using var corpus = CloningFormatterTests.TinyCorpus();
        using var a = new TinyGpt(TestKernel.TinyConfig, seed: 1);
        using var b = new TinyGpt(TestKernel.TinyConfig, seed: 2);
        var race = TrainingRace.Run(a, b, corpus, CloningFormatterTests.Quick(4), "clone", "random init");
        var json = ChartHtml.FigureJson(CloningCharts.Race(race));
        Assert.Contains("\"name\":\"clone · training\"", json);
        Assert.Contains("\"name\":\"random init · validation\"", json);
        Assert.Contains($"\"y0\":{race.TargetLoss!.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}", json);
        Assert.Contains("final validation loss", json);
    }
}
