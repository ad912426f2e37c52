using System.Xml.Linq;
using EfficientML.Core;
using EfficientML.Pipeline;
using static EfficientML.Interactive.Tests.RoutingChartsTests;

namespace EfficientML.Interactive.Tests;

public class PipelineChartsTests
{
    /// <summary>A measurement as the pipeline makes them.</summary>
    internal static StepMeasurement Measurement(string step, double bits, long bytes, double speedUp, bool held = true, double seconds = 1.5, double? draft = null) =>
        new(step, $"what {step} did", bits, bytes, bytes / 4, step == "start" ? 0 : 300_000_000, 65_536, 1200 * speedUp, speedUp,
            speedUp > 1.2 ? "M2R2 exit 4" : "plain greedy", step == "start" ? 0 : seconds, step == "train" ? 98_304 : 0, 0.5, draft,
            step == "start" ? [] : [new InvariantCheck($"{step} keeps its invariant", held, held ? "max |Δ| 1E-06" : "max |Δ| 0.3")],
            step == "route" ? ["no θ of the sweep stayed within the loss budget"] : []);

    internal static List<StepMeasurement> Steps() =>
    [
        Measurement("start", 2.1, 800_000, 1),
        Measurement("grow", 2.1, 3_200_000, 0.4),
        Measurement("train", 1.9, 3_200_000, 0.4),
        Measurement("draft", 1.9, 3_400_000, 0.4, draft: 0.42),
        Measurement("route", 1.95, 3_500_000, 0.4, held: false),
        Measurement("cluster", 1.97, 400_000, 0.4),
        Measurement("decode", 1.97, 720_000, 1.6),
    ];

    /// <summary>The HTML parses as XML (every element closed, every attribute quoted, every entity known).</summary>
    static XElement WellFormed(string html) => XElement.Parse($"<root>{html}</root>", LoadOptions.PreserveWhitespace);

    [Fact]
    public void Pareto_has_one_labelled_point_per_measurement_joined_in_step_order()
    {
        var steps = Steps();
        var figure = Figure(PipelineCharts.Pareto(steps));
        var trace = Assert.Single(Traces(figure));
        Assert.Equal(steps.Select(m => m.DecodeSpeedUp), Numbers(trace, "x").Select(x => x!.Value));
        Assert.Equal(steps.Select(m => m.ValidationBits), Numbers(trace, "y").Select(y => y!.Value));
        Assert.Equal(steps.Select(m => m.Step), Strings(trace, "text"));
        Assert.Equal("lines+markers+text", trace.GetProperty("mode").GetString());
        Assert.Equal(1, trace.GetProperty("line").GetProperty("width").GetDouble());
        Assert.Equal("validation bits per byte (lower is better)", AxisTitle(figure, "yaxis"));
        Assert.Equal("decode speed-up (× the start's plain greedy decoding)", AxisTitle(figure, "xaxis"));
        Assert.StartsWith("Quality vs decoding speed after each step", Title(figure));
        // Hover: every figure of the step.
        var hover = Strings(trace, "hovertext")[2];
        foreach (var part in new[] { "<b>train</b>: what train did", "1.900 bits/byte (−0.200 vs start)", "3.2 MB on disk (4× the start)", "800,000 parameters",
                                     "MLP 65,536 multiply-adds per token", "480 tokens/s with plain greedy: 0.4× the start", "agrees 50%", "peak resident memory 300 MB",
                                     "step took 1.50 s, trained on 98,304 tokens", "invariants 1 of 1 held" })
            Assert.Contains(part, hover);
        Assert.Contains("the draft's 42%", Strings(trace, "hovertext")[3]);
        // A step whose invariant failed is red; the start's speed and quality are reference lines.
        var colors = Strings(trace.GetProperty("marker"), "color");
        Assert.Equal("#d62728", colors[4]);
        Assert.All(colors.Where((_, i) => i != 4), c => Assert.Equal(ChartStyle.Palette[0], c));
        var shapes = figure.GetProperty("layout").GetProperty("shapes").EnumerateArray().ToList();
        Assert.Equal(1, shapes[0].GetProperty("x0").GetDouble());
        Assert.Equal(2.1, shapes[1].GetProperty("y0").GetDouble());
        Assert.Contains("start: 2.100 bits/byte", Annotations(figure));
    }

