using EfficientML.Core;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using EfficientML.Interactive;
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
        var html = SpeculativeCharts.AcceptanceByPosition(Result(), Result("early <exit>"));
        WellFormed(html);
        Assert.Contains("efml-acceptance-by-position", html);
        Assert.Equal(8, Count(html, "class=\"efml-bar\""));
        Assert.Contains("M2R2 (k=4): the draft at position 1 was accepted in 75% of the 4 rounds that drafted that far", html);
        Assert.Contains("position 3 was accepted in 33.3% of the 3 rounds", html);
        Assert.Contains("position 4 was accepted in 50% of the 2 rounds", html);
        Assert.Contains("early &lt;exit&gt;: acceptance 53.8%, 2.75 tokens per full pass", html);  // 7 of 13 drafts; 11 tokens in 4 rounds
        Assert.DoesNotContain("<exit>", html);
        Assert.Contains("draft position within a round", html);
        Assert.Throws<InvalidSettingsException>(() => SpeculativeCharts.AcceptanceByPosition());
    }

    [Fact]
    public void Timeline_stacks_draft_and_verify_time_per_round_with_the_accepted_drafts()
    {
        var html = SpeculativeCharts.Timeline(Result());
        WellFormed(html);
        Assert.Equal(4, Count(html, "class=\"efml-round\""));
        Assert.Contains("round 1: drafted 4, accepted 4, emitted 5; draft 4 ms, verify 6 ms", html);
        Assert.Contains("round 3: 0 of 2 drafts accepted", html);
        Assert.Contains("drafts accepted (right axis)", html);
        Assert.Contains("time (ms)", html);

        var first = SpeculativeCharts.Timeline(Result(), maxRounds: 2);
        Assert.Equal(2, Count(first, "class=\"efml-round\""));
        Assert.Contains("(the first 2 of 4 rounds)", first);
        Assert.Throws<InvalidSettingsException>(() => SpeculativeCharts.Timeline(Result(), maxRounds: 0));
    }

    internal static List<LayerProfile> Profiles(bool fast) =>
        Enumerable.Range(0, 5).Select(j => new LayerProfile(j, 0.2 * j, 1 - 0.25 * j, 4 - 0.5 * j,
            fast && j <= 2 ? 0.3 * j : null, fast && j <= 2 ? 0.9 - 0.3 * j : null, fast && j <= 2 ? 3.5 - 0.5 * j : null)).ToList();

    [Fact]
    public void Layer_profile_draws_agreement_and_distance_for_the_slow_and_the_fast_stream()
    {
        var html = SpeculativeCharts.LayerProfile(Profiles(fast: true));
        WellFormed(html);
        Assert.Contains("efml-panel-left", html);
        Assert.Contains("efml-panel-right", html);
        Assert.Equal(4, Count(html, "class=\"efml-line\""));                                  // two streams in two panels
        Assert.Equal(2 * (5 + 3), Count(html, "class=\"efml-point\""));
        Assert.Contains("slow stream (plain early exit)", html);
        Assert.Contains("fast stream (M2R2 accelerators)", html);
        Assert.Contains("layer 0 (embeddings), slow stream: 0% of tokens already predict the final layer&#39;s token; distance 1 of the final state&#39;s norm; 4 bits/token", html);
        Assert.Contains("layer 2, fast stream (M2R2): 60% of tokens", html);
        Assert.Contains("agrees with the final prediction (%)", html);
        Assert.Contains("distance to the final state (relative)", html);

        var slow = SpeculativeCharts.LayerProfile(Profiles(fast: false));
        Assert.DoesNotContain("fast stream", slow);
        Assert.Equal(2, Count(slow, "class=\"efml-line\""));
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
        var html = SpeculativeCharts.DynamicCompute(Points());
        WellFormed(html);
        Assert.Equal(4, Count(html, "class=\"efml-line\""));                                  // two methods in two panels
        Assert.Equal(10, Count(html, "class=\"efml-point\""));
        Assert.Contains("early exit (confidence), threshold 0.9: 6.5 of 8 blocks per token (81.3%); agreement with the full model 95%; 2.2 bits/token", html);
        Assert.Contains("M2R2 (exit predictor)", html);
        Assert.Contains("blocks run per token (mean, of 8)", html);
        // Each line runs from few layers to many, whatever the order of the thresholds.
        var line = Regex.Match(html, "<polyline class=\"efml-line\"[^>]*points=\"([^\"]*)\"").Groups[1].Value;
        var xs = line.Split(' ').Select(p => double.Parse(p.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(xs.Order().ToList(), xs);
    }

    [Fact]
    public void Race_shows_tokens_per_second_and_the_ratio_over_the_baseline()
    {
        var html = System.Net.WebUtility.HtmlDecode(SpeculativeCharts.Race(new[]
        {
            ("plain greedy", 100.0, double.NaN, 1.0),
            ("M2R2 <k=4>", 180.0, 0.6, 2.5),
            ("early exit", 80.0, 0.3, 1.6),
        }));
        Assert.Equal(3, Count(html, "class=\"efml-race-row\""));
        Assert.Contains("100 tokens/s · the baseline", html);
        Assert.Contains("180 tokens/s · 1.80× plain greedy", html);
        Assert.Contains("80 tokens/s · 0.80× plain greedy", html);
        Assert.Contains("acceptance 60% · 2.50 tokens per full pass", html);
        Assert.Contains("M2R2 <k=4>", html);
        Assert.Contains("efml-baseline", html);

        WellFormed(SpeculativeCharts.Race(new[] { ("a <b>", 1.0, 0.5, 1.5) }));
        var overResults = System.Net.WebUtility.HtmlDecode(SpeculativeCharts.Race(40, Result()));
        Assert.Contains("plain decoding", overResults);
        Assert.Contains("M2R2 (k=4)", overResults);
        Assert.Contains("275 tokens/s · 6.88× plain decoding", overResults);                   // 11 tokens in 0.04 s of decoding
    }
}
