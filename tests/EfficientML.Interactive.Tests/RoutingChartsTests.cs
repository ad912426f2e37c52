using EfficientML.Core;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using EfficientML.Interactive;
using EfficientML.Routing;
using TorchSharp;

namespace EfficientML.Interactive.Tests;

public class RoutingChartsTests
{
    internal static readonly ExpertSizes Sizes = ExpertSizes.FromFractions(32);              // 8, 16, 24, 32 neurons

    /// <summary>A point as <see cref="RoutingEvaluation"/> makes them, for an MLP of 2 layers × 2·16·32 multiply-adds.</summary>
    internal static RoutingPoint Point(string method, double? theta, int? expert, double loss, double active, double router = 0)
    {
        const double dense = 2 * 2.0 * 16 * 32;
        double[][] usage = [[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]];
        return new RoutingPoint(method, theta, expert, loss, usage, active * dense, router * dense, dense);
    }

    internal static List<RoutingPoint> Routed() =>
        [Point("routed θ=0.00", 0, null, 2.0, 0.25, 0.05), Point("routed θ=0.50", 0.5, null, 1.53, 0.6, 0.05), Point("routed θ=1.00", 1, null, 1.5, 1, 0.05)];

    internal static List<RoutingPoint> Static(string label = "same weights") =>
        Enumerable.Range(0, 4).Select(j => Point($"static {25 * (j + 1)}% ({label})", null, j, 1.5 + 0.2 * (3 - j), (j + 1) / 4.0)).ToList();

    /// <summary>The HTML parses as XML (every element closed, every attribute quoted, every entity known).</summary>
    static XElement WellFormed(string html) => XElement.Parse($"<root>{html}</root>", LoadOptions.PreserveWhitespace);

    static string Attribute(XElement e, string name) => e.Attribute(name)?.Value ?? "";

    [Fact]
    public void Token_experts_has_one_escaped_span_per_character_with_its_experts_a_tooltip_and_a_legend()
    {
        const string text = "a<i>&\"c'\nd";
        var experts = new long[2, text.Length];
        for (int t = 0; t < text.Length; t++) { experts[0, t] = t % 4; experts[1, t] = 3; }

        var html = RoutingCharts.TokenExperts(text, experts, Sizes);
        var root = WellFormed(html);

        var spans = root.Descendants("span").Where(s => s.Attribute("data-e") != null).ToList();
        Assert.Equal(text.Length, spans.Count);
        Assert.Equal(text, string.Concat(spans.Select(s => s.Value)));                       // newline kept, text intact
        Assert.DoesNotContain("<i>", html);
        Assert.Contains("a</span>", html);
        Assert.Contains("&lt;", html);
        Assert.Contains("&amp;", html);
        Assert.Equal("1,3", Attribute(spans[1], "data-e"));
        var tip = Attribute(spans[1], "title");
        Assert.Contains("‘<’", tip);
        Assert.Contains("layer 0: 50% (16 neurons)", tip);
        Assert.Contains("layer 1: 100% (32 neurons)", tip);
        Assert.Contains("mean: 75%", tip);
        // The default view needs no script: the mean over layers is in each span's own style, darker for larger experts.
        Assert.Contains(RoutingCharts.Shade(Sizes, (0.25 + 1) / 2).Background, Attribute(spans[0], "style"));
        Assert.Contains(RoutingCharts.Shade(Sizes, 1).Background, Attribute(spans[3], "style"));
        Assert.NotEqual(RoutingCharts.Shade(Sizes, 0.25).Background, RoutingCharts.Shade(Sizes, 1).Background);
        // Legend: each expert's share and neurons; selector: the mean, then each layer.
        foreach (var label in new[] { "25%", "8 neurons", "50%", "16 neurons", "75%", "24 neurons", "100%", "32 neurons" })
            Assert.Contains(label, root.Descendants("span").Where(s => Attribute(s, "class") == "efml-legend").Single().Value);
        var options = root.Descendants("option").ToList();
        Assert.Equal(new[] { "mean over layers", "layer 0", "layer 1" }, options.Select(o => o.Value));
        Assert.Equal("selected", Attribute(options[0], "selected"));
        Assert.Single(root.Descendants("script"));
    }

    [Fact]
    public void Token_experts_of_a_byte_level_model_give_a_character_the_largest_expert_of_its_bytes()
    {
        const string text = "é—x";                                                        // 2 + 3 + 1 UTF-8 bytes
        var experts = new long[1, 6] { { 0, 2, 1, 0, 1, 3 } };
        var root = WellFormed(RoutingCharts.TokenExperts(text, experts, Sizes));
        var spans = root.Descendants("span").Where(s => s.Attribute("data-e") != null).ToList();
        Assert.Equal(new[] { "2", "1", "3" }, spans.Select(s => Attribute(s, "data-e")));
        Assert.Equal(text, string.Concat(spans.Select(s => s.Value)));
        Assert.DoesNotContain("mean:", Attribute(spans[0], "title"));                            // one layer: nothing to average
    }

    [Fact]
    public void Token_experts_from_a_tensor_of_one_sequence_equal_those_from_an_array()
    {
        using var experts = torch.tensor(new long[] { 0, 1, 2, 3, 3, 2, 1, 0 }).reshape(2, 1, 4);
        var fromTensor = RoutingCharts.TokenExperts("abcd", experts, Sizes);
        var fromArray = RoutingCharts.TokenExperts("abcd", new long[,] { { 0, 1, 2, 3 }, { 3, 2, 1, 0 } }, Sizes);
        string WithoutIds(string html) => Regex.Replace(html, "efml-token-experts-[0-9a-f-]+", "id");
        Assert.Equal(WithoutIds(fromArray), WithoutIds(fromTensor));
    }

