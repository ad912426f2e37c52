using System.Globalization;
using System.Text.RegularExpressions;
using EfficientML.Core;
using EfficientML.Models;
using Microsoft.DotNet.Interactive.Formatting;
using TorchSharp;

namespace EfficientML.Interactive.Tests;

public partial class FormatterTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    [Fact]
    public void TinyGpt_table_lists_every_layer_and_its_total_equals_the_parameter_count()
    {
        _ = fixture.Kernel;
        using var model = new TinyGpt(new TinyGptConfig { Layers = 3, Dim = 32, Heads = 4, KvHeads = 2, MlpDim = 64, ContextLength = 48 }, seed: 1);
        var html = model.ToDisplayString("text/html");

        var total = long.Parse(TotalCell().Match(html).Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
        Assert.Equal(model.ParameterCount, total);
        foreach (var layer in new[] { "embeddings", "block 0", "block 1", "block 2", "final norm", "output head" })
            Assert.Contains(layer, html);
        Assert.Contains("k_proj 16×32 +b", html); // grouped-query: 2 key/value heads of 8
        Assert.Contains("tied", html);
    }

    [Fact]
    public void Tensor_html_shows_shape_dtype_device_statistics_values_and_a_heat_map_for_a_matrix()
    {
        _ = fixture.Kernel;
        using var matrix = torch.arange(12, dtype: torch.float32).reshape(3, 4);
        var html = matrix.ToDisplayString("text/html");
        Assert.Contains("[3, 4]", html);
        Assert.Contains("Float32", html);
        Assert.Contains("cpu", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("mean", html);
        Assert.Contains("5.5", html);       // the mean
        Assert.Contains("11", html);        // the max
        Assert.Contains("Plotly.newPlot", html);
        Assert.Contains("\"type\":\"heatmap\"", html);

        using var vector = torch.ones(5);
        Assert.DoesNotContain("heatmap", vector.ToDisplayString("text/html"));
    }

    [Fact]
    public void Parameters_are_formatted_as_tensors()
    {
        _ = fixture.Kernel;
        using var model = new TinyGpt(TestKernel.TinyConfig, seed: 1);
        var html = model.wte.weight!.ToDisplayString("text/html");
        Assert.Contains("[256, 16]", html);
        Assert.Contains("requires grad", html);
    }

    [Fact]
    public void Training_run_html_has_the_loss_chart_and_the_outcome()
    {
        _ = fixture.Kernel;
        using var model = new TinyGpt(TestKernel.TinyConfig, seed: 1);
        using var corpus = EfficientML.Text.TextCorpus.FromText("tiny", string.Concat(Enumerable.Repeat("call me ishmael. ", 200)), EfficientML.Text.ByteTokenizer.Instance);
        var run = LanguageModelTraining.Train(model, corpus, new TrainingOptions { Steps = 4, BatchSize = 2, BlockSize = 16, WarmupSteps = 0, EvalEvery = 2, EvalBatches = 1 }, "tiny run");
        var html = run.ToDisplayString("text/html");
        Assert.Contains("tiny run", html);
        Assert.Contains("completed", html);
        Assert.Contains("4 of 4 steps", html);
        Assert.Contains("Plotly.newPlot", html);
        Assert.Contains("validation", html);
    }

    [GeneratedRegex("class=\"efml-total\"[^>]*>([0-9,]+)<")]
    private static partial Regex TotalCell();
}
