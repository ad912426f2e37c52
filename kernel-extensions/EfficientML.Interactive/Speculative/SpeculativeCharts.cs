using EfficientML.Core;
using System.Globalization;
using System.Text;
using EfficientML.Speculative;
using EfficientML.Text;
using static EfficientML.Interactive.SvgParts;

namespace EfficientML.Interactive;

/// <summary>
/// Charts of speculative decoding and of early exit as self-contained HTML (styled text and inline SVG, no chart library,
/// so they draw wherever HTML does): the generated text coloured by where each token came from, acceptance per draft
/// position, draft and verify time per round, the layer-wise profile of the residual stream, dynamic compute's agreement
/// against the layers it runs, and a speed race against plain decoding. Colours come from <see cref="ChartStyle.Palette"/>
/// (blue, orange, green: told apart with colour-blindness too), and the token sources also differ in their underline.
/// </summary>
public static class SpeculativeCharts
{
    /// <summary>Width in SVG units of the charts (they scale down to narrower outputs).</summary>
    public const int Width = 860;

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
        html.Append($"<div class=\"efml-token-stream\" style=\"font-family:{Font};font-size:13px;color:{Ink}\">");
        html.Append("<div style=\"display:flex;flex-wrap:wrap;align-items:center;gap:6px 14px;margin-bottom:6px\">");
        html.Append($"<b>{Encode(title ?? "Where each token came from")}</b>");
        html.Append(Legend());
        html.Append("</div>");
        html.Append($"<div class=\"efml-text\" style=\"white-space:pre-wrap;overflow-wrap:anywhere;font-family:{Mono};font-size:13.5px;line-height:1.8;" +
                    "padding:8px 10px;border:1px solid #ddd;border-radius:4px;max-height:560px;overflow-y:auto\">");
        if (!string.IsNullOrEmpty(prompt))
            html.Append($"<span class=\"efml-prompt\" style=\"color:#888\" title=\"{Encode("prompt")}\">{Visible(prompt)}</span>");
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
                        $"title=\"{Encode(tip.ToString())}\">{Visible(text)}</span>");
            if (end == stream.Count || stream[end].Round != stream[end - 1].Round)
                html.Append($"<span class=\"efml-round-end\" title=\"end of round {stream[end - 1].Round + 1}\" style=\"{RoundMarkStyle}\"></span>");
            i = end;
        }
        html.Append("</div>");
        int accepted = stream.Count(t => t.Source == TokenSource.Accepted), corrected = stream.Count(t => t.Source == TokenSource.Corrected);
        int bonus = stream.Count - accepted - corrected, rounds = stream.Select(t => t.Round).Distinct().Count();
        html.Append($"<div class=\"efml-token-counts\" style=\"color:{Muted};margin-top:4px\">{Count(stream.Count)} token{Plural(stream.Count)} in {Count(rounds)} round{Plural(rounds)}: " +
                    $"{Count(accepted)} accepted draft{Plural(accepted)}, {Count(corrected)} corrected, {Count(bonus)} bonus. " +
                    "Each round ends with the target's own token (corrected or bonus); hover a token for its round and draft position.</div>");
        return html.Append("</div>").ToString();
    }

    const string RoundMarkStyle = "display:inline-block;width:2px;height:1.05em;margin:0 1px;vertical-align:-0.18em;background:#888";

    static string TokenStyle(TokenSource source) => source switch
    {
        TokenSource.Accepted => $"background:{Tint(AcceptedColor, 0.3)}",
        TokenSource.Corrected => $"background:{Tint(CorrectedColor, 0.35)};border-bottom:2px solid {CorrectedColor}",
        _ => $"background:{Tint(BonusColor, 0.3)};border-bottom:2px dotted {BonusColor}",
    };

    static string Legend()
    {
        string Entry(TokenSource source, string label, string tip) =>
            $"<span title=\"{Encode(tip)}\" style=\"display:inline-flex;align-items:center;gap:4px\"><span style=\"{TokenStyle(source)};font-family:{Mono};padding:0 4px\">ab</span>" +
            $"<span>{Encode(label)}</span></span>";
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
                _ => Encode(rune.ToString()),
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
    public static string AcceptanceByPosition(params SpeculativeResult[] results) => AcceptanceByPosition((IEnumerable<SpeculativeResult>)results);

    /// <summary>The same for any number of runs, with an optional title.</summary>
    public static string AcceptanceByPosition(IEnumerable<SpeculativeResult> results, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        var list = results.ToList();
        if (list.Count == 0 || list.Any(r => r is null)) throw new InvalidSettingsException("Give at least one speculative decoding result (and no null).");
        int positions = list.Max(r => r.AcceptanceByPosition.Length);
        const int height = 290, left = 64, right = 20, bottom = 48;
        int top = 34 + 18 * list.Count, plotW = Width - left - right, plotH = height - bottom - 44;
        var svg = Svg(Width, top + plotH + bottom, "efml-acceptance-by-position");
        svg.Append(Label(0, 16, title ?? "Acceptance by draft position", 14, anchor: "start", weight: "600"));
        for (int k = 0; k < list.Count; k++)
        {
            var r = list[k];
            Swatch(svg, 4, 38 + 18 * k, ChartStyle.Palette[k % ChartStyle.Palette.Count],
                $"{r.Drafter}: acceptance {Percent(r.AcceptanceRate, 1)}, {Number(r.MeanAcceptedLength, "0.00")} tokens per full pass, {Number(r.TokensPerSecond, "0")} tokens/s");
        }
        double Y(double share) => top + (1 - share) * plotH;
        foreach (var t in new[] { 0, 0.25, 0.5, 0.75, 1 })
        {
            svg.Append($"<line x1=\"{left}\" y1=\"{F(Y(t))}\" x2=\"{left + plotW}\" y2=\"{F(Y(t))}\" stroke=\"#eee\"/>");
            svg.Append(Label(left - 6, Y(t) + 4, Percent(t), 11, Muted, anchor: "end"));
        }
        if (positions == 0)
            svg.Append(Label(left + plotW / 2.0, top + plotH / 2.0, "no drafts were proposed", 13, Muted));
        double slot = positions == 0 ? plotW : (double)plotW / positions, group = slot * 0.8, bar = group / list.Count;
        for (int p = 0; p < positions; p++)
        {
            double x0 = left + p * slot + (slot - group) / 2;
            for (int k = 0; k < list.Count; k++)
            {
                var r = list[k];
                var rates = r.AcceptanceByPosition;
                if (p >= rates.Length) continue;
                int reached = r.Rounds.Count(x => x.Drafted > p);
                double x = x0 + k * bar, y = Y(rates[p]);
                var color = ChartStyle.Palette[k % ChartStyle.Palette.Count];
                svg.Append($"<rect class=\"efml-bar\" x=\"{F(x + 1)}\" y=\"{F(y)}\" width=\"{F(Math.Max(1, bar - 2))}\" height=\"{F(Math.Max(0.5, top + plotH - y))}\" fill=\"{color}\">" +
                           Title($"{r.Drafter}: the draft at position {p + 1} was accepted in {Percent(rates[p], 1)} of the {reached} round{Plural(reached)} that drafted that far") + "</rect>");
                if (bar >= 26) svg.Append(Label(x + bar / 2, y - 4, Percent(rates[p]), 11, halo: true));
            }
            svg.Append(Label(left + (p + 0.5) * slot, top + plotH + 15, (p + 1).ToString(CultureInfo.InvariantCulture), 11.5, Muted));
        }
        svg.Append($"<rect x=\"{left}\" y=\"{top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#bbb\"/>");
        svg.Append(Label(left + plotW / 2.0, top + plotH + 34, "draft position within a round (1 = the round's first draft); bar: share of the rounds that drafted that far", 12));
        svg.Append(VerticalText(18, top + plotH / 2.0, "accepted (%)", 12));
        return Wrap(svg, "efml-acceptance-chart", Width);
    }

    // ───────────────────────────── timeline ─────────────────────────────

    /// <summary>
    /// Per round (the first <paramref name="maxRounds"/>), the time spent drafting and verifying, stacked, and how many
    /// drafts the target accepted (diamonds, right axis).
    /// </summary>
    public static string Timeline(SpeculativeResult result, int maxRounds = DefaultTimelineRounds, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (maxRounds < 1) throw new InvalidSettingsException($"Draw at least one round, not {maxRounds}.");
        var rounds = result.Rounds.Take(maxRounds).ToList();
        const int height = 300, left = 64, right = 64, top = 56, bottom = 50;
        int plotW = Width - left - right, plotH = height - top - bottom;
        var svg = Svg(Width, height, "efml-timeline");
        var heading = title ?? $"{result.Drafter}: time per round" +
                      (result.Rounds.Count > rounds.Count ? $" (the first {rounds.Count} of {result.Rounds.Count} rounds)" : "");
        svg.Append(Label(0, 16, heading, 14, anchor: "start", weight: "600"));
        double lx = Swatch(svg, 4, 38, AcceptedColor, "draft");
        lx = Swatch(svg, lx, 38, CorrectedColor, "verify (one pass of the full model)");
        svg.Append(Marker("diamond", lx + 6, 34, Ink, null, "efml-legend-marker"));
        svg.Append(Label(lx + 16, 39.5, "drafts accepted (right axis)", 12, anchor: "start"));
        if (rounds.Count == 0)
        {
            svg.Append(Label(Width / 2.0, top + plotH / 2.0, "no rounds", 13, Muted));
            return Wrap(svg, "efml-timeline-chart", Width);
        }
        double most = rounds.Max(r => (r.DraftSeconds + r.VerifySeconds) * 1000);
        var (yTicks, _, yHigh) = Ticks(0, Math.Max(most, 1e-3), 5, pad: false);
        int gammaMax = Math.Max(1, rounds.Max(r => r.Drafted));
        double Y(double ms) => top + (1 - ms / yHigh) * plotH;
        double A(double accepted) => top + (1 - accepted / gammaMax) * plotH;
        foreach (var t in yTicks)
        {
            svg.Append($"<line x1=\"{left}\" y1=\"{F(Y(t))}\" x2=\"{left + plotW}\" y2=\"{F(Y(t))}\" stroke=\"#eee\"/>");
            svg.Append(Label(left - 6, Y(t) + 4, Number(t, "0.##"), 11, Muted, anchor: "end"));
        }
        int aStep = (int)Math.Ceiling(gammaMax / 8.0);
        for (int a = 0; a <= gammaMax; a += aStep)
            svg.Append(Label(left + plotW + 6, A(a) + 4, a.ToString(CultureInfo.InvariantCulture), 11, Muted, anchor: "start"));
        double slot = (double)plotW / rounds.Count, bar = Math.Max(1, slot * 0.72);
        int labelEvery = (int)Math.Ceiling(rounds.Count / 16.0);
        var marks = new List<(double X, double Y)>();
        for (int i = 0; i < rounds.Count; i++)
        {
            var r = rounds[i];
            double draft = r.DraftSeconds * 1000, verify = r.VerifySeconds * 1000, cx = left + (i + 0.5) * slot, x = cx - bar / 2;
            svg.Append("<g class=\"efml-round\">" +
                       Title($"round {r.Index + 1}: drafted {r.Drafted}, accepted {r.Accepted}, emitted {r.Emitted}; " +
                             $"draft {Number(draft, "0.###")} ms, verify {Number(verify, "0.###")} ms") +
                       $"<rect x=\"{F(x)}\" y=\"{F(Y(draft))}\" width=\"{F(bar)}\" height=\"{F(Math.Max(0, top + plotH - Y(draft)))}\" fill=\"{AcceptedColor}\"/>" +
                       $"<rect x=\"{F(x)}\" y=\"{F(Y(draft + verify))}\" width=\"{F(bar)}\" height=\"{F(Math.Max(0, Y(draft) - Y(draft + verify)))}\" fill=\"{CorrectedColor}\"/></g>");
            marks.Add((cx, A(r.Accepted)));
            if (i % labelEvery == 0) svg.Append(Label(cx, top + plotH + 15, (r.Index + 1).ToString(CultureInfo.InvariantCulture), 11, Muted));
        }
        if (marks.Count > 1)
            svg.Append($"<polyline fill=\"none\" stroke=\"#999\" stroke-width=\"1\" points=\"{string.Join(" ", marks.Select(m => $"{F(m.X)},{F(m.Y)}"))}\"/>");
        for (int i = 0; i < marks.Count; i++)
        {
            svg.Append(Marker("diamond", marks[i].X, marks[i].Y, Ink, $"round {rounds[i].Index + 1}: {rounds[i].Accepted} of {rounds[i].Drafted} drafts accepted"));
            if (slot >= 16) svg.Append(Label(marks[i].X, marks[i].Y - 8, rounds[i].Accepted.ToString(CultureInfo.InvariantCulture), 10.5, halo: true));
        }
        svg.Append($"<rect x=\"{left}\" y=\"{top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#bbb\"/>");
        svg.Append(Label(left + plotW / 2.0, top + plotH + 34, "round", 12));
        svg.Append(VerticalText(18, top + plotH / 2.0, "time (ms)", 12));
        svg.Append(VerticalText(Width - 14, top + plotH / 2.0, "drafts accepted", 12));
        return Wrap(svg, "efml-timeline-chart", Width);
    }

    // ───────────────────────────── layer profile ─────────────────────────────

    /// <summary>
    /// Two panels over the layers 0 (embeddings) … L: the share of tokens whose prediction there already equals the final
    /// layer's, and the state's distance to the final one (‖h_j − h_L‖ / ‖h_L‖), for the slow stream (plain early exit) and,
    /// where measured, M2R2's fast stream.
    /// </summary>
    public static string LayerProfile(IReadOnlyList<LayerProfile> profiles, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        if (profiles.Count == 0 || profiles.Any(p => p is null)) throw new InvalidSettingsException("Give the profile of at least one layer (and no null), e.g. from LayerAnalysis.Measure.");
        var sorted = profiles.OrderBy(p => p.Layer).ToList();
        bool fast = sorted.Any(p => p.FastAgreement is not null);
        string Tip(LayerProfile p, bool fastStream) =>
            $"layer {p.Layer}{(p.Layer == 0 ? " (embeddings)" : "")}, {(fastStream ? "fast stream (M2R2)" : "slow stream")}: " +
            $"{Percent((fastStream ? p.FastAgreement : p.Agreement) ?? double.NaN, 1)} of tokens already predict the final layer's token; " +
            $"distance {Number((fastStream ? p.FastDistance : p.Distance) ?? double.NaN)} of the final state's norm; " +
            $"{Number((fastStream ? p.FastBits : p.Bits) ?? double.NaN)} bits/token";
        LineSeries Slow(Func<LayerProfile, double> y) =>
            new("slow stream (plain early exit)", AcceptedColor, sorted.Select(p => ((double)p.Layer, y(p), Tip(p, false))).ToList());
        LineSeries Fast(Func<LayerProfile, double?> y) =>
            new("fast stream (M2R2 accelerators)", CorrectedColor, sorted.Where(p => y(p) is not null).Select(p => ((double)p.Layer, y(p)!.Value, Tip(p, true))).ToList(), Dashed: true, Marker: "square");
        var agreement = new List<LineSeries> { Slow(p => 100 * p.Agreement) };
        var distance = new List<LineSeries> { Slow(p => p.Distance) };
        if (fast)
        {
            agreement.Add(Fast(p => 100 * p.FastAgreement));
            distance.Add(Fast(p => p.FastDistance));
        }
        return TwoPanels("efml-layer-profile", title ?? "Layer by layer: how soon the residual stream says what the last layer says", agreement, distance,
            "layer (0 = embeddings)", "agrees with the final prediction (%)", "distance to the final state (relative)",
            x => Number(x, "0"), (0, sorted[^1].Layer), (0, 100), null, y => Number(y, "0.##"));
    }

    // ───────────────────────────── dynamic compute ─────────────────────────────

    /// <summary>
    /// Per method (a line each): the share of tokens whose exit prediction equals the full model's, and the exit predictions'
    /// loss in bits per token, against the blocks run per token on average.
    /// </summary>
    public static string DynamicCompute(IEnumerable<DynamicComputePoint> points, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(points);
        var list = points.ToList();
        if (list.Count == 0 || list.Any(p => p is null)) throw new InvalidSettingsException("Give at least one operating point (and no null), e.g. from DynamicCompute.EarlyExit.");
        int layers = list.Max(p => p.Layers);
        var methods = list.Select(p => p.Method).Distinct().ToList();
        string[] markers = ["circle", "square", "diamond"];
        string Tip(DynamicComputePoint p) =>
            $"{p.Method}, threshold {Number(p.Threshold)}: {Number(p.MeanLayers, "0.##")} of {p.Layers} blocks per token ({Percent(p.ComputeShare, 1)}); " +
            $"agreement with the full model {Percent(p.Agreement, 1)}; {Number(p.Bits)} bits/token";
        List<LineSeries> Lines(Func<DynamicComputePoint, double> y) => methods.Select((m, k) => new LineSeries(m, ChartStyle.Palette[k % ChartStyle.Palette.Count],
            list.Where(p => p.Method == m).OrderBy(p => p.MeanLayers).Select(p => (p.MeanLayers, y(p), Tip(p))).ToList(), Marker: markers[k % markers.Length])).ToList();
        return TwoPanels("efml-dynamic-compute", title ?? "Dynamic compute: quality against the blocks each token runs", Lines(p => 100 * p.Agreement), Lines(p => p.Bits),
            $"blocks run per token (mean, of {layers})", "agrees with the full model (%)", "loss of the exit predictions (bits/token)",
            x => Number(x, "0.#"), (0, layers), null, null, y => Number(y, "0.##"));
    }

    // ───────────────────────────── race ─────────────────────────────

    /// <summary>
    /// Tokens per second as bars, one per entry; the first entry is the baseline (plain decoding) and every other one shows
    /// its speed as a multiple of it, with its acceptance rate and tokens per full-model pass (NaN: not shown).
    /// </summary>
    public static string Race(IEnumerable<(string Name, double TokensPerSecond, double AcceptanceRate, double MeanAcceptedLength)> entries, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var list = entries.ToList();
        if (list.Count == 0) throw new InvalidSettingsException("Give at least one entry: the baseline first, e.g. plain greedy decoding.");
        const int left = 220, right = 300, top = 36, row = 44;
        int height = top + row * list.Count + 14, plotW = Width - left - right;
        double most = list.Select(e => e.TokensPerSecond).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        if (!(most > 0)) most = 1;
        double baseline = list[0].TokensPerSecond;
        var svg = Svg(Width, height, "efml-race");
        svg.Append(Label(0, 16, title ?? "Decoding speed", 14, anchor: "start", weight: "600"));
        for (int i = 0; i < list.Count; i++)
        {
            var e = list[i];
            double y = top + i * row, w = double.IsFinite(e.TokensPerSecond) ? Math.Max(1, e.TokensPerSecond / most * plotW) : 0;
            var color = i == 0 ? BaselineColor : ChartStyle.Palette[(i - 1) % ChartStyle.Palette.Count];
            double ratio = e.TokensPerSecond / baseline;
            var speed = $"{Number(e.TokensPerSecond, "#,0")} tokens/s";
            var detail = i == 0 ? "the baseline" : double.IsFinite(ratio) ? $"{Number(ratio, "0.00")}× {list[0].Name}" : "";
            var extra = double.IsFinite(e.AcceptanceRate)
                ? $"acceptance {Percent(e.AcceptanceRate, 1)} · {Number(e.MeanAcceptedLength, "0.00")} tokens per full pass"
                : "";
            svg.Append($"<g class=\"efml-race-row\">{Title($"{e.Name}: {speed}{(detail.Length > 0 ? $" ({detail})" : "")}{(extra.Length > 0 ? $"; {extra}" : "")}")}");
            svg.Append(Label(left - 10, y + 21, e.Name, 12.5, anchor: "end", weight: i == 0 ? null : "600"));
            svg.Append($"<rect class=\"efml-bar\" x=\"{left}\" y=\"{F(y + 6)}\" width=\"{F(w)}\" height=\"24\" rx=\"2\" fill=\"{color}\"/>");
            svg.Append(Label(left + w + 8, y + (extra.Length > 0 ? 16 : 22), speed + (detail.Length > 0 ? $" · {detail}" : ""), 12, anchor: "start", weight: i > 0 && ratio >= 1 ? "600" : null));
            if (extra.Length > 0) svg.Append(Label(left + w + 8, y + 31, extra, 11, Muted, anchor: "start"));
            svg.Append("</g>");
        }
        if (double.IsFinite(baseline) && baseline > 0)
        {
            double bx = left + baseline / most * plotW;
            svg.Append($"<line class=\"efml-baseline\" x1=\"{F(bx)}\" y1=\"{top}\" x2=\"{F(bx)}\" y2=\"{F(top + row * list.Count)}\" stroke=\"{Ink}\" stroke-width=\"1\" stroke-dasharray=\"4 3\"/>");
        }
        return Wrap(svg, "efml-race-chart", Width);
    }

    /// <summary>The lines of <see cref="SpeculativeExperiments.Race"/> (plain decoding first).</summary>
    public static string Race(IEnumerable<RaceLine> lines, string? title = null) =>
        Race(lines.Select(l => (l.Method, l.TokensPerSecond, l.Method.StartsWith("plain", StringComparison.Ordinal) ? double.NaN : l.AcceptanceRate, l.MeanAcceptedLength)), title);

    /// <summary>The race of speculative runs against plain decoding at <paramref name="plainTokensPerSecond"/>.</summary>
    public static string Race(double plainTokensPerSecond, params SpeculativeResult[] results)
    {
        ArgumentNullException.ThrowIfNull(results);
        return Race(new[] { ("plain decoding", plainTokensPerSecond, double.NaN, 1.0) }
            .Concat(results.Select(r => (r.Drafter, r.TokensPerSecond, r.AcceptanceRate, r.MeanAcceptedLength))));
    }

    // ───────────────────────────── shared pieces ─────────────────────────────

    static string TwoPanels(string cssClass, string title, IReadOnlyList<LineSeries> leftSeries, IReadOnlyList<LineSeries> rightSeries,
        string xTitle, string leftTitle, string rightTitle, Func<double, string> xLabel, (double, double) xRange,
        (double, double)? leftRange, (double, double)? rightRange, Func<double, string> rightLabel)
    {
        const int height = 330, top = 58, bottom = 48, gap = 76, left = 58, right = 14;
        int panelW = (Width - left - gap - right) / 2, plotH = height - top - bottom;
        var svg = Svg(Width, height, cssClass);
        svg.Append(Label(0, 16, title, 14, anchor: "start", weight: "600"));
        LineLegend(svg, 4, 36, leftSeries);
        LinePanel(svg, left, top, panelW, plotH, leftSeries, xTitle, leftTitle, xLabel, y => Number(y, "0.#"), xRange, leftRange ?? (0, 100), "efml-panel efml-panel-left");
        // The right panel's range from 0, so distances and losses are read against zero.
        var values = rightSeries.SelectMany(s => s.Points).Select(p => p.Y).Where(double.IsFinite).DefaultIfEmpty(1).ToList();
        var range = rightRange ?? (Math.Min(0, values.Min()), Math.Max(values.Max(), 1e-6) * 1.05);
        LinePanel(svg, left + panelW + gap, top, panelW, plotH, rightSeries, xTitle, rightTitle, xLabel, rightLabel, xRange, range, "efml-panel efml-panel-right");
        return Wrap(svg, cssClass + "-chart", Width);
    }

    static string Count(int n) => n.ToString("N0", CultureInfo.InvariantCulture);

    static string Plural(int n) => n == 1 ? "" : "s";
}