    [Fact]
    public void Token_experts_of_another_text_or_unknown_experts_get_one_message()
    {
        var e = Assert.Throws<InvalidSettingsException>(() => RoutingCharts.TokenExperts("abc", new long[1, 5], Sizes));
        Assert.Contains("5 tokens but the text has 3 characters (3 UTF-8 bytes)", e.Message);
        e = Assert.Throws<InvalidSettingsException>(() => RoutingCharts.TokenExperts("abc", new long[,] { { 0, 4, 0 } }, Sizes));
        Assert.Contains("Expert index 4 (layer 0, token 1) does not exist", e.Message);
    }

    [Fact]
    public void Expert_usage_stacks_each_layers_shares_and_writes_the_mean_active_share_beside_it()
    {
        double[][] usage = [[0.5, 0.5, 0, 0], [0, 0, 0, 1], [0.25, 0.25, 0.25, 0.25]];
        var html = RoutingCharts.ExpertUsage(usage, Sizes);
        var root = WellFormed(html);
        XNamespace svg = "http://www.w3.org/2000/svg";
        var segments = root.Descendants(svg + "rect").Where(r => r.Element(svg + "title") != null).ToList();
        Assert.Equal(2 + 1 + 4, segments.Count);                                               // zero shares draw nothing
        Assert.Contains("layer 0, expert 25% (8 neurons): 50% of tokens", segments[0].Value);
        var texts = root.Descendants(svg + "text").Select(t => t.Value).ToList();
        Assert.Contains("active 37.5%", texts);                                                // ½·¼ + ½·½
        Assert.Contains("active 100%", texts);
        Assert.Contains("active 62.5%", texts);                                                // (¼ + ½ + ¾ + 1) / 4
        Assert.Contains("layer 2", texts);
        Assert.Contains("100% (32)", texts);                                                   // legend
        Assert.Throws<InvalidSettingsException>(() => RoutingCharts.ExpertUsage([[1.0, 0]], Sizes));
    }

    [Fact]
    public void Pareto_draws_the_three_series_the_theta_labels_and_the_dense_and_two_percent_lines()
    {
        var html = RoutingCharts.Pareto(Routed(), Static(), Static("elastic baseline"));
        var root = WellFormed(html);
        XNamespace svg = "http://www.w3.org/2000/svg";
        var series = root.Descendants(svg + "text").Where(t => Attribute(t, "class") == "efml-series").Select(t => t.Value).ToList();
        Assert.Equal(new[] { "routed, labelled with θ", "static widths, same weights", "static widths, elastic baseline" }, series);
        Assert.Equal(3, root.Descendants(svg + "polyline").Count());
        Assert.Equal(3 + 4 + 4, root.Descendants().Count(e => Attribute(e, "class") == "efml-point"));
        var thetas = root.Descendants(svg + "text").Where(t => Attribute(t, "class") == "efml-theta").Select(t => t.Value).ToList();
        Assert.Equal(new[] { "0", "0.5", "1" }, thetas);
        // Dense: the full static width (1.5 nats); the other line 2 % above it, i.e. higher on the chart (smaller y).
        double bits = 1.5 / Math.Log(2);
        var dense = root.Descendants(svg + "g").Single(g => Attribute(g, "class") == "efml-dense");
        var within = root.Descendants(svg + "g").Single(g => Attribute(g, "class") == "efml-within-2pct");
        Assert.Contains($"dense model: {bits.ToString("0.000", CultureInfo.InvariantCulture)} bits/byte", dense.Value);
        Assert.Contains($"dense +2%: {(bits * 1.02).ToString("0.000", CultureInfo.InvariantCulture)} bits/byte", within.Value);
        double Y(XElement g) => double.Parse(Attribute(g.Element(svg + "line")!, "y1"), CultureInfo.InvariantCulture);
        Assert.True(Y(within) < Y(dense));
        Assert.Equal("6 4", Attribute(dense.Element(svg + "line")!, "stroke-dasharray"));
        Assert.Contains("routed θ=0.50: 2.207 bits/byte (+2.0% vs dense), compute 65% of the dense MLP (active neurons 60%)", html);
    }

    [Fact]
    public void Pareto_without_the_baseline_draws_two_series_and_takes_the_dense_loss_from_theta_one_when_no_full_width_is_given()
    {
        var root = WellFormed(RoutingCharts.Pareto(Routed(), Static().Take(3).ToList(), null));
        XNamespace svg = "http://www.w3.org/2000/svg";
        Assert.Equal(2, root.Descendants(svg + "text").Count(t => Attribute(t, "class") == "efml-series"));
        Assert.Contains("dense model: 2.164 bits/byte", root.Value);                          // θ = 1: 1.5 nats
        Assert.Throws<InvalidSettingsException>(() => RoutingCharts.Pareto([], [], null));
    }

    [Fact]
    public void Label_shares_draw_a_bar_per_expert_with_its_share()
    {
        var root = WellFormed(RoutingCharts.LabelShares([0.5, 0.25, 0, 0.25], Sizes));
        XNamespace svg = "http://www.w3.org/2000/svg";
        var bars = root.Descendants(svg + "rect").Where(r => r.Element(svg + "title") != null).ToList();
        Assert.Equal(4, bars.Count);
        Assert.Contains("expert 50% (16 neurons): 25% of tokens", bars[1].Value);
        var texts = root.Descendants(svg + "text").Select(t => t.Value).ToList();
        Assert.Contains("50%", texts);
        Assert.Contains("0%", texts);
        Assert.Contains("24 neurons", texts);
        double Height(XElement r) => double.Parse(Attribute(r, "height"), CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(2 * Height(bars[1]) - Height(bars[0])) < 0.3);
        Assert.Throws<InvalidSettingsException>(() => RoutingCharts.LabelShares([1.0], Sizes));
    }
}
