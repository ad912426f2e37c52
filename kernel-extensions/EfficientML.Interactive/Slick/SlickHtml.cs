using System.Text;
using EfficientML.Slick;

namespace EfficientML.Interactive;

/// <summary>
/// SLiCK's results as HTML: pair scores by kind (positives, easy and hard negatives) with their ROC curves, one trained
/// model of the ablation, the ablation's summary (mean ± spread over seeds), an enrolled keyword's phonemes and the cost.
/// </summary>
public static class SlickHtml
{
    /// <summary>Scores by kind of pair: how many, the mean score, the share at or above 0.5; then AUC and EER against easy and hard negatives.</summary>
    public static string Render(SlickScores scores) => $"<div style=\"{Html.BlockStyle}\">{ScoreTable(scores)}{RocLine(scores)}</div>";

    /// <summary>The table of <see cref="Render(SlickScores)"/> alone.</summary>
    public static string ScoreTable(SlickScores scores)
    {
        var html = new StringBuilder($"<table style=\"{Html.TableStyle}\">" + Html.Header("pairs", "count", "mean score", "scored ≥ 0.5"));
        foreach (var kind in Enum.GetValues<SlickPairKind>())
        {
            var these = scores.Of(kind);
            if (these.Length == 0) continue;
            html.Append(Html.NumberRow(KindName(kind), Format.Count(these.Length), Format.Fixed(these.Average(), 3), Html.Percent(these.Count(s => s >= 0.5) / (double)these.Length)));
        }
        return html.Append("</table>").ToString();
    }

    static string RocLine(SlickScores scores)
    {
        var parts = new List<string>();
        foreach (var (name, kind) in new[] { ("easy", SlickPairKind.EasyNegative), ("hard", SlickPairKind.HardNegative) })
            if (scores.Kinds.Contains(kind) && scores.Kinds.Contains(SlickPairKind.Positive))
            {
                var roc = scores.Roc(kind);
                parts.Add($"{name}: AUC {Html.Percent(roc.Auc)}, EER {Html.Percent(roc.Eer)}");
            }
        return parts.Count == 0 ? "" : $"<div style=\"margin-top:4px\">Positives against {string.Join("; ", parts)} (loss {Format.Fixed(scores.Loss, 3)}).</div>";
    }

    /// <summary>The name of a kind of pair as the tables show it.</summary>
    public static string KindName(SlickPairKind kind) => kind switch
    {
        SlickPairKind.Positive => "positives (keyword = phrase said)",
        SlickPairKind.EasyNegative => "easy negatives (another phrase)",
        _ => "hard negatives (similar phonemes)",
    };

    /// <summary>One trained model: its variant, seed and steps, its scores on the test pairs (and the real voice), and the ROC curves.</summary>
    public static string Render(SlickTrial trial)
    {
        var html = new StringBuilder($"<div style=\"{Html.BlockStyle}\">");
        html.Append($"<div><b>{Html.Encode(trial.Variant.Name)}</b> (loss: {Html.Encode(trial.Variant.Weights.ToString())}), seed {trial.Seed}, " +
                    $"{Format.Count(trial.Run.Options.Steps)} steps of {trial.Run.Options.BatchSize} pairs.</div>");
        html.Append("<div style=\"margin-top:6px\"><b>Test pairs</b> (words and voices never trained on)</div>").Append(Render(trial.Test));
        if (trial.Real is { } real) html.Append("<div style=\"margin-top:6px\"><b>Real voice</b></div>").Append(Render(real));
        var curves = new List<(string, SlickRoc)> { ("easy", trial.Test.Easy), ("hard", trial.Test.Hard) };
        if (trial.Real is { } r) curves.Add(("real voice, hard", r.Hard));
        html.Append(ChartHtml.Fragment(SlickRocCharts.Curves(curves, $"{trial.Variant.Name}: ROC on the test pairs")));
        return html.Append("</div>").ToString();
    }

