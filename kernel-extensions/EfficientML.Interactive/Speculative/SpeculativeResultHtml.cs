using EfficientML.Speculative;
using EfficientML.Text;

namespace EfficientML.Interactive;

/// <summary>
/// Speculative decoding runs as HTML. One run: its figures (acceptance, tokens per full-model pass, speed, where the time
/// went), the text coloured by where each token came from, acceptance per draft position, and the time of each round.
/// A list of runs: one table row each, acceptance per draft position of all of them side by side, and their speeds.
/// </summary>
static class SpeculativeResultHtml
{
    public static string Render(SpeculativeResult result) => Render(result, TokenizerFor(result.Tokens), prompt: null);

    /// <summary>One run with the tokenizer that reads its tokens and the prompt it continued (shown first, in grey).</summary>
    public static string Render(SpeculativeResult result, ITokenizer? tokenizer, string? prompt) =>
        $"<div class=\"efml-speculation\" style=\"{Html.BlockStyle}\">" +
        $"<div style=\"margin-bottom:4px\">{Headline(result)}</div>" +
        Stats(result) +
        SpeculativeCharts.TokenStream(result, tokenizer, prompt) +
        ChartHtml.Fragment(SpeculativeCharts.AcceptanceByPosition(result)) +
        ChartHtml.Fragment(SpeculativeCharts.Timeline(result)) +
        "</div>";

    public static string Render(IEnumerable<SpeculativeResult> results)
    {
        var list = results.ToList();
        if (list.Count == 0) return $"<div style=\"{Html.BlockStyle}\">No speculative decoding results.</div>";
        return $"<div class=\"efml-speculations\" style=\"{Html.BlockStyle}\">" +
               Table(list) +
               ChartHtml.Fragment(SpeculativeCharts.AcceptanceByPosition(list, "Acceptance by draft position, per drafter")) +
               "</div>";
    }

    /// <summary>The summary line: drafter, tokens, rounds, acceptance, tokens per full pass, speed.</summary>
    public static string Headline(SpeculativeResult r) =>
        $"<b>{Html.Encode(r.Drafter)}</b> · {Html.Count(r.Stream.Count)} tokens in {Html.Count(r.Rounds.Count)} rounds · " +
        $"acceptance <b>{Format.Percent(r.AcceptanceRate)}</b> · <b>{Html.Number(Math.Round(r.MeanAcceptedLength, 2))}</b> tokens per full-model pass · " +
        $"<b>{Html.Count((long)Math.Round(r.TokensPerSecond))}</b> tokens/s";

    /// <summary>The run's figures as a two-column table.</summary>
    public static string Stats(SpeculativeResult r)
    {
        int accepted = r.Stream.Count(t => t.Source == TokenSource.Accepted), corrected = r.Stream.Count(t => t.Source == TokenSource.Corrected);
        double draft = r.Rounds.Sum(x => x.DraftSeconds), verify = r.Rounds.Sum(x => x.VerifySeconds);
        return "<div class=\"efml-speculation-stats\">" + Html.KeyValueTable(new (string, string)[]
        {
            ("drafter", Html.Encode(r.Drafter)),
            ("tokens", $"{Html.Count(r.Stream.Count)} in {Html.Count(r.Rounds.Count)} rounds " +
                       $"({Html.Count(accepted)} accepted drafts, {Html.Count(corrected)} corrected, {Html.Count(r.Stream.Count - accepted - corrected)} bonus)"),
            ("acceptance rate", $"{Format.Percent(r.AcceptanceRate)} of {Html.Count(r.Drafted)} drafts"),
            ("tokens per full-model pass", $"{Html.Number(Math.Round(r.MeanAcceptedLength, 3))} (accepted drafts + the target's own token, per round)"),
            ("speed", $"{Html.Count((long)Math.Round(r.TokensPerSecond))} tokens/s (prompt reading excluded)"),
            ("time", $"{Html.Number(Math.Round(r.Seconds, 3))} s: reading the prompt {Html.Number(Math.Round(1000 * r.PrefillSeconds, 1))} ms, " +
                     $"drafting {Html.Number(Math.Round(draft, 3))} s ({Format.Percent(r.DraftShare)}), verifying {Html.Number(Math.Round(verify, 3))} s"),
        }) + "</div>";
    }

    /// <summary>One row per run.</summary>
    public static string Table(IEnumerable<SpeculativeResult> results)
    {
        string Head(string text, bool number = true) => $"<th style=\"{(number ? Html.NumberCellStyle : Html.CellStyle)}\">{text}</th>";
        string Cell(string html) => $"<td style=\"{Html.NumberCellStyle}\">{html}</td>";
        var rows = results.Select(r =>
            $"<tr><td style=\"{Html.CellStyle};white-space:nowrap\">{Html.Encode(r.Drafter)}</td>" +
            Cell(Html.Count(r.Stream.Count)) + Cell(Html.Count(r.Rounds.Count)) + Cell(Format.Percent(r.AcceptanceRate)) +
            Cell(Html.Number(Math.Round(r.MeanAcceptedLength, 2))) + Cell(Html.Count((long)Math.Round(r.TokensPerSecond))) + Cell(Format.Percent(r.DraftShare)) + "</tr>");
        return $"<table class=\"efml-speculation-table\" style=\"{Html.TableStyle};margin-top:4px\">" +
               "<tr>" + Head("drafter", number: false) + Head("tokens") + Head("rounds") + Head("acceptance") +
               Head("tokens per<br>full pass") + Head("tokens/s") + Head("time<br>drafting") + "</tr>" +
               string.Concat(rows) + "</table>";
    }

    /// <summary>The byte tokenizer when every id is a byte (the project's models); otherwise null, and ids are shown.</summary>
    public static ITokenizer? TokenizerFor(IEnumerable<int> tokens) =>
        tokens.All(t => t is >= 0 and < 256) ? ByteTokenizer.Instance : null;

}
