using EfficientML.Core;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using EfficientML.Interactive;
using static EfficientML.Interactive.Tests.RoutingChartsTests;
using EfficientML.Speculative;
using EfficientML.Text;

namespace EfficientML.Interactive.Tests;

public class SpeculativeChartsTests
{
    /// <summary>
    /// Four rounds: all 4 drafts accepted (then a bonus space); 1 of 4 (the two bytes of 'é' split between an accepted draft
    /// and the correction); 0 of 2; 2 of 3 (a newline and '&amp;' accepted, 'x' corrected).
    /// </summary>
    internal static SpeculativeResult Result(string drafter = "M2R2 (k=4)")
    {
        SpeculativeToken A(char c, int round, int position) => new(c, TokenSource.Accepted, round, position);
        var stream = new List<SpeculativeToken>
        {
            A('C', 0, 1), A('a', 0, 2), A('l', 0, 3), A('l', 0, 4), new(' ', TokenSource.Bonus, 0, 0),
            new(0xC3, TokenSource.Accepted, 1, 1), new(0xA9, TokenSource.Corrected, 1, 0),
            new('<', TokenSource.Corrected, 2, 0),
            A('\n', 3, 1), A('&', 3, 2), new('x', TokenSource.Corrected, 3, 0),
        };
        var rounds = new List<SpeculationRound>
        {
            new(0, 4, 4, 0.004, 0.006), new(1, 4, 1, 0.004, 0.005), new(2, 2, 0, 0.002, 0.005), new(3, 3, 2, 0.003, 0.005),
        };
        return new SpeculativeResult(drafter, stream, rounds, seconds: 0.05, prefillSeconds: 0.01);
    }

    /// <summary>The HTML parses as XML (every element closed, every attribute quoted, every entity known).</summary>
    static XElement WellFormed(string html) => XElement.Parse($"<root>{html}</root>", LoadOptions.PreserveWhitespace);

    static int Count(string html, string pattern) => Regex.Matches(html, pattern).Count;

    [Fact]
    public void Token_stream_colours_each_token_by_its_source_marks_rounds_and_escapes_the_text()
    {
        var html = SpeculativeCharts.TokenStream(Result(), ByteTokenizer.Instance, "Say <hi> ");
        WellFormed(html);
        Assert.DoesNotContain("<svg", html);
        Assert.Contains("efml-token-stream", html);
        Assert.Contains("M2R2 (k=4): where each token came from", html);
        Assert.Contains(">accepted draft<", html);
        Assert.Contains(">corrected<", html);
        Assert.Contains(">bonus<", html);
        Assert.Contains(">end of a round<", html);
        // 11 tokens, the two bytes of 'é' drawn as one character that takes the correction's colour.
        Assert.Equal(10, Count(html, "class=\"efml-tok "));
        Assert.Equal(6, Count(html, "class=\"efml-tok efml-accepted\""));
        Assert.Equal(3, Count(html, "class=\"efml-tok efml-corrected\""));
        Assert.Equal(1, Count(html, "class=\"efml-tok efml-bonus\""));
        Assert.Equal(4, Count(html, "class=\"efml-round-end\""));
        Assert.Contains("&#233;</span>", html);                                               // é, one element
        Assert.Contains("round 2: draft 1 accepted (token 195)\nround 2: corrected", WebUtilityDecode(html));
        Assert.Contains("title=\"round 1: draft 1 accepted (token 67)\n‘C’\"", html);
        Assert.Contains(">&lt;</span>", html);
        Assert.Contains(">&amp;</span>", html);
        Assert.Contains("↵</span>\n</span>", html);                                            // a newline shows ↵ and breaks the line
        Assert.Contains("round 4: draft 1 accepted (token 10)\nnewline", html);
        Assert.Contains("class=\"efml-prompt\"", html);
        Assert.Contains("Say &lt;hi&gt; ", html);
        Assert.DoesNotContain("<hi>", html);
        Assert.Contains("11 tokens in 4 rounds: 7 accepted drafts, 3 corrected, 1 bonus", html);
    }

    static string WebUtilityDecode(string html) => System.Net.WebUtility.HtmlDecode(html);