    [Fact]
    public void Pareto_marker_sizes_grow_with_bytes_on_disk_and_their_area_is_proportional_to_them()
    {
        var steps = Steps();
        var sizes = Numbers(Single(Traces(Figure(PipelineCharts.Pareto(steps)))).GetProperty("marker"), "size").Select(s => s!.Value).ToList();
        Assert.Equal(steps.Count, sizes.Count);
        var byBytes = steps.Select((m, i) => (m.DiskBytes, Size: sizes[i])).OrderBy(p => p.DiskBytes).ToList();
        for (int i = 1; i < byBytes.Count; i++)
            Assert.True(byBytes[i].Size >= byBytes[i - 1].Size, "a larger model never gets a smaller marker");
        Assert.Equal(PipelineCharts.MaxMarkerSize, sizes.Max(), 9);                                      // the largest model
        Assert.True(sizes[3] > sizes[0], "3.4 MB draws larger than 0.8 MB");
        // Area ∝ bytes: diameters go as the square root.
        Assert.Equal(3_200_000.0 / 800_000, Math.Pow(sizes[1] / sizes[0], 2), 9);

        var clamped = PipelineCharts.MarkerSizes([1, 100, 10_000]);
        Assert.Equal([PipelineCharts.MinMarkerSize, PipelineCharts.MinMarkerSize, PipelineCharts.MaxMarkerSize], clamped);  // tiny ones stay visible
        Assert.Equal([PipelineCharts.MinMarkerSize], PipelineCharts.MarkerSizes([0]));
    }

    static System.Text.Json.JsonElement Single(List<System.Text.Json.JsonElement> traces) => Assert.Single(traces);

    [Fact]
    public void Pareto_of_the_start_alone_draws_one_point_and_nothing_gives_one_message()
    {
        var figure = Figure(PipelineCharts.Pareto([Measurement("start", 2, 1000, 1)]));
        Assert.Single(Numbers(Assert.Single(Traces(figure)), "x"));
        var range = Numbers(figure.GetProperty("layout").GetProperty("yaxis"), "range");
        Assert.True(range[0] < 2 && range[1] > 2);
        var e = Assert.Throws<InvalidSettingsException>(() => PipelineCharts.Pareto([]));
        Assert.Contains("at least one step measurement", e.Message);
        Assert.Throws<InvalidSettingsException>(() => PipelineCharts.Pareto([Measurement("start", double.NaN, 1000, 1)]));
    }

    [Fact]
    public void Disk_bytes_has_one_bar_per_step_with_its_size_written_over_it()
    {
        var steps = Steps();
        var figure = Figure(PipelineCharts.DiskBytes(steps));
        var bars = Assert.Single(Traces(figure));
        Assert.Equal("bar", bars.GetProperty("type").GetString());
        Assert.Equal(steps.Select(m => m.Step), Strings(bars, "x"));
        Assert.Equal(steps.Select(m => (double)m.DiskBytes), Numbers(bars, "y").Select(y => y!.Value));
        Assert.Equal("800 KB", Strings(bars, "text")[0]);
        Assert.Equal("cluster: 400 KB on disk (0.5× the start)<br>100,000 parameters", Strings(bars, "hovertext")[5]);
        Assert.Equal("Bytes on disk after each step", Title(figure));
    }

    [Fact]
    public void The_step_table_has_every_column_a_row_per_step_the_notes_and_dashes_for_what_is_unknown()
    {
        var steps = Steps();
        steps[2] = steps[2] with { DecodeSpeedUp = double.NaN, DecodeTokensPerSecond = double.NaN };
        var html = PipelineHtml.Table(steps);
        var root = WellFormed(html);
        var table = root.Descendants("table").Single(t => t.Attribute("class")?.Value == "efml-pipeline-table");
        var rows = table.Elements("tr").ToList();
        Assert.Equal(["step", "bits/byte", "Δ vs start", "bytes on disk", "parameters", "peak RSS", "MLP multiply-adds per token", "decode tokens/s",
                      "speed-up", "decoder", "step time", "tokens trained", "invariants"], rows[0].Elements("th").Select(h => string.Join(" ", h.Nodes().OfType<XText>().Select(t => t.Value))));
        Assert.Equal(steps.Count + 1, rows.Count);
        string[] Cells(int row) => rows[row].Elements("td").Select(c => c.Value).ToArray();
        Assert.Equal(["start", "2.100", "—", "800 KB", "200,000", "—", "65,536", "1,200", "1×", "plain greedy", "—", "0", "—"], Cells(1));
        Assert.Equal(["train", "1.900", "−0.200", "3.2 MB", "800,000", "300 MB", "65,536", "—", "—", "plain greedy", "1.50 s", "98,304", "✓ 1/1"], Cells(3));
        Assert.Equal("✗ 0/1", Cells(5)[^1]);
        Assert.Equal("1.6×", Cells(7)[8]);
        Assert.Contains("route: no θ of the sweep stayed within the loss budget", root.Descendants("li").Single().Value);
        var measurements = PipelineHtml.Measurements(steps);
        Assert.Equal(["Quality vs decoding speed after each step (marker area ∝ bytes on disk)", "Bytes on disk after each step"], Figures(measurements).Select(Title));
        Assert.Contains(html, measurements);
    }

