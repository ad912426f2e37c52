using EfficientML.Audio;
using EfficientML.Slick;
using Plotly.NET;

namespace EfficientML.Interactive.Tests;

public class SlickChartsTests
{
    static readonly int B = Phonemizer.Id("b"), R = Phonemizer.Id("r"), EI = Phonemizer.Id("eI"), V = Phonemizer.Id("v"), OU = Phonemizer.Id("oU");

    static SlickKeyword Brave() => new("brave", [B, R, EI, V], Phonemizer.Pad([B, R, EI, V], 6));

    /// <summary>"brave" against a clip of 10 encodings where the CTC head heard "b r eI oU".</summary>
    static SlickMatch Match()
    {
        var attention = new float[4, 10];
        for (int k = 0; k < 4; k++) attention[k, 2 + 2 * k] = 1;
        return new SlickMatch(Brave(), 0.83, [0.9f, 0.8f, 0.7f, 0.2f], attention, 0.04, [B, R, EI, OU]);
    }

    /// <summary>Two positives, two easy and two hard negatives.</summary>
    static SlickScores Scores() => new([0.9f, 0.6f, 0.1f, 0.2f, 0.7f, 0.4f], [1, 1, 0, 0, 0, 0],
        [SlickPairKind.Positive, SlickPairKind.Positive, SlickPairKind.EasyNegative, SlickPairKind.EasyNegative, SlickPairKind.HardNegative, SlickPairKind.HardNegative], 0.5);

    [Fact]
    public void The_alignment_names_the_phonemes_and_shows_the_prefix_probabilities_beside_the_heat_map()
    {
        var json = GenericChart.toChartHTML(SlickAlignmentCharts.Alignment(Match()));
        Assert.Contains("\"type\":\"heatmap\"", json);
        Assert.Contains("3 · eI", json);                                   // phoneme names, numbered, on the y axis
        Assert.Contains("\"xaxis2\"", json);                              // the prefix bars beside it
        Assert.Contains("match 83%", json);
        var html = SlickMatchHtml.Render(Match());
        Assert.Contains("match score 0.830", html);
        Assert.Contains(">oU<", html);                                    // heard
        Assert.DoesNotContain("<svg", html);
    }

    [Fact]
    public void Keyword_and_heard_phonemes_are_aligned_by_a_longest_common_subsequence()
    {
        var (keyword, heard) = SlickHtml.CommonSubsequence([B, R, EI, V], [B, EI, OU, V]);
        Assert.Equal([true, false, true, true], keyword);
        Assert.Equal([true, true, false, true], heard);
        Assert.Contains("(nothing)", SlickHtml.Phonemes([B], []));
    }

    [Fact]
    public void The_scores_table_splits_pairs_by_kind_and_the_roc_marks_the_equal_error_point()
    {
        var html = SlickHtml.Render(Scores());
        Assert.Contains("positives (keyword = phrase said)", html);
        Assert.Contains("hard negatives (similar phonemes)", html);
        Assert.Contains("easy: AUC 100%", html);                       // both positives above both easy negatives
        Assert.Contains("hard: AUC 75%", html);
        var json = GenericChart.toChartHTML(SlickRocCharts.Curves([("SLiCK", Scores().Easy), ("baseline", Scores().Hard)]));
        Assert.Contains("SLiCK: AUC 100%, EER 0%", json);
        Assert.Contains("baseline: EER", json);
        Assert.Contains("\"symbol\":\"diamond\"", json);
        Assert.Throws<ArgumentException>(() => SlickRocCharts.Curves([]));
    }

    [Fact]
    public void The_pairs_table_colours_the_keyword_by_its_subsequence_target()
    {
        var bravo = new[] { B, R, Phonemizer.Id("A:"), V, OU };
        var pair = new SlickPair(new SlickPhrase("brave", [B, R, EI, V]), bravo, "bravo", SlickPairKind.HardNegative, 2);
        var html = SlickHtml.Pairs([new SlickExample(new float[16000], Phonemizer.Pad(bravo, 6), 0, SlickPairKind.HardNegative, pair, "en+m1", 10)]);
        Assert.Contains("hard negatives (similar phonemes)", html);
        Assert.Contains("\"bravo\"<br>", html);
        Assert.Equal(2, html.Split("#d9f0d3").Length - 1);              // "b" and "b r" are said; "b r A:" is not
        Assert.Contains(">2<", html);
    }

    [Fact]
    public void The_ablation_summary_shows_mean_and_spread_over_seeds()
    {
        var rows = new List<SlickSummaryRow>
        {
            new("without subsequence", "easy", 3, 0.9, 0.02, 0.1, 0.01), new("without subsequence", "hard", 3, 0.7, 0.05, 0.3, 0.04),
            new("SLiCK", "easy", 3, 0.92, 0.01, 0.08, 0.01), new("SLiCK", "hard", 3, 0.8, 0.03, 0.2, 0.02),
        };
        var html = SlickHtml.SummaryTable(rows);
        Assert.Contains("AUC hard", html);
        Assert.Contains("80% ± 3.0", html);
        Assert.Contains("without subsequence", html);
        Assert.Contains("90%", SlickHtml.SummaryTable([new("SLiCK", "easy", 1, 0.9, 0, 0.1, 0)]));
        Assert.DoesNotContain("±", SlickHtml.SummaryTable([new("SLiCK", "easy", 1, 0.9, 0, 0.1, 0)]));
    }

    [Fact]
    public void The_scan_chart_marks_detections_against_the_times_the_keyword_was_said()
    {
        var scores = new float[20, 1];
        scores[8, 0] = 0.9f;
        scores[16, 0] = 0.7f;
        var detections = new List<SlickDetection> { new(0, "brave", 8 * 0.25 + 1.25, 0.9), new(0, "brave", 16 * 0.25 + 1.25, 0.7) };
        var scan = new SlickScan([Brave()], scores, 0.25, 2.5, 8, 0.5, detections, new SlickScanScore(1, 1, 1, 8));
        var said = new List<KeywordEvent> { new("brave", 0, "en+m1", 3.0, 3.5), new("a grave whale", 1, "en+m1", 5.0, 6.0) };
        var json = GenericChart.toChartHTML(SlickScanCharts.Scan(scan, said));
        Assert.Contains("hit: \\\"brave\\\" at 3.25 s", json.Replace("&quot;", "\\\""));
        Assert.Contains("false alarm", json);
        Assert.Contains("<b>brave</b>", json);
        Assert.Contains("a grave whale", json);
        Assert.Contains("1/1 hits, 1 false alarms", json);
        Assert.Contains("1/1</b> keyword utterances detected", SlickMatchHtml.Stream(new KeywordStream(new float[16000 * 8], 16000, said, ["brave"]), scan));
    }

    [Fact]
    public void The_cost_splits_audio_text_and_matcher_and_the_lengths_chart_marks_l()
    {
        var html = SlickHtml.Render(SlickCost.Of(new SlickModelConfig()));
        Assert.Contains("once per keyword (enrolment)", html);
        Assert.Contains("per window and keyword", html);
        Assert.Contains("—", html);                                       // not measured
        Assert.Contains(">b<", SlickHtml.Render(Brave()));
    }
}
