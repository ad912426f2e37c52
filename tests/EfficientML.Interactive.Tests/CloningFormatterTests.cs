using EfficientML.Cloning;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using Microsoft.DotNet.Interactive.Formatting;
using TorchSharp;

namespace EfficientML.Interactive.Tests;

/// <summary>The HTML of HyperCloning's, subcloning's and a race's results (formatters are registered by the shared kernel).</summary>
public class CloningFormatterTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    internal static TextCorpus TinyCorpus() =>
        TextCorpus.FromText("tiny", string.Concat(Enumerable.Repeat("call me ishmael. ", 200)), ByteTokenizer.Instance);

    internal static TrainingOptions Quick(int steps) => new() { Steps = steps, BatchSize = 2, BlockSize = 16, WarmupSteps = 0, EvalEvery = 2, EvalBatches = 1 };

    [Fact]
    public void Clone_report_html_has_the_sizes_the_check_and_the_chart()
    {
        _ = fixture.Kernel;
        using var model = new TinyGpt(TestKernel.TinyConfig, seed: 1);
        var (grown, report) = HyperCloning.Expand(model, 2);
        using (grown)
        {
            var html = report.ToDisplayString("text/html");
            Assert.Contains("HyperCloning ×2", html);
            Assert.Contains("16 → 32", html);                                   // width
            Assert.Contains($"{Html.Count(report.ParametersBefore)} → {Html.Count(report.ParametersAfter)}", html);
            Assert.Contains("✓ same function", html);
            Assert.Contains("none (exact copies)", html);
            Assert.Contains(Html.Number(report.MaxLogitDifference), html);
            Assert.Contains("relative |Δlogit|", html);
            Assert.Contains("Plotly.newPlot", html);
            Assert.Contains("1e-4: float32 tolerance", html);
        }
    }

    [Fact]
    public void A_clone_report_that_changed_the_function_says_so()
    {
        _ = fixture.Kernel;
        using var model = new TinyGpt(TestKernel.TinyConfig, seed: 1);
        var (grown, report) = HyperCloning.Expand(model, 2);
        grown.Dispose();
        var html = (report with { MaxLogitDifference = 0.5 }).ToDisplayString("text/html");
        Assert.Contains("✗ not the same function", html);
        Assert.DoesNotContain("✓", html);
    }

    [Fact]
    public void Subclone_report_html_has_sizes_kept_layers_losses_in_nats_and_bits_and_three_charts()
    {
        _ = fixture.Kernel;
        using var model = new TinyGpt(TestKernel.TinyConfig with { Layers = 3, Heads = 4, KvHeads = 4 }, seed: 1);
        using var tokens = torch.randint(256, [2, 16], dtype: torch.int64);
        var (small, report) = Subcloning.Shrink(model, new SubcloneOptions { Dim = 8, Layers = 2 }, tokens);
        using (small)
        {
            var html = report.ToDisplayString("text/html");
            Assert.Contains("16 → 8", html);
            Assert.Contains("3 → 2", html);
            Assert.Contains("0, 2", html);                                      // kept blocks
            Assert.Contains($"{Html.Count(report.ParametersBefore)} → {Html.Count(report.ParametersAfter)}", html);
            Assert.Contains("nats per token", html);
            Assert.Contains("bits per token", html);
            Assert.Contains(Html.Number(Math.Round(report.LossBeforeTraining, 4)), html);
            Assert.Contains(Html.Number(Math.Round(report.RandomInitLoss / Math.Log(2), 4)), html);
            Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(html, "class=\"efml-chart\"").Count);
            Assert.Contains("kept d′ = 8 of 16", html);
            Assert.Contains("Blocks kept: 0, 2 of 3", html);
        }
    }

    [Fact]
    public void Race_html_has_the_summary_the_steps_and_an_infinite_speed_up_spelled_out()
    {
        _ = fixture.Kernel;
        using var corpus = TinyCorpus();
        using var trained = new TinyGpt(TestKernel.TinyConfig, seed: 1);
        using var fresh = new TinyGpt(TestKernel.TinyConfig, seed: 2);
        LanguageModelTraining.Train(trained, corpus, Quick(30) with { LearningRate = 1e-2 });
        var race = TrainingRace.Run(trained, fresh, corpus, Quick(4), "clone", "random init");
        Assert.Equal(double.PositiveInfinity, race.SpeedUp);

        var html = race.ToDisplayString("text/html");
        Assert.Contains(System.Net.WebUtility.HtmlEncode(race.Summary), html);
        Assert.Contains(RaceResultHtml.StartsBelow, html);
        Assert.Contains("steps to the mark", html);
        Assert.Contains("random init", html);
        Assert.Contains("Plotly.newPlot", html);
        Assert.Contains("mark: ", html);
    }
}