    [Fact]
    public void Token_stream_without_a_tokenizer_shows_ids_and_a_partial_stream_draws_too()
    {
        var result = Result();
        var html = SpeculativeCharts.TokenStream(result.Stream.Take(3).ToList(), null, title: "so far");
        WellFormed(html);
        Assert.Contains("⟨67⟩", html);
        Assert.Equal(3, Count(html, "class=\"efml-tok "));
        Assert.Equal(1, Count(html, "class=\"efml-round-end\""));                              // the stream ends in the middle of round 1
        Assert.DoesNotContain("efml-prompt", html);
        Assert.Throws<InvalidSettingsException>(() => SpeculativeCharts.TokenStream(
            Enumerable.Repeat(new SpeculativeToken(65, TokenSource.Bonus, 0, 0), SpeculativeCharts.MaxTokens + 1).ToList(), null));
    }

    [Fact]
    public void Acceptance_by_position_has_one_bar_per_position_and_run_with_its_share()
    {
        var figure = Figure(SpeculativeCharts.AcceptanceByPosition(Result(), Result("early <exit>")));
        var traces = Traces(figure);
        Assert.Equal(2, traces.Count);
        Assert.All(traces, t => Assert.Equal("bar", t.GetProperty("type").GetString()));
        Assert.Equal(8, traces.Sum(t => Numbers(t, "y").Count));
        Assert.Equal(new double?[] { 1, 2, 3, 4 }, Numbers(traces[0], "x"));
        // Position 1: 3 of 4 rounds; 2: 2 of 4; 3: 1 of the 3 rounds that drafted 3 or more; 4: 1 of 2.
        Assert.Equal(new[] { 0.75, 0.5, 1 / 3.0, 0.5 }, Numbers(traces[0], "y").Select(y => y!.Value), new Tolerance(1e-12));
        Assert.Equal(new[] { "75%", "50%", "33%", "50%" }, Strings(traces[0], "text"));
        var tips = Strings(traces[0], "hovertext");
        Assert.Equal("M2R2 (k=4): the draft at position 1 was accepted<br>in 75% of the 4 rounds that drafted that far", tips[0]);
        Assert.Contains("position 3 was accepted<br>in 33.3% of the 3 rounds", tips[2]);
        Assert.Contains("position 4 was accepted<br>in 50% of the 2 rounds", tips[3]);
        Assert.Equal("early <exit>: acceptance 53.8%, 2.75 tokens per full pass, 275 tokens/s", traces[1].GetProperty("name").GetString());  // 7 of 13 drafts; 11 tokens in 4 rounds
        Assert.NotEqual(traces[0].GetProperty("marker").GetProperty("color").GetString(), traces[1].GetProperty("marker").GetProperty("color").GetString());
        Assert.StartsWith("draft position within a round", AxisTitle(figure, "xaxis"));
        Assert.Equal("group", figure.GetProperty("layout").GetProperty("barmode").GetString());
        Assert.True(figure.GetProperty("layout").GetProperty("showlegend").GetBoolean());           // one run too: its figures are in the legend
        Assert.Throws<InvalidSettingsException>(() => SpeculativeCharts.AcceptanceByPosition());
    }

