using System.Text;
using EfficientML.Prefill;

namespace EfficientML.Interactive;

/// <summary>Parallel prefill as HTML: one summary with its timeline, a race of methods, and a partition search.</summary>
static class PrefillHtml
{
    /// <summary>A short table (method, transport, chunks, TTFT, bytes handed on, first token, differences from single) and the timeline.</summary>
    public static string Render(PrefillSummary s)
    {
        var html = new StringBuilder($"<div style=\"{Html.BlockStyle}\">");
        html.Append($"<table style=\"{Html.TableStyle}\">" + Html.Header("method", "transport", "chunks", "TTFT", "bytes handed on", "first token", "Δ logits vs single", "Δ KV cache vs single"));
        html.Append(Row(s));
        html.Append("</table>");
        html.Append(ChartHtml.Fragment(PrefillCharts.Timeline(s)));
        return html.Append("</div>").ToString();
    }

    /// <summary>The methods side by side: one table, the TTFT comparison, then each timeline.</summary>
    public static string Render(PrefillRace race)
    {
        var html = new StringBuilder($"<div style=\"{Html.BlockStyle}\">");
        var lengths = race.Summaries.Select(s => s.PromptLength).Distinct().ToList();
        html.Append($"<div><b>Prefill race</b>: {string.Join(", ", race.Summaries.Select(s => PrefillCharts.MethodName(s.Method)).Distinct())} on " +
                    $"{(lengths.Count == 1 ? $"the same {lengths[0]}-token prompt" : $"prompts of {string.Join(", ", lengths)} tokens")}" +
                    (race.Summaries.Count > 0 ? $" ({Html.Encode(race.Summaries[0].Transport)})" : "") + ".</div>");
        html.Append($"<table style=\"{Html.TableStyle}\">" + Html.Header("method", "transport", "chunks", "TTFT", "bytes handed on", "first token", "Δ logits vs single", "Δ KV cache vs single"));
        foreach (var s in race.Summaries) html.Append(Row(s));
        html.Append("</table>");
        if (race.Summaries.Count > 0) html.Append(ChartHtml.Fragment(PrefillCharts.TimeToFirstToken(race.Summaries)));
        if (lengths.Count == 1)
            foreach (var s in race.Summaries) html.Append(ChartHtml.Fragment(PrefillCharts.Timeline(s)));
        return html.Append("</div>").ToString();
    }

    /// <summary>What the search found: best and even chunks measured, the cost model's proposal, and the candidates' chart.</summary>
    public static string Render(PartitionSearchResult search)
    {
        var html = new StringBuilder($"<div style=\"{Html.BlockStyle}\">");
        int measured = search.Tried.Count(c => c.Measured.HasValue);
        html.Append($"<div><b>Partition search</b>: {search.Length} tokens over {search.Workers} workers, {measured} partitions measured " +
                    $"(cost model: attention {Format.Fixed(search.Model.AttentionSecondsPerPair * 1e9, 2)} ns per query–key pair, " +
                    $"{Format.Fixed(search.Model.LinearSecondsPerToken * 1e6, 2)} µs per token, {Format.Fixed(search.Model.LayerSeconds * 1e6, 1)} µs per layer).</div>");
        html.Append($"<table style=\"{Html.TableStyle}\">" + Html.Header("", "chunks", "measured TTFT", "predicted TTFT"));
        void Line(string name, PartitionCandidate c) => html.Append(Html.Row(name, NoWrap($"[{string.Join(", ", c.Chunks)}]"),
            NoWrap(c.Measured is { } m ? Format.Milliseconds(m * 1000) : "—"), NoWrap(Format.Milliseconds(c.Predicted * 1000))));
        Line("best found", search.Best);
        Line("even chunks", search.Even);
        if (search.Tried.FirstOrDefault(c => c.Level == 0 && !c.Chunks.SequenceEqual(search.Even.Chunks)) is { } proposal) Line("cost model's proposal", proposal);
        html.Append("</table>");
        html.Append(ChartHtml.Fragment(PrefillCharts.Partition(search)));
        return html.Append("</div>").ToString();
    }

    static string Row(PrefillSummary s) => Html.Row(
        NoWrap(PrefillCharts.MethodName(s.Method)), Html.Encode(s.Transport), NoWrap($"[{string.Join(", ", s.Chunks)}]"),
        NoWrap(Format.Milliseconds(s.TimeToFirstToken * 1000)), NoWrap(s.BytesSent > 0 ? Format.Bytes(s.BytesSent) : "—"), NoWrap(Token(s.FirstToken)),
        s.MaxLogitDifference is { } l ? Format.Short(l) : "—", s.MaxCacheDifference is { } k ? Format.Short(k) : "—");

    /// <summary>A cell value kept on one line ("[1024, 1024]", "1622.0 ms").</summary>
    static string NoWrap(string html) => $"<span style=\"white-space:nowrap\">{html}</span>";

    /// <summary>A token id, with its character when it is a printable byte.</summary>
    static string Token(int id) => id is >= 33 and < 127 ? $"{id} ('{Html.Encode(((char)id).ToString())}')" : id == 32 ? "32 (space)" : id.ToString(Html.Invariant);
}
