using EfficientML.Core;
using System.Globalization;
using System.Text;
using EfficientML.Speculative;
using EfficientML.Text;
using Plotly.NET;
using static EfficientML.Interactive.ColouredText;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// Charts of speculative decoding and of early exit: the generated text coloured by where each token came from (styled HTML
/// text), and as plotly charts acceptance per draft position, draft and verify time per round, the layer-wise profile of the
/// residual stream, dynamic compute's agreement against the layers it runs, and a speed race against plain decoding.
/// Colours come from <see cref="ChartStyle.Palette"/> (blue, orange, green: told apart with colour-blindness too), and the
/// token sources also differ in their underline.
/// </summary>
public static class SpeculativeCharts
{
    /// <summary>Most tokens <see cref="TokenStream(IReadOnlyList{SpeculativeToken}, ITokenizer?, string?, string?)"/> draws (each is one element).</summary>
    public const int MaxTokens = 20_000;

    /// <summary>Rounds <see cref="Timeline"/> draws unless told otherwise.</summary>
    public const int DefaultTimelineRounds = 80;

    /// <summary>Accepted drafts (blue).</summary>
    public static string AcceptedColor => ChartStyle.Palette[0];

    /// <summary>The target's token in place of a rejected draft (orange).</summary>
    public static string CorrectedColor => ChartStyle.Palette[1];

    /// <summary>The target's token after every draft of the round was accepted (green).</summary>
    public static string BonusColor => ChartStyle.Palette[2];

    /// <summary>Plain decoding, the baseline (grey).</summary>
    public static string BaselineColor => ChartStyle.Palette[7];

    /// <summary>The colour of a token source.</summary>
    public static string ColorOf(TokenSource source) => source switch
    {
        TokenSource.Accepted => AcceptedColor,
        TokenSource.Corrected => CorrectedColor,
        _ => BonusColor,
    };

    // ───────────────────────────── token stream ─────────────────────────────

    /// <summary>
    /// The text <paramref name="result"/> produced, each token shaded by where it came from (accepted draft, corrected,
    /// bonus), with a mark at the end of every round, a legend, and a tooltip per token with its round and draft position.
    /// <paramref name="prompt"/> (optional) is shown first, in grey. With a null <paramref name="tokenizer"/> the token ids are shown.
    /// </summary>
    public static string TokenStream(SpeculativeResult result, ITokenizer? tokenizer, string? prompt = null, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        return TokenStream(result.Stream, tokenizer, prompt, title ?? $"{result.Drafter}: where each token came from");
    }