    /// <summary>The ablation: AUC and EER (mean ± sample standard deviation over seeds) per variant and set, and the ROC curves of the first seed on hard pairs.</summary>
    public static string Render(SlickAblation ablation)
    {
        var html = new StringBuilder($"<div style=\"{Html.BlockStyle}\">");
        html.Append($"<div><b>SLiCK loss ablation</b>: {Format.Count(ablation.TrainClips)} training clips, {Format.Count(ablation.TestPairs)} test pairs" +
                    (ablation.RealPairs > 0 ? $", {Format.Count(ablation.RealPairs)} real-voice pairs" : "") + $"; L = {ablation.MaxKeywordLength} phonemes; " +
                    $"{ablation.Options.Seeds.Count} seed{(ablation.Options.Seeds.Count == 1 ? "" : "s")} per variant, the same data and budget for all.</div>");
        html.Append(SummaryTable(ablation.Summary()));
        var first = ablation.Trials.GroupBy(t => t.Variant.Name).Select(g => g.First()).ToList();
        if (first.Count > 0)
            html.Append(ChartHtml.Fragment(SlickRocCharts.Curves(first.Select(t => (t.Variant.Name, t.Test.Hard)),
                $"Positives against hard negatives (seed {first[0].Seed})")));
        return html.Append("</div>").ToString();
    }

    /// <summary>The summary rows as a table: one row per variant, AUC and EER per set as mean ± spread.</summary>
    public static string SummaryTable(IReadOnlyList<SlickSummaryRow> rows)
    {
        var sets = rows.Select(r => r.Set).Distinct().ToList();
        var html = new StringBuilder($"<table style=\"{Html.TableStyle}\">");
        html.Append(Html.Header(new[] { "variant" }.Concat(sets.SelectMany(s => new[] { $"AUC {s}", $"EER {s}" })).ToArray()));
        foreach (var variant in rows.Select(r => r.Variant).Distinct())
        {
            var cells = sets.SelectMany(s =>
            {
                var row = rows.First(r => r.Variant == variant && r.Set == s);
                return new[] { MeanSpread(row.Auc, row.AucSpread, row.Seeds), MeanSpread(row.Eer, row.EerSpread, row.Seeds) };
            }).ToArray();
            html.Append(Html.NumberRow(Html.Encode(variant), cells));
        }
        return html.Append("</table>").ToString();
    }

    static string MeanSpread(double mean, double spread, int seeds) => seeds < 2 ? Html.Percent(mean) : $"{Html.Percent(mean)} ± {Format.Fixed(spread * 100, 1)}";

    /// <summary>
    /// Pairs as a table: kind, voice, the phrase said with its phonemes, the keyword with its phonemes — each green where
    /// the subsequence target is 1 (the keyword up to that phoneme is in what is said) — and the phoneme edit distance.
    /// </summary>
    public static string Pairs(IEnumerable<SlickExample> examples)
    {
        var html = new StringBuilder($"<table style=\"{Html.TableStyle}\">" + Html.Header("pair", "voice", "said", "keyword (green: prefix said)", "edits"));
        foreach (var e in examples)
        {
            var prefixes = SlickTargets.Prefixes(e.Pair.Anchor.Phonemes, e.Pair.Keyword, e.Pair.Keyword.Length).Select(p => p > 0).ToArray();
            html.Append(Html.Row(Html.Encode(KindName(e.Kind)), Html.Encode(e.Speaker),
                $"\"{Html.Encode(e.Pair.Anchor.Text)}\"<br>{Chips(e.Pair.Anchor.Phonemes, null)}",
                (e.Pair.KeywordText is { } t ? $"\"{Html.Encode(t)}\"" : "<span style=\"color:#999\">(phonemes changed)</span>") + $"<br>{Chips(e.Pair.Keyword, prefixes)}",
                e.Pair.EditDistance.ToString()));
        }
        return html.Append("</table>").ToString();
    }

    /// <summary>An enrolled keyword: its text and its phonemes as chips.</summary>
    public static string Render(SlickKeyword keyword) =>
        $"<div style=\"{Html.BlockStyle}\"><b>\"{Html.Encode(keyword.Text)}\"</b> · {keyword.Phonemes.Length} phonemes of L = {keyword.Padded.Length}: " +
        $"{Chips(keyword.Phonemes, null)}</div>";

