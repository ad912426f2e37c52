using EfficientML.Core;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using EfficientML.Interactive;
using EfficientML.Routing;
using Plotly.NET;
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

    /// <summary>The chart's plotly figure: <c>data</c> (the traces) and <c>layout</c>.</summary>
    internal static JsonElement Figure(GenericChart chart) => JsonDocument.Parse(ChartHtml.FigureJson(chart)).RootElement;

    /// <summary>The figures of every chart fragment (<see cref="ChartHtml.Fragment"/>) in a formatter's HTML, in order.</summary>
    internal static List<JsonElement> Figures(string html) =>
        Regex.Matches(html, @"var figure = (.*);\r?\n").Select(m => JsonDocument.Parse(m.Groups[1].Value).RootElement).ToList();

    /// <summary>The figure's title.</summary>
    internal static string Title(JsonElement figure) => figure.GetProperty("layout").GetProperty("title").GetProperty("text").GetString()!;

    /// <summary>An axis' title ("xaxis", "yaxis2" …).</summary>
    internal static string AxisTitle(JsonElement figure, string axis) =>
        figure.GetProperty("layout").GetProperty(axis).GetProperty("title").GetProperty("text").GetString()!;

    /// <summary>The traces of the figure.</summary>
    internal static List<JsonElement> Traces(JsonElement figure) => figure.GetProperty("data").EnumerateArray().ToList();

    /// <summary>A trace's (or layout item's) property as strings.</summary>
    internal static List<string> Strings(JsonElement element, string property) =>
        element.GetProperty(property).EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()).ToList();

    /// <summary>A trace's property as numbers (null where it is null: nothing drawn there).</summary>
    internal static List<double?> Numbers(JsonElement element, string property) =>
        element.GetProperty(property).EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? (double?)null : v.GetDouble()).ToList();

    /// <summary>The layout's annotations' texts.</summary>
    internal static List<string> Annotations(JsonElement figure) =>
        figure.GetProperty("layout").TryGetProperty("annotations", out var a) ? a.EnumerateArray().Select(x => x.GetProperty("text").GetString()!).ToList() : [];

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
        Assert.DoesNotContain("<svg", html);                                                   // coloured text, legend of HTML swatches
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
        var figure = Figure(RoutingCharts.ExpertUsage(usage, Sizes));
        var traces = Traces(figure);
        Assert.Equal(4, traces.Count);                                                          // one per expert, smallest first
        Assert.All(traces, t => Assert.Equal("bar", t.GetProperty("type").GetString()));
        Assert.Equal(new[] { "layer 0", "layer 1", "layer 2" }, Strings(traces[0], "y"));
        Assert.Equal(new double?[] { 0.5, null, 0.25 }, Numbers(traces[0], "x"));              // zero shares draw nothing
        Assert.Equal(new double?[] { null, 1, 0.25 }, Numbers(traces[3], "x"));
        Assert.Equal(2 + 1 + 4, traces.Sum(t => Numbers(t, "x").Count(x => x is not null)));
        Assert.Equal("layer 0, expert 25% (8 neurons): 50% of tokens", Strings(traces[0], "hovertext")[0]);
        Assert.Equal("layer 2, expert 100% (32 neurons): 25% of tokens", Strings(traces[3], "hovertext")[2]);
        Assert.Equal(new[] { "expert 25% (8 neurons)", "expert 50% (16 neurons)", "expert 75% (24 neurons)", "expert 100% (32 neurons)" },
            traces.Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(RoutingCharts.Shade(Sizes, 0.25).Background, traces[0].GetProperty("marker").GetProperty("color").GetString());
        Assert.Equal(RoutingCharts.Shade(Sizes, 1).Background, traces[3].GetProperty("marker").GetProperty("color").GetString());
        Assert.Equal("stack", figure.GetProperty("layout").GetProperty("barmode").GetString());
        var notes = Annotations(figure);
        Assert.Contains("<b>active 37.5%</b>", notes);                                         // ½·¼ + ½·½
        Assert.Contains("<b>active 100%</b>", notes);
        Assert.Contains("<b>active 62.5%</b>", notes);                                         // (¼ + ½ + ¾ + 1) / 4
        Assert.Contains(notes, n => n.StartsWith("active: mean share of", StringComparison.Ordinal));
        Assert.Equal("share of the layer's tokens on each expert", AxisTitle(figure, "xaxis"));
        Assert.Throws<InvalidSettingsException>(() => RoutingCharts.ExpertUsage([[1.0, 0]], Sizes));
    }

    [Fact]
    public void Expert_usage_lists_only_the_experts_it_draws_and_says_when_a_layer_had_no_tokens()
    {
        var figure = Figure(RoutingCharts.ExpertUsage([[3, 1, 0, 0], [0, 0, 0, 0]], Sizes, "mine"));
        Assert.Equal("mine", Title(figure));
        var legend = Traces(figure).Select(t => t.GetProperty("showlegend").GetBoolean()).ToList();
        Assert.Equal(new[] { true, true, false, false }, legend);
        Assert.Equal(new double?[] { 0.75, null }, Numbers(Traces(figure)[0], "x"));
        Assert.Equal(new[] { "<b>active 31.3%</b>", "no tokens" }, Annotations(figure).Skip(1));   // ¾·¼ + ¼·½ = 31.25 %
    }

    [Fact]
    public void Pareto_draws_the_three_series_the_theta_labels_and_the_dense_and_two_percent_lines()
    {
        var figure = Figure(RoutingCharts.Pareto(Routed(), Static(), Static("elastic baseline")));
        var traces = Traces(figure);
        Assert.Equal(new[] { "routed, labelled with θ", "static widths, same weights", "static widths, elastic baseline" },
            traces.Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(new[] { 3, 4, 4 }, traces.Select(t => Numbers(t, "x").Count));
        Assert.Equal(new[] { "circle", "square", "diamond" }, traces.Select(t => t.GetProperty("marker").GetProperty("symbol").GetString()));
        // x: compute in % of the dense MLP, routers included (25 % + 5 % for θ = 0); y: bits per byte.
        Assert.Equal(new[] { 30.0, 65, 105 }, Numbers(traces[0], "x").Select(x => Math.Round(x!.Value, 6)));
        Assert.Equal(2.0 / Math.Log(2), Numbers(traces[0], "y")[0]!.Value, 9);
        Assert.Equal(new[] { "0", "0.5", "1" }, Strings(traces[0], "text"));
        Assert.Equal("lines+markers+text", traces[0].GetProperty("mode").GetString());
        Assert.Equal("lines+markers", traces[1].GetProperty("mode").GetString());
        Assert.Equal("routed θ=0.50: 2.207 bits/byte (+2% vs dense)<br>compute 65% of the dense MLP (active neurons 60%)", Strings(traces[0], "hovertext")[1]);
        // Dense: the full static width (1.5 nats); the other line 2 % above it, both dashed and labelled.
        double bits = 1.5 / Math.Log(2);
        var shapes = figure.GetProperty("layout").GetProperty("shapes").EnumerateArray().ToList();
        Assert.Equal(2, shapes.Count);
        Assert.Equal(bits, shapes[0].GetProperty("y0").GetDouble(), 9);
        Assert.Equal(bits * 1.02, shapes[1].GetProperty("y0").GetDouble(), 9);
        Assert.All(shapes, s => Assert.Equal("dash", s.GetProperty("line").GetProperty("dash").GetString()));
        Assert.Equal(new[] { $"dense model: {Format.Fixed(bits, 3)} bits/byte", $"dense +2%: {Format.Fixed(bits * 1.02, 3)} bits/byte" }, Annotations(figure));
        Assert.Equal("MLP compute per token (% of the dense MLP, routers included)", AxisTitle(figure, "xaxis"));
        Assert.Equal("validation loss (bits per byte)", AxisTitle(figure, "yaxis"));
        // The y axis shows both lines and every point.
        var range = Numbers(figure.GetProperty("layout").GetProperty("yaxis"), "range");
        Assert.True(range[0] < bits && range[1] > 2.0 / Math.Log(2));
    }

    [Fact]
    public void Pareto_without_the_baseline_draws_two_series_and_takes_the_dense_loss_from_theta_one_when_no_full_width_is_given()
    {
        var figure = Figure(RoutingCharts.Pareto(Routed(), Static().Take(3).ToList(), null));
        Assert.Equal(2, Traces(figure).Count);
        Assert.Contains("dense model: 2.164 bits/byte", Annotations(figure));                 // θ = 1: 1.5 nats
        Assert.Throws<InvalidSettingsException>(() => RoutingCharts.Pareto([], [], null));
    }

    [Fact]
    public void Pareto_lists_only_the_series_it_draws_and_labels_crowded_thetas_once()
    {
        var widths = Figure(RoutingCharts.Pareto([], Static(), null));
        Assert.Equal(new[] { "static widths, same weights" }, Traces(widths).Select(t => t.GetProperty("name").GetString()));
        var crowded = Routed();
        crowded.Insert(1, Point("routed θ=0.01", 0.01, null, 1.999, 0.251, 0.05));              // on top of θ = 0
        var figure = Figure(RoutingCharts.Pareto(crowded, Static(), null));
        Assert.Equal(new[] { "0", "", "0.5", "1" }, Strings(Traces(figure)[0], "text"));
        Assert.Equal(4, Strings(Traces(figure)[0], "hovertext").Count);                        // still drawn, with its tooltip
    }

    [Fact]
    public void Label_shares_draw_a_bar_per_expert_with_its_share()
    {
        var figure = Figure(RoutingCharts.LabelShares([2, 1, 0, 1], Sizes));
        var bars = Assert.Single(Traces(figure));
        Assert.Equal("bar", bars.GetProperty("type").GetString());
        Assert.Equal(new double?[] { 0.5, 0.25, 0, 0.25 }, Numbers(bars, "y"));                   // shares of all labels
        Assert.Equal(new[] { "25%<br>8 neurons", "50%<br>16 neurons", "75%<br>24 neurons", "100%<br>32 neurons" }, Strings(bars, "x"));
        Assert.Equal(new[] { "<b>50%</b>", "<b>25%</b>", "<b>0%</b>", "<b>25%</b>" }, Strings(bars, "text"));
        Assert.Equal("expert 50% (16 neurons): 25% of tokens", Strings(bars, "hovertext")[1]);
        Assert.Equal(Enumerable.Range(0, 4).Select(j => RoutingCharts.Shade(Sizes, Sizes.Fraction(j)).Background), Strings(bars.GetProperty("marker"), "color"));
        Assert.Equal("Difficulty labels: each token's smallest adequate expert", Title(figure));
        Assert.Throws<InvalidSettingsException>(() => RoutingCharts.LabelShares([1.0], Sizes));
    }
}