    /// <summary>
    /// The same for a stream of tokens (e.g. the part of a run produced so far). Tokens that only together make a character
    /// (the bytes of a UTF-8 character for a byte-level model) are drawn as one element whose tooltip lists each token.
    /// Newlines show as ↵ and break the line, tabs as ⇥, control characters as their visible symbols; everything is HTML-escaped.
    /// </summary>
    public static string TokenStream(IReadOnlyList<SpeculativeToken> stream, ITokenizer? tokenizer, string? prompt = null, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.Count > MaxTokens)
            throw new InvalidSettingsException($"The stream has {stream.Count:N0} tokens; the colouring draws at most {MaxTokens:N0}: give a shorter run.");
        var html = new StringBuilder();
        html.Append($"<div class=\"efml-token-stream\" style=\"{Html.BlockStyle};color:{Ink}\">");
        html.Append("<div style=\"display:flex;flex-wrap:wrap;align-items:center;gap:6px 14px;margin-bottom:6px\">");
        html.Append($"<b>{Html.Encode(title ?? "Where each token came from")}</b>");
        html.Append(Legend());
        html.Append("</div>");
        html.Append($"<div class=\"efml-text\" style=\"white-space:pre-wrap;overflow-wrap:anywhere;font-family:{Mono};font-size:13.5px;line-height:1.8;" +
                    "padding:8px 10px;border:1px solid #ddd;border-radius:4px;max-height:560px;overflow-y:auto\">");
        if (!string.IsNullOrEmpty(prompt))
            html.Append($"<span class=\"efml-prompt\" style=\"color:#888\" title=\"{Html.Encode("prompt")}\">{Visible(prompt)}</span>");
        int i = 0;
        while (i < stream.Count)
        {
            int end = Group(stream, tokenizer, i, out var text);
            var first = stream[i];
            var tip = new StringBuilder();
            for (int t = i; t < end; t++)
            {
                if (t > i) tip.Append('\n');
                tip.Append($"round {stream[t].Round + 1}: {Describe(stream[t])} (token {stream[t].Token.ToString(CultureInfo.InvariantCulture)})");
            }
            tip.Append('\n').Append(Name(text));
            // A character made of several tokens takes the colour of its last token, the one that completed it.
            var source = stream[end - 1].Source;
            html.Append($"<span class=\"efml-tok efml-{source.ToString().ToLowerInvariant()}\" data-round=\"{first.Round + 1}\" style=\"{TokenStyle(source)}\" " +
                        $"title=\"{Html.Encode(tip.ToString())}\">{Visible(text)}</span>");
            if (end == stream.Count || stream[end].Round != stream[end - 1].Round)
                html.Append($"<span class=\"efml-round-end\" title=\"end of round {stream[end - 1].Round + 1}\" style=\"{RoundMarkStyle}\"></span>");
            i = end;
        }
        html.Append("</div>");
        int accepted = stream.Count(t => t.Source == TokenSource.Accepted), corrected = stream.Count(t => t.Source == TokenSource.Corrected);
        int bonus = stream.Count - accepted - corrected, rounds = stream.Select(t => t.Round).Distinct().Count();
        html.Append($"<div class=\"efml-token-counts\" style=\"color:{Muted};margin-top:4px\">{Format.Count(stream.Count)} token{Plural(stream.Count)} in {Format.Count(rounds)} round{Plural(rounds)}: " +
                    $"{Format.Count(accepted)} accepted draft{Plural(accepted)}, {Format.Count(corrected)} corrected, {Format.Count(bonus)} bonus. " +
                    "Each round ends with the target's own token (corrected or bonus); hover a token for its round and draft position.</div>");
        return html.Append("</div>").ToString();
    }

    const string RoundMarkStyle = "display:inline-block;width:2px;height:1.05em;margin:0 1px;vertical-align:-0.18em;background:#888";

    static string TokenStyle(TokenSource source) => source switch
    {
        TokenSource.Accepted => $"background:{Translucent(AcceptedColor, 0.3)}",
        TokenSource.Corrected => $"background:{Translucent(CorrectedColor, 0.35)};border-bottom:2px solid {CorrectedColor}",
        _ => $"background:{Translucent(BonusColor, 0.3)};border-bottom:2px dotted {BonusColor}",
    };

    static string Legend()
    {
        string Entry(TokenSource source, string label, string tip) =>
            $"<span title=\"{Html.Encode(tip)}\" style=\"display:inline-flex;align-items:center;gap:4px\"><span style=\"{TokenStyle(source)};font-family:{Mono};padding:0 4px\">ab</span>" +
            $"<span>{Html.Encode(label)}</span></span>";
        return "<span class=\"efml-legend\" style=\"display:inline-flex;flex-wrap:wrap;gap:4px 12px;align-items:center\">" +
               Entry(TokenSource.Accepted, "accepted draft", "a draft token the target agreed with") +
               Entry(TokenSource.Corrected, "corrected", "the target's own token in place of the first draft it rejected") +
               Entry(TokenSource.Bonus, "bonus", "the target's token after it accepted every draft of the round") +
               $"<span style=\"display:inline-flex;align-items:center;gap:4px\"><span style=\"{RoundMarkStyle}\"></span><span>end of a round</span></span>" +
               "</span>";
    }

    static string Describe(SpeculativeToken t) => t.Source switch
    {
        TokenSource.Accepted => $"draft {t.DraftPosition} accepted",
        TokenSource.Corrected => "corrected: the target's token in place of the first rejected draft",
        _ => "bonus: the target's token after every draft was accepted",
    };

    /// <summary>The end (exclusive) of the group of tokens from <paramref name="start"/> that decodes to whole characters, and its text.</summary>
    static int Group(IReadOnlyList<SpeculativeToken> stream, ITokenizer? tokenizer, int start, out string text)
    {
        text = Decode(tokenizer, stream, start, start + 1);
        if (tokenizer is null || !text.EndsWith('\uFFFD')) return start + 1;
        // A partial UTF-8 character: take up to three more tokens, while the text still ends incomplete.
        for (int end = start + 2; end <= Math.Min(stream.Count, start + 4); end++)
        {
            var longer = Decode(tokenizer, stream, start, end);
            if (!longer.Contains('\uFFFD'))
            {
                text = longer;
                return end;
            }
            if (!longer.EndsWith('\uFFFD')) break;
        }
        return start + 1;
    }

    static string Decode(ITokenizer? tokenizer, IReadOnlyList<SpeculativeToken> stream, int start, int end) =>
        tokenizer is null
            ? string.Concat(Enumerable.Range(start, end - start).Select(i => $"⟨{stream[i].Token.ToString(CultureInfo.InvariantCulture)}⟩"))
            : tokenizer.Decode(Enumerable.Range(start, end - start).Select(i => stream[i].Token));

    /// <summary>Text as HTML with whitespace and control characters made visible (newlines still break the line).</summary>
    static string Visible(string text)
    {
        var html = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
            html.Append(rune.Value switch
            {
                '\n' => "<span style=\"color:#999\">↵</span>\n",
                '\t' => "<span style=\"color:#999\">⇥</span>\t",
                '\r' => "\u240d",
                < 0x20 => ((char)(0x2400 + rune.Value)).ToString(),   // control characters as their visible symbols
                0x7f => "\u2421",
                _ => Html.Encode(rune.ToString()),
            });
        return html.ToString();
    }

    /// <summary>What a tooltip calls a token's text: "space", "newline", or the text in quotes with whitespace made visible.</summary>
    static string Name(string text) => text switch
    {
        " " => "space",
        "\n" => "newline",
        "\t" => "tab",
        "\r" => "carriage return",
        _ => "‘" + string.Concat(text.EnumerateRunes().Select(r => r.Value switch
        {
            '\n' => "↵",
            '\t' => "⇥",
            < 0x20 or 0x7f => $"U+{r.Value:X4}",
            _ => r.ToString(),
        })) + "’",
    };

    // ───────────────────────────── acceptance by position ─────────────────────────────

    /// <summary>Bars per draft position (1 = a round's first draft) for each run: the share of rounds that drafted that far whose draft there was accepted.</summary>
    public static GenericChart AcceptanceByPosition(params SpeculativeResult[] results) => AcceptanceByPosition((IEnumerable<SpeculativeResult>)results);

    /// <summary>
    /// The same for any number of runs, with an optional title. Each run's legend entry carries its acceptance rate, tokens
    /// per full pass and speed; hover a bar for how many rounds drafted that far.
    /// </summary>
    public static GenericChart AcceptanceByPosition(IEnumerable<SpeculativeResult> results, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        var list = results.ToList();
        if (list.Count == 0 || list.Any(r => r is null)) throw new InvalidSettingsException("Give at least one speculative decoding result (and no null).");
        int positions = list.Max(r => r.AcceptanceByPosition.Length);
        var traces = list.Select((r, k) =>
        {
            var rates = r.AcceptanceByPosition;
            var reached = Enumerable.Range(0, rates.Length).Select(p => r.Rounds.Count(x => x.Drafted > p)).ToList();
            var name = $"{r.Drafter}: acceptance {Format.Percent(r.AcceptanceRate, 1)}, {Format.Fixed(r.MeanAcceptedLength, 2)} tokens per full pass, " +
                       $"{Format.Count((long)Math.Round(r.TokensPerSecond))} tokens/s";
            var trace = Chart.Column<double, int, string>(rates, Keys: Enumerable.Range(1, rates.Length).ToList(), Name: name, ShowLegend: true,
                MarkerColor: ChartStyle.ColorAt(k), UseDefaults: false);
            PlotParts.Traces(trace, ("text", rates.Select(a => Format.Percent(a, 0)).ToArray()), ("textposition", "outside"), ("cliponaxis", false),
                ("showlegend", rates.Length > 0));                                                    // a run that drafted nothing draws nothing
            return PlotParts.Hover(trace, rates.Select((a, p) =>
                $"{r.Drafter}: the draft at position {p + 1} was accepted<br>in {Format.Percent(a, 1)} of the {reached[p]} round{Plural(reached[p])} that drafted that far"));
        }).ToList();
        int height = 340 + 20 * list.Count;
        var chart = ChartStyle.Apply(Chart.Combine(traces), title ?? "Acceptance by draft position",
            "draft position within a round (1 = the round's first draft); bar: share of the rounds that drafted that far", "accepted", height);
        PlotParts.Frame(chart, height, bottom: 80 + 20 * list.Count, legendGap: 52);
        PlotParts.Axis(chart, "yaxis", ("range", new[] { 0, 1.12 }), ("tickformat", ".0%"), ("tickvals", new[] { 0, 0.25, 0.5, 0.75, 1 }));
        PlotParts.Axis(chart, "xaxis", ("tickmode", "linear"), ("dtick", 1), ("range", new[] { 0.5, Math.Max(1, positions) + 0.5 }));
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("barmode", "group");
        layout.SetProperty("showlegend", true);
        if (positions == 0)
            layout.SetProperty("annotations", new object[] { PlotlyShapes.Label("paper", 0.5, "paper", 0.5, "no drafts were proposed", "center", "middle", Muted, 13) });
        return chart;
    }

    // ───────────────────────────── timeline ─────────────────────────────

    /// <summary>
    /// Per round (the first <paramref name="maxRounds"/>), the time spent drafting and verifying, stacked, and how many
    /// drafts the target accepted (diamonds, right axis). Hover a bar for the round's drafts, acceptances and times.
    /// </summary>
    public static GenericChart Timeline(SpeculativeResult result, int maxRounds = DefaultTimelineRounds, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (maxRounds < 1) throw new InvalidSettingsException($"Draw at least one round, not {maxRounds}.");
        var rounds = result.Rounds.Take(maxRounds).ToList();
        var heading = title ?? $"{result.Drafter}: time per round" +
                      (result.Rounds.Count > rounds.Count ? $" (the first {rounds.Count} of {result.Rounds.Count} rounds)" : "");
        var x = rounds.Select(r => r.Index + 1).ToList();
        var tips = rounds.Select(r => $"round {r.Index + 1}: drafted {r.Drafted}, accepted {r.Accepted}, emitted {r.Emitted}<br>" +
                                      $"draft {Format.Milliseconds(r.DraftSeconds * 1000)}, verify {Format.Milliseconds(r.VerifySeconds * 1000)}").ToList();
        GenericChart Time(string name, Func<SpeculationRound, double> seconds, string color) =>
            PlotParts.Hover(Chart.Column<double, int, string>(rounds.Select(r => seconds(r) * 1000), Keys: x, Name: name, ShowLegend: rounds.Count > 0,
                MarkerColor: Color.fromString(color), UseDefaults: false), tips);
        var accepted = Chart.Line<int, int, string>(x, rounds.Select(r => r.Accepted), ShowMarkers: true, Name: "drafts accepted (right axis)",
            ShowLegend: rounds.Count > 0, UseDefaults: false);
        // Counts over the diamonds while the rounds are few enough for them to fit.
        bool labels = rounds.Count <= 45;
        PlotParts.Traces(accepted,
            ("yaxis", "y2"), ("mode", labels ? "lines+markers+text" : "lines+markers"),
            ("line", new Dictionary<string, object> { ["color"] = "#999", ["width"] = 1 }),
            ("marker", new Dictionary<string, object> { ["color"] = Ink, ["symbol"] = "diamond", ["size"] = 8, ["line"] = new Dictionary<string, object> { ["color"] = "#fff", ["width"] = 1 } }),
            ("text", rounds.Select(r => labels ? r.Accepted.ToString(CultureInfo.InvariantCulture) : "").ToArray()),
            ("textposition", "top center"), ("textfont", new Dictionary<string, object> { ["size"] = 10, ["color"] = Ink }));
        PlotParts.Hover(accepted, rounds.Select(r => $"round {r.Index + 1}: {r.Accepted} of {r.Drafted} drafts accepted"));
        const int height = 380;
        var chart = ChartStyle.Apply(Chart.Combine(new[] { Time("draft", r => r.DraftSeconds, AcceptedColor), Time("verify (one pass of the full model)", r => r.VerifySeconds, CorrectedColor), accepted }),
            heading, "round", "time (ms)", height);
        PlotParts.Frame(chart, height, right: 60);
        int most = Math.Max(1, rounds.Select(r => r.Drafted).DefaultIfEmpty(1).Max());
        PlotParts.Axis(chart, "yaxis", ("rangemode", "tozero"));
        PlotParts.Axis(chart, "xaxis", ("range", new[] { 0.4, Math.Max(1, rounds.Count) + 0.6 }),
            ("tickmode", "linear"), ("tick0", 1), ("dtick", Math.Max(1, (int)Math.Ceiling(rounds.Count / 16.0))));
        PlotParts.Axis(chart, "yaxis2", ("title", PlotParts.Title("drafts accepted")), ("overlaying", "y"), ("side", "right"),
            ("range", new[] { 0, most * 1.2 }), ("dtick", Math.Ceiling(most / 6.0)), ("showgrid", false), ("zeroline", false));
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("barmode", "stack");
        layout.SetProperty("bargap", 0.25);
        if (rounds.Count == 0)
            layout.SetProperty("annotations", new object[] { PlotlyShapes.Label("paper", 0.5, "paper", 0.5, "no rounds", "center", "middle", Muted, 13) });
        return chart;
    }

    // ───────────────────────────── layer profile ─────────────────────────────

    /// <summary>
    /// Two panels over the layers 0 (embeddings) … L: the share of tokens whose prediction there already equals the final
    /// layer's, and the state's distance to the final one (‖h_j − h_L‖ / ‖h_L‖), for the slow stream (plain early exit) and,
    /// where measured, M2R2's fast stream. Hover a point for the layer's agreement, distance and loss.
    /// </summary>
    public static GenericChart LayerProfile(IReadOnlyList<LayerProfile> profiles, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        if (profiles.Count == 0 || profiles.Any(p => p is null)) throw new InvalidSettingsException("Give the profile of at least one layer (and no null), e.g. from LayerAnalysis.Measure.");
        var sorted = profiles.OrderBy(p => p.Layer).ToList();
        string Value(double? v) => v is double d ? Format.Number(Math.Round(d, 3)) : "–";
        string Tip(LayerProfile p, bool fast) =>
            $"layer {p.Layer}{(p.Layer == 0 ? " (embeddings)" : "")}, {(fast ? "fast stream (M2R2)" : "slow stream")}:<br>" +
            $"{Format.Percent((fast ? p.FastAgreement : p.Agreement) ?? double.NaN, 1)} of tokens already predict the final layer's token<br>" +
            $"distance {Value(fast ? p.FastDistance : p.Distance)} of the final state's norm<br>" +
            $"{Value(fast ? p.FastBits : p.Bits)} bits/token";
        PanelSeries Stream(bool fast, Func<LayerProfile, double?> y)
        {
            var points = sorted.Where(p => y(p) is double v && double.IsFinite(v)).ToList();
            return fast
                ? new("fast stream (M2R2 accelerators)", CorrectedColor, "square", true, points.Select(p => (double)p.Layer).ToList(), points.Select(p => y(p)!.Value).ToList(), points.Select(p => Tip(p, true)).ToList())
                : new("slow stream (plain early exit)", AcceptedColor, "circle", false, points.Select(p => (double)p.Layer).ToList(), points.Select(p => y(p)!.Value).ToList(), points.Select(p => Tip(p, false)).ToList());
        }
        var agreement = new List<PanelSeries> { Stream(false, p => 100 * p.Agreement) };
        var distance = new List<PanelSeries> { Stream(false, p => p.Distance) };
        if (sorted.Any(p => p.FastAgreement is not null))
        {
            agreement.Add(Stream(true, p => 100 * p.FastAgreement));
            distance.Add(Stream(true, p => p.FastDistance));
        }
        return TwoPanels(title ?? "Layer by layer: how soon the residual stream says what the last layer says", agreement, distance,
            "layer (0 = embeddings)", "agrees with the final prediction (%)", "distance to the final state (relative)", (0, sorted[^1].Layer), xStep: 1);
    }

    // ───────────────────────────── dynamic compute ─────────────────────────────

    /// <summary>
    /// Per method (a line each): the share of tokens whose exit prediction equals the full model's, and the exit predictions'
    /// loss in bits per token, against the blocks run per token on average. Hover a point for its threshold and figures.
    /// </summary>
    public static GenericChart DynamicCompute(IEnumerable<DynamicComputePoint> points, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(points);
        var list = points.ToList();
        if (list.Count == 0 || list.Any(p => p is null)) throw new InvalidSettingsException("Give at least one operating point (and no null), e.g. from DynamicCompute.EarlyExit.");
        int layers = list.Max(p => p.Layers);
        var methods = list.Select(p => p.Method).Distinct().ToList();
        string[] symbols = ["circle", "square", "diamond"];
        string Tip(DynamicComputePoint p) =>
            $"{p.Method}, threshold {Format.Number(p.Threshold)}:<br>{Format.Number(Math.Round(p.MeanLayers, 2))} of {p.Layers} blocks per token ({Format.Percent(p.ComputeShare, 1)})<br>" +
            $"agreement with the full model {Format.Percent(p.Agreement, 1)}<br>{Format.Number(Math.Round(p.Bits, 3))} bits/token";
        List<PanelSeries> Lines(Func<DynamicComputePoint, double> y) => methods.Select((m, k) =>
        {
            var line = list.Where(p => p.Method == m && double.IsFinite(p.MeanLayers) && double.IsFinite(y(p))).OrderBy(p => p.MeanLayers).ToList();
            return new PanelSeries(m, ChartStyle.Palette[k % ChartStyle.Palette.Count], symbols[k % symbols.Length], false,
                line.Select(p => p.MeanLayers).ToList(), line.Select(y).ToList(), line.Select(Tip).ToList());
        }).ToList();
        return TwoPanels(title ?? "Dynamic compute: quality against the blocks each token runs", Lines(p => 100 * p.Agreement), Lines(p => p.Bits),
            $"blocks run per token (mean, of {layers})", "agrees with the full model (%)", "loss of the exit predictions (bits/token)", (0, layers), xStep: null);
    }

    // ───────────────────────────── race ─────────────────────────────

    /// <summary>
    /// Tokens per second as bars, one per entry; the first entry is the baseline (plain decoding, grey, and a dashed line at its
    /// speed) and every other one shows its speed as a multiple of it, with its acceptance rate and tokens per full-model pass
    /// (NaN: not shown).
    /// </summary>
    public static GenericChart Race(IEnumerable<(string Name, double TokensPerSecond, double AcceptanceRate, double MeanAcceptedLength)> entries, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var list = entries.ToList();
        if (list.Count == 0) throw new InvalidSettingsException("Give at least one entry: the baseline first, e.g. plain greedy decoding.");
        double most = list.Select(e => e.TokensPerSecond).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        if (!(most > 0)) most = 1;
        double baseline = list[0].TokensPerSecond;
        var labels = new List<string>();
        var tips = new List<string>();
        for (int i = 0; i < list.Count; i++)
        {
            var e = list[i];
            double ratio = e.TokensPerSecond / baseline;
            var speed = double.IsFinite(e.TokensPerSecond) ? $"{Format.Count((long)Math.Round(e.TokensPerSecond))} tokens/s" : "no speed measured";
            var detail = i == 0 ? "the baseline" : double.IsFinite(ratio) ? $"{Format.Ratio(ratio)}× {list[0].Name}" : "";
            var extra = double.IsFinite(e.AcceptanceRate)
                ? $"acceptance {Format.Percent(e.AcceptanceRate, 1)} · {Format.Fixed(e.MeanAcceptedLength, 2)} tokens per full pass"
                : "";
            var line = speed + (detail.Length > 0 ? $" · {detail}" : "");
            labels.Add((i > 0 && ratio >= 1 ? $"<b>{line}</b>" : line) + (extra.Length > 0 ? $"<br><span style=\"font-size:11px;color:{Muted}\">{extra}</span>" : ""));
            tips.Add($"{e.Name}: {speed}{(detail.Length > 0 ? $" ({detail})" : "")}{(extra.Length > 0 ? $"<br>{extra}" : "")}");
        }
        var names = list.Select(e => e.Name).ToList();
        var chart = Chart.Bar<double, string, string>(list.Select(e => e.TokensPerSecond), Keys: names, Name: "tokens/s", ShowLegend: false, UseDefaults: false);
        PlotParts.Traces(chart,
            ("x", list.Select(e => double.IsFinite(e.TokensPerSecond) ? (object)e.TokensPerSecond : null).ToArray()),
            ("marker", new Dictionary<string, object> { ["color"] = list.Select((_, i) => i == 0 ? BaselineColor : ChartStyle.Palette[(i - 1) % ChartStyle.Palette.Count]).ToArray() }));
        PlotParts.Hover(chart, tips);
        // Each bar's figures beside it, left-aligned (bar text would centre its two lines), over the baseline's line.
        var annotations = list.Select((e, i) =>
        {
            var label = PlotlyShapes.Label("x", double.IsFinite(e.TokensPerSecond) ? e.TokensPerSecond : 0, "y", 0, labels[i], "left", "middle", Ink);
            label["y"] = names[i];                                                             // category axis: placed by the entry's name
            label["xshift"] = 4;
            label["align"] = "left";
            label["bgcolor"] = "rgba(255,255,255,0.85)";
            return (object)label;
        }).ToArray();
        int height = 130 + 52 * list.Count;
        chart = ChartStyle.Apply(chart, title ?? "Decoding speed", "tokens per second", null, height);
        PlotParts.Frame(chart, height, right: 30, bottom: 60);
        // Room right of the longest bar for its label (about as long as the bar may be).
        PlotParts.Axis(chart, "xaxis", ("range", new[] { 0, most * 2.0 }), ("fixedrange", true));
        PlotParts.Axis(chart, "yaxis", ("type", "category"), ("autorange", "reversed"), ("automargin", true), ("fixedrange", true));
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("bargap", 0.35);
        layout.SetProperty("annotations", annotations);
        if (double.IsFinite(baseline) && baseline > 0)
        {
            var line = PlotlyShapes.VerticalLine(baseline, Ink, "dash", 1);
            line["layer"] = "below";                                                              // under the bars and their labels
            layout.SetProperty("shapes", new object[] { line });
        }
        return chart;
    }

    /// <summary>The lines of <see cref="SpeculativeExperiments.Race"/> (plain decoding first).</summary>
    public static GenericChart Race(IEnumerable<RaceLine> lines, string? title = null) =>
        Race(lines.Select(l => (l.Method, l.TokensPerSecond, l.Method.StartsWith("plain", StringComparison.Ordinal) ? double.NaN : l.AcceptanceRate, l.MeanAcceptedLength)), title);

    /// <summary>The race of speculative runs against plain decoding at <paramref name="plainTokensPerSecond"/>.</summary>
    public static GenericChart Race(double plainTokensPerSecond, params SpeculativeResult[] results)
    {
        ArgumentNullException.ThrowIfNull(results);
        return Race(new[] { ("plain decoding", plainTokensPerSecond, double.NaN, 1.0) }
            .Concat(results.Select(r => (r.Drafter, r.TokensPerSecond, r.AcceptanceRate, r.MeanAcceptedLength))));
    }

    // ───────────────────────────── shared pieces ─────────────────────────────

    /// <summary>One line of a two-panel chart: its name, colour, marker, dash, points and one hover text per point.</summary>
    sealed record PanelSeries(string Name, string Color, string Symbol, bool Dashed, IReadOnlyList<double> X, IReadOnlyList<double> Y, IReadOnlyList<string> Tips);

    /// <summary>
    /// Two panels side by side on the same x: <paramref name="leftSeries"/> on a 0–100 % axis, <paramref name="rightSeries"/>
    /// on an axis from zero (distances and losses are read against zero); each series one legend entry for both panels.
    /// </summary>
    static GenericChart TwoPanels(string title, IReadOnlyList<PanelSeries> leftSeries, IReadOnlyList<PanelSeries> rightSeries,
        string xTitle, string leftTitle, string rightTitle, (double Low, double High) xRange, double? xStep)
    {
        GenericChart Line(PanelSeries s, bool right)
        {
            var trace = Chart.Line<double, double, string>(s.X, s.Y, ShowMarkers: true, Name: s.Name, ShowLegend: !right, UseDefaults: false);
            PlotParts.Traces(trace,
                ("legendgroup", s.Name),
                ("line", new Dictionary<string, object> { ["color"] = s.Color, ["width"] = 2, ["dash"] = s.Dashed ? "dash" : "solid" }),
                ("marker", new Dictionary<string, object> { ["color"] = s.Color, ["symbol"] = s.Symbol, ["size"] = 8, ["line"] = new Dictionary<string, object> { ["color"] = "#fff", ["width"] = 1 } }));
            if (right) PlotParts.Traces(trace, ("xaxis", "x2"), ("yaxis", "y2"));
            return PlotParts.Hover(trace, s.Tips);
        }
        var traces = leftSeries.Select(s => Line(s, false)).Concat(rightSeries.Select(s => Line(s, true))).ToList();
        const int height = 400;
        var chart = ChartStyle.Apply(Chart.Combine(traces), title, null, null, height);
        PlotParts.Frame(chart, height, left: 64, bottom: 100, legendGap: 52);
        double pad = Math.Max(0.2, (xRange.High - xRange.Low) * 0.03);
        var x = new[] { xRange.Low - pad, xRange.High + pad };
        var values = rightSeries.SelectMany(s => s.Y).DefaultIfEmpty(1).ToList();
        var right = new[] { Math.Min(0, values.Min()), Math.Max(values.Max(), 1e-6) * 1.08 };
        foreach (var (axis, anchor, domain) in new[] { ("xaxis", "y", new[] { 0, 0.44 }), ("xaxis2", "y2", new[] { 0.56, 1 }) })
        {
            PlotParts.Axis(chart, axis, ("title", PlotParts.Title(xTitle)), ("domain", domain), ("anchor", anchor), ("range", x));
            if (xStep is double step) PlotParts.Axis(chart, axis, ("tickmode", "linear"), ("dtick", step));
        }
        PlotParts.Axis(chart, "yaxis", ("title", PlotParts.Title(leftTitle)), ("range", new[] { 0, 104.0 }), ("anchor", "x"));
        PlotParts.Axis(chart, "yaxis2", ("title", PlotParts.Title(rightTitle)), ("range", right), ("anchor", "x2"));
        return chart;
    }

    static string Plural(int n) => n == 1 ? "" : "s";
}
