using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Interactive;
using EfficientML.Text;
using Plotly.NET;
using TorchSharp;

namespace EfficientML.Interactive.Tests;

public class PlotsTests
{
    static TrainingRun TinyRun(string name, int steps)
    {
        using var model = new TinyGpt(TestKernel.TinyConfig, seed: 1);
        using var corpus = TextCorpus.FromText("tiny", string.Concat(Enumerable.Repeat("call me ishmael. ", 200)), ByteTokenizer.Instance);
        return LanguageModelTraining.Train(model, corpus, new TrainingOptions { Steps = steps, BatchSize = 2, BlockSize = 16, WarmupSteps = 0, EvalEvery = 2, EvalBatches = 1 }, name);
    }

    [Fact]
    public void Loss_chart_draws_training_and_validation_curves_for_each_run()
    {
        var chart = LossChart.Of(TinyRun("fast", 4), TinyRun("slow", 6));
        var traces = GenericChart.getTraces(chart).ToList();
        Assert.Equal(4, traces.Count);
        var json = ChartHtml.FigureJson(chart);
        Assert.Contains("\"name\":\"fast · training\"", json);
        Assert.Contains("\"name\":\"slow · validation\"", json);
        Assert.Contains("loss (nats per token)", json);
        Assert.Contains("\"legendgroup\":\"slow\"", json);
    }

    [Fact]
    public void Chart_fragment_draws_with_window_plotly_and_never_names_a_cdn()
    {
        var html = ChartHtml.Fragment(SeriesChart.Line([3, 2, 1.5], name: "loss", title: "a </script> title"));
        Assert.Contains("window.Plotly.newPlot", html);
        Assert.Contains(ChartHtml.MissingLibraryHint.Split(':')[0], html);
        Assert.DoesNotContain("cdn", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("require(", html);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(html, "</script>"));
        Assert.NotEqual(html[..60], ChartHtml.Fragment(SeriesChart.Bars(["a"], [1]))[..60]); // fresh element ids
    }

    [Fact]
    public void Plotly_script_inlines_the_whole_library_and_hides_require_js()
    {
        var script = ChartHtml.PlotlyScript();
        Assert.StartsWith("<script", script);
        Assert.Contains("plotly.js v" + ChartHtml.PlotlyVersion, script);
        Assert.Contains("function (define, module, exports)", script);
        Assert.True(script.Length > 3_000_000);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(script, "</script>"));
    }

    [Fact]
    public void Heat_map_of_a_large_matrix_is_averaged_down()
    {
        using var matrix = torch.randn(300, 40);
        var chart = HeatMap.Of(matrix, "weights");
        var json = ChartHtml.FigureJson(chart);
        Assert.Contains("weights [300×40], averaged to 128×40", json);
        Assert.Throws<InvalidSettingsException>(() => HeatMap.Of(torch.ones(2, 3, 4)));
    }

    [Fact]
    public void Heat_map_of_non_negative_data_uses_a_sequential_scale_from_zero()
    {
        using var signed = torch.tensor(new float[] { -2, 1, 0.5f, 1 }).reshape(2, 2);
        using var magnitudes = torch.tensor(new float[] { 0.25f, 1, 3, 2 }).reshape(2, 2);
        var signedJson = ChartHtml.FigureJson(HeatMap.Of(signed));
        var magnitudeJson = ChartHtml.FigureJson(HeatMap.Of(magnitudes));

        Assert.Contains("\"zmin\":-2", signedJson.Replace(" ", ""));
        Assert.Contains("#b2182b", signedJson);
        Assert.Contains("\"zmin\":0", magnitudeJson.Replace(" ", ""));
        Assert.Contains("\"zmax\":3", magnitudeJson.Replace(" ", ""));
        Assert.DoesNotContain("#b2182b", magnitudeJson);
        Assert.Contains("#08306b", magnitudeJson);
    }

    [Fact]
    public void A_long_title_wraps_at_spaces_and_the_plot_moves_down_to_make_room()
    {
        var title = "mean |activation| per residual dimension (columns) after each layer (rows, 0 = embeddings), relative to the layer's mean";
        var lines = ChartStyle.TitleLines(title);
        Assert.Equal(2, lines.Count);
        Assert.All(lines, l => Assert.True(l.Length <= ChartStyle.TitleLineLength, l));
        Assert.Equal(title, string.Join(" ", lines));

        using var doc = System.Text.Json.JsonDocument.Parse(ChartHtml.FigureJson(SeriesChart.Bars(["a"], [1], title: title)));
        var layout = doc.RootElement.GetProperty("layout");
        Assert.Contains("<br>", layout.GetProperty("title").GetProperty("text").GetString());
        Assert.Equal(ChartStyle.TopMargin("short") + 19, layout.GetProperty("margin").GetProperty("t").GetInt32());
    }
}
