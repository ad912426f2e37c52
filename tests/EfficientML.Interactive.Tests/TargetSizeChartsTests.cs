using EfficientML.Core;
using EfficientML.Speculative;
using Microsoft.DotNet.Interactive.Formatting;
using static EfficientML.Interactive.Tests.RoutingChartsTests;

namespace EfficientML.Interactive.Tests;

public class TargetSizeChartsTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    readonly KernelFixture _fixture = fixture;

    static TargetSizePoint Point(int n, bool tuned, string drafter, int gamma, double measured, double predicted) =>
        new(tuned ? $"×{n} fine-tuned" : $"×{n}", n, tuned, 1_000_000L * n * n, drafter, gamma, 100.0 / n, 100.0 / n * measured, measured,
            tuned ? 0.4 : 1.0, tuned ? 1.5 : gamma + 1, tuned ? 0.45 : 1.0, 0.5 / n, 1.2, predicted);

    /// <summary>Widths ×1 and ×4, two drafters, γ 1 and 3; fine-tuned ×4 targets too.</summary>
    internal static TargetSizeStudyResult Study()
    {
        var points = new List<TargetSizePoint>();
        foreach (int n in new[] { 1, 4 })
            foreach (int g in new[] { 1, 3 })
            {
                points.Add(Point(n, false, "small model (8×128)", g, n == 1 ? 0.6 : 1.5 + 0.3 * g, n == 1 ? 0.65 : 1.6 + 0.3 * g));
                points.Add(Point(n, false, "early exit (k=4)", g, 0.8, 0.75));
                if (n > 1) points.Add(Point(n, true, "small model (8×128)", g, 0.9, 0.85));
            }
        var costs = new[] { new TargetCosts("×1", 1, 1_000_000, 0.5, [new DrafterCosts("small model (8×128)", 0.5, new Dictionary<int, double> { [1] = 0.6, [3] = 0.7 })], 0) };
        return new TargetSizeStudyResult(new TargetSizeOptions { WidthFactors = [1, 4], Gammas = [1, 3] }, points, costs, []);
    }

    [Fact]
    public void Speed_up_chart_draws_measured_and_predicted_per_drafter_with_lines_at_one_and_the_paper()
    {
        var figure = Figure(TargetSizeCharts.SpeedUp(Study()));
        var traces = Traces(figure);
        Assert.Equal(new[] { "small model (8×128) (measured)", "small model (8×128) (predicted)", "early exit (k=4) (measured)", "early exit (k=4) (predicted)" },
            traces.Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(new double?[] { 1, 4 }, Numbers(traces[0], "x"));
        Assert.Equal(new double?[] { 0.6, 2.4 }, Numbers(traces[0], "y"));                     // the best γ at each width: 3 at ×4
        Assert.Equal(new double?[] { 0.65, 2.5 }, Numbers(traces[1], "y").Select(y => (double?)Math.Round(y!.Value, 9)));
        Assert.Contains("16,000,000 parameters", Strings(traces[0], "hovertext")[1]);
        Assert.Contains("γ=3", Strings(traces[0], "hovertext")[1]);
        var shapes = figure.GetProperty("layout").GetProperty("shapes").EnumerateArray().Select(s => s.GetProperty("y0").GetDouble()).ToList();
        Assert.Equal(new[] { 1.0, TargetSizeStudyResult.PaperSpeedUp }, shapes);
        Assert.Contains("1× (break-even)", Annotations(figure));
        Assert.StartsWith("HyperCloning width factor", AxisTitle(figure, "xaxis"));

        var atOne = Traces(Figure(TargetSizeCharts.SpeedUp(Study(), gamma: 1)));
        Assert.Equal(new double?[] { 0.6, 1.8 }, Numbers(atOne[0], "y").Select(y => (double?)Math.Round(y!.Value, 9)));
        Assert.Equal(2, Traces(Figure(TargetSizeCharts.SpeedUp(Study(), fineTuned: true))).Count);
        Assert.Throws<InvalidSettingsException>(() => TargetSizeCharts.SpeedUp(Study(), gamma: 2));
    }

    [Fact]
    public void Study_formatter_shows_both_charts_the_crossings_and_a_table()
    {
        _ = _fixture.Kernel;
        var html = Study().ToDisplayString("text/html");
        Assert.Equal(10, html.Split("<tr>").Length - 2);                                         // one row per point under the header
        Assert.Contains("efml-target-size-table", html);
        Assert.Equal(2, Figures(html).Count);                                                       // exact copies, fine-tuned
        Assert.Contains(": pays from width ×4</li>", html);                                        // the small model
        Assert.Contains("early exit (k=4): never pays at the widths measured</li>", html);
        Assert.Contains("<b>2.40×</b>", html);
    }

    [Fact]
    public void Adaptive_gamma_counts_among_the_best_points_but_not_at_a_fixed_gamma_and_the_exit_table_shows_every_exit()
    {
        _ = _fixture.Kernel;
        var study = Study();
        var adaptive = Point(4, false, "small model (8×128)", 3, 2.9, 2.7) with { Adaptive = true, MeanGamma = 2.6 };
        study = study with
        {
            Points = study.Points.Append(adaptive).ToList(),
            ExitAcceptance = [new("×4", 4, false, 1, 0.31, 0.52, null), new("×4", 4, false, 2, 0.45, 0.66, null), new("×4 fine-tuned", 4, true, 1, 0.30, 0.41, 0.49)],
        };
        var best = Traces(Figure(TargetSizeCharts.SpeedUp(study)))[0];
        Assert.Equal(new double?[] { 0.6, 2.9 }, Numbers(best, "y"));                                  // the adaptive point wins at ×4
        Assert.Contains("γ=adaptive ≤ 3 (mean 2.6)", Strings(best, "hovertext")[1]);
        var atThree = Traces(Figure(TargetSizeCharts.SpeedUp(study, gamma: 3)))[0];
        Assert.Equal(new double?[] { 0.6, 2.4 }, Numbers(atThree, "y").Select(y => (double?)Math.Round(y!.Value, 9)));  // fixed γ = 3 only
        var html = study.ToDisplayString("text/html");
        Assert.Contains("efml-exit-acceptance", html);
        Assert.Contains("k=2<br>M2R2", html);
        Assert.Contains("M2R2 trained<br>on the target", html);
        Assert.Contains("49%", html);                                                                   // the trained accelerators' acceptance
        Assert.Contains("adaptive ≤ 3 (mean 2.6)", html);
    }
}
