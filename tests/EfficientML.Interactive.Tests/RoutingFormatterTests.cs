using System.Text.RegularExpressions;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Routing;
using Microsoft.DotNet.Interactive.Formatting;
using TorchSharp;

namespace EfficientML.Interactive.Tests;

/// <summary>The HTML of routing points, routing studies and routed models (formatters are registered by the shared kernel).</summary>
public class RoutingFormatterTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    static RoutingStudy Study(bool elastic)
    {
        var training = new TrainingOptions { Steps = 100, BatchSize = 16, BlockSize = 256 };
        return new RoutingStudy(
            RoutingChartsTests.Sizes, new RoutingOptions { EvalTheta = 0.5 }, new TrainingRun("DynaMoE routers", training, 16 * 256),
            RoutingChartsTests.Routed(), RoutingChartsTests.Static(),
            elastic ? RoutingChartsTests.Static("elastic baseline") : null,
            elastic ? new TrainingRun("elastic baseline", training, 16 * 256) : null,
            (1.2, 0.3), (0.6, 0.75));
    }

    [Fact]
    public void Routing_study_html_has_the_summary_the_chart_the_table_and_the_usage_at_the_evaluation_theta()
    {
        _ = fixture.Kernel;
        var html = Study(elastic: true).ToDisplayString("text/html");
        Assert.Contains("efml-routing-study", html);
        Assert.Contains("fine-tuned on 409,600 tokens (3.3% of pretraining)", html);          // 100·16·256 of 1500·32·256
        Assert.Contains("router fit 1.2 → 0.6 nats (accuracy 30% → 75%)", html);
        // θ = 0.5 costs 1.53 nats against the dense 1.5: exactly 2 % more, and 65 % of the compute.
        Assert.Contains("cheapest within 2% of dense: <b>routed θ=0.50</b> at <b>65%</b> of the dense MLP compute (+2% loss)", html);
        var figures = RoutingChartsTests.Figures(html);
        Assert.Equal(2, figures.Count);                                                         // the Pareto chart, the usage at θ = 0.5
        Assert.Equal("Validation loss vs MLP compute (4 nested experts: 25%, 50%, 75%, 100% of 32 neurons)", RoutingChartsTests.Title(figures[0]));
        Assert.Equal(new[] { "routed, labelled with θ", "static widths, same weights", "static widths, elastic baseline" },
            RoutingChartsTests.Traces(figures[0]).Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(3 + 4 + 4, Regex.Matches(html, "<tr><td").Count);
        Assert.Contains("θ = 0.5", html);
        Assert.Contains("expert 3", html);
        Assert.Contains("vs dense", html);
        Assert.Equal("Share of validation tokens on each expert at θ = 0.5", RoutingChartsTests.Title(figures[1]));
        Assert.Equal(new double?[] { 0.4, 0.1 }, RoutingChartsTests.Numbers(RoutingChartsTests.Traces(figures[1])[0], "x").Select(x => (double?)Math.Round(x!.Value, 9)));
        Assert.Contains("elastic baseline</b>", html);                                          // its run's status line

        var without = Study(elastic: false);
        var plain = (without with { Routed = [RoutingChartsTests.Point("routed θ=0.00", 0, null, 2.0, 0.25, 0.05)] }).ToDisplayString("text/html");
        Assert.Contains("no routed variant is within 2% of the dense loss", plain);
        Assert.DoesNotContain("elastic baseline", plain);

        // A broken fine-tuning (every loss NaN) still shows its summary and table, with a note in place of the chart.
        var broken = without with
        {
            Routed = without.Routed.Select(p => p with { ValidationLoss = double.NaN }).ToList(),
            Static = without.Static.Select(p => p with { ValidationLoss = double.PositiveInfinity }).ToList(),
        };
        var brokenHtml = broken.ToDisplayString("text/html");
        Assert.Contains("No chart: every validation loss is NaN or infinite", brokenHtml);
        Assert.Contains("lower learning rate", brokenHtml);
        Assert.Equal(3 + 4, Regex.Matches(brokenHtml, "<tr><td").Count);
    }

    [Fact]
    public void A_list_of_routing_points_is_the_chart_and_one_table_with_the_elastic_widths_as_their_own_series()
    {
        _ = fixture.Kernel;
        var points = RoutingChartsTests.Routed().Concat(RoutingChartsTests.Static()).Concat(RoutingChartsTests.Static("elastic baseline")).ToList();
        foreach (var html in new[] { points.ToDisplayString("text/html"), points.ToArray().ToDisplayString("text/html") })
        {
            Assert.Contains("efml-routing-points", html);
            Assert.Equal(11, Regex.Matches(html, "<tr><td").Count);
            var pareto = Assert.Single(RoutingChartsTests.Figures(html));
            Assert.Equal(new[] { 3, 4, 4 }, RoutingChartsTests.Traces(pareto).Select(t => RoutingChartsTests.Numbers(t, "x").Count));
            Assert.Equal("static widths, elastic baseline", RoutingChartsTests.Traces(pareto)[2].GetProperty("name").GetString());
            Assert.Contains(RoutingChartsTests.Annotations(pareto), a => a.StartsWith("dense +2%", StringComparison.Ordinal));
            Assert.Contains(Html.Number(Math.Round(1.53 / Math.Log(2), 4)), html);
            Assert.Contains("65%", html);                                                       // compute, routers included
            Assert.Contains("60%", html);                                                       // active neurons
        }
        var one = points[1].ToDisplayString("text/html");
        Assert.Contains("efml-routing-point", one);
        Assert.Contains("routed θ=0.50", one);
    }

    [Fact]
    public void Routed_model_html_has_the_expert_sizes_the_routers_and_the_layers()
    {
        _ = fixture.Kernel;
        using var dense = new TinyGpt(TestKernel.TinyConfig with { Layers = 2 }, seed: 1);
        using var tokens = torch.randint(256, [2, 16], dtype: torch.int64);
        using var routed = RoutedGpt.FromDense(dense, tokens, new RoutingOptions { RouterHidden = 8 });
        var html = routed.ToDisplayString("text/html");
        Assert.Contains("<b>RoutedGpt</b> · 2 layers × 4 nested experts", html);
        Assert.Contains("25% (8 neurons) · 50% (16 neurons) · 75% (24 neurons) · 100% (32 neurons)", html);
        Assert.Contains("16 → 8 (GELU) → 4 logits: 172 parameters, 160 multiply-adds per token", html);   // 16·8 + 8 + 8·4 + 4
        Assert.Contains($"routers {Html.Count(2 * 172)} parameters", html);
        Assert.Contains("2, each with its own router", html);
    }
}