    [Fact]
    public void The_invariants_table_lists_every_check_with_its_verdict_and_detail()
    {
        var root = WellFormed(PipelineHtml.Invariants(Steps()));
        var rows = root.Descendants("tr").Skip(1).Select(r => r.Elements("td").Select(c => c.Value).ToArray()).ToList();
        Assert.Equal(6, rows.Count);                                                              // the start checks nothing
        Assert.Equal(["route", "route keeps its invariant", "✗ fail", "max |Δ| 0.3"], rows[3]);
        Assert.Equal(["grow", "grow keeps its invariant", "✓ pass", "max |Δ| 1E-06"], rows[0]);
        Assert.Contains("5 of 6 held.", root.Value);
        Assert.Contains("No invariants", PipelineHtml.Invariants(Array.Empty<InvariantCheck>()));
    }

    [Fact]
    public void Draft_fits_show_agreement_and_acceptance_as_percentages_and_dashes_where_not_measured()
    {
        var root = WellFormed(PipelineHtml.DraftFits(
        [
            new DraftFit("grown model, before training", "start model", "2 × 32", 0.8, 0.75, true),
            new DraftFit("target before routing (θ = 1, dense)", "draft model", "2 × 32", double.NaN, null, null),
            new DraftFit("final target, in the race", "draft model", "2 × 32", 0.5, 0.25, false),
        ]));
        var rows = root.Descendants("tr").Skip(1).Select(r => r.Elements("td").Select(c => c.Value).ToArray()).ToList();
        Assert.Equal(["grown model, before training", "start model", "2 × 32", "80%", "75%", "✓"], rows[0]);
        Assert.Equal(["target before routing (θ = 1, dense)", "draft model", "2 × 32", "—", "—", "—"], rows[1]);
        Assert.Equal("✗", rows[2][^1]);
        Assert.Contains("No draft measured yet", PipelineHtml.DraftFits([]));
    }

    [Fact]
    public void Routers_under_clustering_show_before_and_after()
    {
        var html = PipelineHtml.Routers(new RoutersUnderClustering(0.5, 2.0, 2.05, 0.6, 0.625, 0.9));
        WellFormed(html);
        Assert.Contains("2.000 → 2.050 (+0.050)", html);
        Assert.Contains("60% → 62.5%", html);
        Assert.Contains("90%", html);
    }

    [Fact]
    public void Bit_widths_trades_and_order_rules_are_tables_with_a_row_each()
    {
        var widths = PipelineHtml.BitWidths([new BitWidthVariant(3, 2.25, 3_000_000, 3.01), new BitWidthVariant(4, 2.2, 4_000_000, 4.0)]);
        WellFormed(widths);
        Assert.Equal(2, widths.Split("<tr>").Length - 2);                       // the header row and two variants
        Assert.Contains("2.250", widths);
        Assert.Contains("3.01", widths);
        var trades = PipelineHtml.Trades([new StepTrade("grow", 0.0001, 3.9, 4, 0.28, 0.2, 0), new StepTrade("cluster", 0.04, 0.16, 1, double.NaN, 90, 1024)]);
        WellFormed(trades);
        Assert.Contains("×3.90", trades);
        Assert.Contains("+0.040", trades);
        Assert.Contains("—", trades);
        var rules = PipelineHtml.Rules(PipelineOrder.Rules);
        WellFormed(rules);
        Assert.All(PipelineOrder.Rules, r => Assert.Contains(Html.Encode(r.Why), rules));
    }

    [Fact]
    public void The_card_says_what_the_model_is_and_each_figure_against_the_start()
    {
        var steps = Steps();
        var card = new ComposedModelCard("a 2-layer, width-32 TinyGpt, grown from 2 × 16 by HyperCloning", steps[0], steps[^1], 9, 98_304, 5, 6);
        var html = PipelineHtml.Card(card);
        var root = WellFormed(html);
        var text = root.Value;
        foreach (var part in new[] { "a 2-layer, width-32 TinyGpt, grown from 2 × 16 by HyperCloning", "1.970 bits per byte (start 2.100, −0.130)",
                                     "720 KB on disk (0.9× the start)", "180,000 parameters", "65,536 MLP multiply-adds per token (1× the start)",
                                     "1,920 tokens/s with M2R2 exit 4, 1.6× the start's plain decoding", "9.00 s and 98,304 training tokens", "✗ 5 of 6 held" })
            Assert.Contains(part, text);
    }
}
