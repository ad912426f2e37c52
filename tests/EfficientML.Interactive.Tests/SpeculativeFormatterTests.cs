using System.Text.RegularExpressions;
using EfficientML.Speculative;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive.Tests;

/// <summary>The HTML of speculative decoding results, layer profiles and dynamic-compute points (formatters are registered by the shared kernel).</summary>
public class SpeculativeFormatterTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    [Fact]
    public void A_speculative_result_shows_its_figures_the_token_stream_acceptance_by_position_and_the_timeline()
    {
        _ = fixture.Kernel;
        var html = SpeculativeChartsTests.Result().ToDisplayString("text/html");
        Assert.Contains("efml-speculation", html);
        Assert.Contains("<b>M2R2 (k=4)</b> · 11 tokens in 4 rounds · acceptance <b>53.8%</b> · <b>2.75</b> tokens per full-model pass · <b>275</b> tokens/s", html);
        Assert.Contains("acceptance rate", html);
        Assert.Contains("53.8% of 13 drafts", html);
        Assert.Contains("7 accepted drafts, 3 corrected, 1 bonus", html);
        Assert.Contains("efml-token-stream", html);
        Assert.Contains("&#233;", html);                                                        // the byte tokenizer reads the stream
        var figures = RoutingChartsTests.Figures(html);
        Assert.Equal(new[] { "Acceptance by draft position", "M2R2 (k=4): time per round" }, figures.Select(RoutingChartsTests.Title));
    }

    [Fact]
    public void A_list_of_results_is_one_table_and_their_acceptance_side_by_side()
    {
        _ = fixture.Kernel;
        var results = new List<SpeculativeResult> { SpeculativeChartsTests.Result(), SpeculativeChartsTests.Result("early exit (k=4)") };
        foreach (var html in new[] { results.ToDisplayString("text/html"), results.ToArray().ToDisplayString("text/html") })
        {
            Assert.Contains("efml-speculations", html);
            Assert.Equal(2, Regex.Matches(html, "<tr><td").Count);
            var acceptance = Assert.Single(RoutingChartsTests.Figures(html));
            Assert.Equal("Acceptance by draft position, per drafter", RoutingChartsTests.Title(acceptance));
            Assert.Equal(8, RoutingChartsTests.Traces(acceptance).Sum(t => RoutingChartsTests.Numbers(t, "y").Count));
            Assert.Contains("early exit (k=4)", html);
        }
    }

    [Fact]
    public void Layer_profiles_are_the_chart_and_a_table_with_the_fast_stream_where_measured()
    {
        _ = fixture.Kernel;
        var profiles = SpeculativeChartsTests.Profiles(fast: true);
        foreach (var html in new[] { profiles.ToDisplayString("text/html"), profiles.ToArray().ToDisplayString("text/html"), ((IReadOnlyList<LayerProfile>)profiles).ToDisplayString("text/html") })
        {
            Assert.Contains("efml-layer-profiles", html);
            Assert.Equal(4, RoutingChartsTests.Traces(Assert.Single(RoutingChartsTests.Figures(html))).Count);   // both streams in both panels
            Assert.Equal(5, Regex.Matches(html, "<tr><td").Count);
            Assert.Contains("0 (embeddings)", html);
            Assert.Contains("fast stream:", html);
        }
        Assert.DoesNotContain("fast stream:", SpeculativeChartsTests.Profiles(fast: false).ToDisplayString("text/html"));
        Assert.Contains("efml-layer-table", profiles[3].ToDisplayString("text/html"));
    }

    [Fact]
    public void Dynamic_compute_points_are_the_chart_and_a_table()
    {
        _ = fixture.Kernel;
        var points = SpeculativeChartsTests.Points();
        foreach (var html in new[] { points.ToDisplayString("text/html"), points.ToArray().ToDisplayString("text/html") })
        {
            Assert.Contains("efml-dynamic-compute-points", html);
            Assert.Equal(10, RoutingChartsTests.Traces(Assert.Single(RoutingChartsTests.Figures(html))).Sum(t => RoutingChartsTests.Numbers(t, "x").Count));
            Assert.Equal(5, Regex.Matches(html, "<tr><td").Count);
            Assert.Contains("6.5 of 8", html);
            Assert.Contains("81.3%", html);
        }
        Assert.Contains("efml-dynamic-compute-table", points[0].ToDisplayString("text/html"));
    }
}