    sealed class Tolerance(double epsilon) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= epsilon;
        public int GetHashCode(double value) => 0;
    }

    [Fact]
    public void Timeline_stacks_draft_and_verify_time_per_round_with_the_accepted_drafts()
    {
        var figure = Figure(SpeculativeCharts.Timeline(Result()));
        var traces = Traces(figure);
        Assert.Equal(new[] { "draft", "verify (one pass of the full model)", "drafts accepted (right axis)" }, traces.Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(new double?[] { 1, 2, 3, 4 }, Numbers(traces[0], "x"));
        Assert.Equal(new[] { 4.0, 4, 2, 3 }, Numbers(traces[0], "y").Select(y => y!.Value), new Tolerance(1e-9));   // ms
        Assert.Equal(new[] { 6.0, 5, 5, 5 }, Numbers(traces[1], "y").Select(y => y!.Value), new Tolerance(1e-9));
        Assert.Equal(new double?[] { 4, 1, 0, 2 }, Numbers(traces[2], "y"));
        Assert.Equal("y2", traces[2].GetProperty("yaxis").GetString());
        Assert.Equal("diamond", traces[2].GetProperty("marker").GetProperty("symbol").GetString());
        Assert.Equal("round 1: drafted 4, accepted 4, emitted 5<br>draft 4.000 ms, verify 6.000 ms", Strings(traces[0], "hovertext")[0]);
        Assert.Equal(Strings(traces[0], "hovertext"), Strings(traces[1], "hovertext"));
        Assert.Equal("round 3: 0 of 2 drafts accepted", Strings(traces[2], "hovertext")[2]);
        Assert.Equal("stack", figure.GetProperty("layout").GetProperty("barmode").GetString());
        Assert.Equal("time (ms)", AxisTitle(figure, "yaxis"));
        Assert.Equal("drafts accepted", AxisTitle(figure, "yaxis2"));
        Assert.Equal("round", AxisTitle(figure, "xaxis"));
        Assert.Equal("M2R2 (k=4): time per round", Title(figure));

        var first = Figure(SpeculativeCharts.Timeline(Result(), maxRounds: 2));
        Assert.Equal(new double?[] { 1, 2 }, Numbers(Traces(first)[0], "x"));
        Assert.EndsWith("(the first 2 of 4 rounds)", Title(first));
        Assert.Throws<InvalidSettingsException>(() => SpeculativeCharts.Timeline(Result(), maxRounds: 0));
    }

    internal static List<LayerProfile> Profiles(bool fast) =>
        Enumerable.Range(0, 5).Select(j => new LayerProfile(j, 0.2 * j, 1 - 0.25 * j, 4 - 0.5 * j,
            fast && j <= 2 ? 0.3 * j : null, fast && j <= 2 ? 0.9 - 0.3 * j : null, fast && j <= 2 ? 3.5 - 0.5 * j : null)).ToList();

    [Fact]
    public void Layer_profile_draws_agreement_and_distance_for_the_slow_and_the_fast_stream()
    {
        var figure = Figure(SpeculativeCharts.LayerProfile(Profiles(fast: true)));
        var traces = Traces(figure);
        Assert.Equal(4, traces.Count);                                                          // two streams in two panels
        Assert.Equal(2 * (5 + 3), traces.Sum(t => Numbers(t, "y").Count));
        var tolerance = new Tolerance(1e-9);
        Assert.Equal(new[] { 0.0, 20, 40, 60, 80 }, Numbers(traces[0], "y").Select(y => y!.Value), tolerance);   // agreement, %
        Assert.Equal(new[] { 0.0, 30, 60 }, Numbers(traces[1], "y").Select(y => y!.Value), tolerance);
        Assert.Equal(new[] { 1.0, 0.75, 0.5, 0.25, 0 }, Numbers(traces[2], "y").Select(y => y!.Value), tolerance); // distance
        Assert.Equal(new[] { 0.9, 0.6, 0.3 }, Numbers(traces[3], "y").Select(y => y!.Value), tolerance);
        Assert.Equal(new[] { "slow stream (plain early exit)", "fast stream (M2R2 accelerators)" }, traces.Take(2).Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(new[] { true, true, false, false }, traces.Select(t => t.GetProperty("showlegend").GetBoolean()));   // one legend entry per stream
        Assert.Equal(traces[0].GetProperty("legendgroup").GetString(), traces[2].GetProperty("legendgroup").GetString());
        Assert.All(traces.Skip(2), t => Assert.Equal("x2", t.GetProperty("xaxis").GetString()));
        Assert.Equal("dash", traces[1].GetProperty("line").GetProperty("dash").GetString());
        Assert.Equal("layer 0 (embeddings), slow stream:<br>0% of tokens already predict the final layer's token<br>distance 1 of the final state's norm<br>4 bits/token",
            Strings(traces[0], "hovertext")[0]);
        Assert.StartsWith("layer 2, fast stream (M2R2):<br>60% of tokens", Strings(traces[1], "hovertext")[2]);
        Assert.Equal("agrees with the final prediction (%)", AxisTitle(figure, "yaxis"));
        Assert.Equal("distance to the final state (relative)", AxisTitle(figure, "yaxis2"));
        Assert.Equal("layer (0 = embeddings)", AxisTitle(figure, "xaxis2"));

        var slow = Figure(SpeculativeCharts.LayerProfile(Profiles(fast: false)));
        Assert.Equal(2, Traces(slow).Count);
        Assert.DoesNotContain("fast stream", slow.GetRawText());
        Assert.Throws<InvalidSettingsException>(() => SpeculativeCharts.LayerProfile([]));
    }

    internal static List<DynamicComputePoint> Points() =>
    [
        new("early exit (confidence)", 0.9, 6.5, 8, 0.95, 2.2), new("early exit (confidence)", 0.5, 3.1, 8, 0.7, 2.9), new("early exit (confidence)", 0.7, 4.2, 8, 0.85, 2.5),
        new("M2R2 (exit predictor)", 0.9, 5.5, 8, 0.96, 2.15), new("M2R2 (exit predictor)", 0.5, 2.5, 8, 0.8, 2.6),
    ];

    [Fact]
    public void Dynamic_compute_draws_one_line_per_method_against_the_mean_layers()
    {
        var figure = Figure(SpeculativeCharts.DynamicCompute(Points()));
        var traces = Traces(figure);
        Assert.Equal(4, traces.Count);                                                          // two methods in two panels
        Assert.Equal(10, traces.Sum(t => Numbers(t, "x").Count));
        Assert.Equal(new[] { "early exit (confidence)", "M2R2 (exit predictor)" }, traces.Take(2).Select(t => t.GetProperty("name").GetString()));
        // Each line runs from few layers to many, whatever the order of the thresholds.
        Assert.Equal(new double?[] { 3.1, 4.2, 6.5 }, Numbers(traces[0], "x"));
        Assert.Equal(new double?[] { 70, 85, 95 }, Numbers(traces[0], "y").Select(y => (double?)Math.Round(y!.Value, 9)));
        Assert.Equal(new double?[] { 2.9, 2.5, 2.2 }, Numbers(traces[2], "y"));
        Assert.Equal("early exit (confidence), threshold 0.9:<br>6.5 of 8 blocks per token (81.3%)<br>agreement with the full model 95%<br>2.2 bits/token",
            Strings(traces[0], "hovertext")[2]);
        Assert.Equal("blocks run per token (mean, of 8)", AxisTitle(figure, "xaxis"));
        Assert.Equal("loss of the exit predictions (bits/token)", AxisTitle(figure, "yaxis2"));
    }

    [Fact]
    public void Race_shows_tokens_per_second_and_the_ratio_over_the_baseline()
    {
        var figure = Figure(SpeculativeCharts.Race(new[]
        {
            ("plain greedy", 100.0, double.NaN, 1.0),
            ("M2R2 <k=4>", 180.0, 0.6, 2.5),
            ("early exit", 80.0, 0.3, 1.6),
        }));
        var bars = Assert.Single(Traces(figure));
        Assert.Equal(new[] { "plain greedy", "M2R2 <k=4>", "early exit" }, Strings(bars, "y"));
        Assert.Equal(new double?[] { 100, 180, 80 }, Numbers(bars, "x"));
        var labels = Annotations(figure);                                                       // beside each bar, in order
        Assert.Equal(new[] { "plain greedy", "M2R2 <k=4>", "early exit" }, figure.GetProperty("layout").GetProperty("annotations").EnumerateArray().Select(a => a.GetProperty("y").GetString()));
        Assert.Equal(new[] { 100.0, 180, 80 }, figure.GetProperty("layout").GetProperty("annotations").EnumerateArray().Select(a => a.GetProperty("x").GetDouble()));
        Assert.Equal("100 tokens/s · the baseline", labels[0]);
        Assert.StartsWith("<b>180 tokens/s · 1.8× plain greedy</b><br>", labels[1]);               // faster than the baseline: bold
        Assert.Contains("acceptance 60% · 2.50 tokens per full pass", labels[1]);
        Assert.StartsWith("80 tokens/s · 0.8× plain greedy<br>", labels[2]);
        Assert.Equal("M2R2 <k=4>: 180 tokens/s (1.8× plain greedy)<br>acceptance 60% · 2.50 tokens per full pass", Strings(bars, "hovertext")[1]);
        Assert.Equal(new[] { SpeculativeCharts.BaselineColor, ChartStyle.Palette[0], ChartStyle.Palette[1] }, Strings(bars.GetProperty("marker"), "color"));
        var line = Assert.Single(figure.GetProperty("layout").GetProperty("shapes").EnumerateArray());
        Assert.Equal(100, line.GetProperty("x0").GetDouble());                                   // the baseline's speed

        var overResults = Figure(SpeculativeCharts.Race(40, Result()));
        Assert.Equal(new[] { "plain decoding", "M2R2 (k=4)" }, Strings(Traces(overResults)[0], "y"));
        Assert.StartsWith("<b>275 tokens/s · 6.88× plain decoding</b>", Annotations(overResults)[1]);   // 11 tokens in 0.04 s of decoding
    }
}