    /// <summary>
    /// The keyword's phonemes above the phonemes the CTC head heard, each keyword phoneme green when the heard sequence has
    /// it in order (a longest common subsequence), grey otherwise.
    /// </summary>
    public static string Phonemes(IReadOnlyList<int> keyword, IReadOnlyList<int> heard)
    {
        var (inKeyword, inHeard) = CommonSubsequence(keyword, heard);
        return $"<table style=\"{Html.TableStyle}\">" +
               Html.Row("<b>keyword</b>", Chips(keyword, inKeyword)) +
               Html.Row("<b>heard</b>", heard.Count == 0 ? "<span style=\"color:#999\">(nothing)</span>" : Chips(heard, inHeard)) + "</table>";
    }

    static string Chips(IReadOnlyList<int> ids, bool[]? matched) => string.Concat(ids.Select((id, i) =>
    {
        var colour = matched is null ? "#e8eef7" : matched[i] ? "#d9f0d3" : "#eee";
        return $"<span style=\"display:inline-block;min-width:18px;text-align:center;margin:1px;padding:0 4px;border-radius:3px;background:{colour};font-family:monospace\">{Html.Encode(Phonemizer.Name(id))}</span>";
    }));

    /// <summary>Which elements of <paramref name="a"/> and of <paramref name="b"/> belong to one longest common subsequence.</summary>
    internal static (bool[] A, bool[] B) CommonSubsequence(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        var table = new int[a.Count + 1, b.Count + 1];
        for (int i = a.Count - 1; i >= 0; i--)
            for (int j = b.Count - 1; j >= 0; j--)
                table[i, j] = a[i] == b[j] ? table[i + 1, j + 1] + 1 : Math.Max(table[i + 1, j], table[i, j + 1]);
        var (inA, inB) = (new bool[a.Count], new bool[b.Count]);
        for (int i = 0, j = 0; i < a.Count && j < b.Count;)
        {
            if (a[i] == b[j]) { inA[i++] = true; inB[j++] = true; }
            else if (table[i + 1, j] >= table[i, j + 1]) i++;
            else j++;
        }
        return (inA, inB);
    }

    /// <summary>Parameters, MACs and (when measured) latency, split into the audio side (per window), the text side (per enrolment) and the matcher (per window and keyword).</summary>
    public static string Render(SlickCost cost)
    {
        var html = new StringBuilder($"<div style=\"{Html.BlockStyle}\"><div><b>SLiCK's cost</b> for a {Format.Fixed(cost.WindowSeconds, 1)}-s window ({cost.Frames} log-mel frames)</div>");
        html.Append($"<table style=\"{Html.TableStyle}\">" + Html.Header("part", "runs", "parameters", "MACs", "ms (batch 1)"));
        string Ms(double? ms) => ms is { } m ? Format.Fixed(m, 3) : "—";
        string Row(string part, string runs, params string[] numbers) =>
            $"<tr><td style=\"{Html.CellStyle}\">{part}</td><td style=\"{Html.CellStyle}\">{runs}</td>" +
            string.Concat(numbers.Select(n => $"<td style=\"{Html.NumberCellStyle}\">{n}</td>")) + "</tr>";
        html.Append(Row("audio encoder + CTC head + keys", "once per window", Format.Count(cost.AudioParameters), Format.Count(cost.AudioMacs), Ms(cost.AudioMs)));
        html.Append(Row("text encoder", "once per keyword (enrolment)", Format.Count(cost.TextParameters), Format.Count(cost.TextMacs), Ms(cost.TextMs)));
        html.Append(Row("matcher", "per window and keyword", Format.Count(cost.MatcherParameters), Format.Count(cost.MatcherMacs), Ms(cost.MatcherMs)));
        html.Append(Row("<b>all</b>", "", Format.Count(cost.Parameters), "", ""));
        return html.Append("</table></div>").ToString();
    }
}
