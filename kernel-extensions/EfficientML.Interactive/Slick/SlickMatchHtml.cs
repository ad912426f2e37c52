using System.Text;
using EfficientML.Audio;
using EfficientML.Slick;

namespace EfficientML.Interactive;

/// <summary>
/// A clip matched against enrolled keywords, and a long recording scanned for them, as HTML: the audio player, the score
/// per keyword, keyword against heard phonemes, the alignment heat maps, and for a scan the score-over-time chart with
/// detections and the times the keyword was really said.
/// </summary>
public static class SlickMatchHtml
{
    /// <summary>One match: the score, keyword against heard phonemes, and the alignment heat map with the prefix probabilities.</summary>
    public static string Render(SlickMatch match) =>
        $"<div style=\"{Html.BlockStyle}\"><div><b>\"{Html.Encode(match.Keyword.Text)}\"</b>: match score {Format.Fixed(match.Score, 3)}</div>" +
        SlickHtml.Phonemes(match.Keyword.Phonemes, match.Heard) + ChartHtml.Fragment(SlickAlignmentCharts.Alignment(match)) + "</div>";

    /// <summary>
    /// A clip (16 kHz) and its matches: the player with waveform and spectrogram, one row per keyword (score, phonemes,
    /// edit distance to what was heard), then each keyword's phonemes and alignment.
    /// </summary>
    public static string Clip(float[] samples, IReadOnlyList<SlickMatch> matches, string? caption = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var html = new StringBuilder($"<div style=\"{Html.BlockStyle}\">");
        html.Append(AudioHtml.View(samples, 16000, caption ?? "The clip"));
        html.Append($"<table style=\"{Html.TableStyle}\">" + Html.Header("keyword", "phonemes", "match score", "verdict"));
        foreach (var m in matches)
            html.Append(Html.Row($"<b>{Html.Encode(m.Keyword.Text)}</b>", $"<code>{Html.Encode(m.Keyword.PhonemeNames)}</code>", Format.Fixed(m.Score, 3),
                m.Detected ? $"<span style=\"color:#1a9850\">heard (≥ {Format.Fixed(m.Threshold, 2)})</span>" : $"<span style=\"color:#999\">not heard (&lt; {Format.Fixed(m.Threshold, 2)})</span>"));
        html.Append("</table>");
        foreach (var m in matches)
            html.Append(SlickHtml.Phonemes(m.Keyword.Phonemes, m.Heard)).Append(ChartHtml.Fragment(SlickAlignmentCharts.Alignment(m)));
        return html.Append("</div>").ToString();
    }

    /// <summary>A scan without the words said: the chart and the detections.</summary>
    public static string Render(SlickScan scan) => Scan(scan, null, null);

    /// <summary>A scan of <paramref name="stream"/>: the recording's player, the score chart with the true keyword times, and the detections.</summary>
    public static string Stream(KeywordStream stream, SlickScan scan, SlickScanOptions? options = null) => Scan(scan, stream, options);

    static string Scan(SlickScan scan, KeywordStream? stream, SlickScanOptions? options)
    {
        options ??= new SlickScanOptions();
        var html = new StringBuilder($"<div style=\"{Html.BlockStyle}\">");
        if (stream is not null)
            html.Append(AudioHtml.View(stream.Samples, stream.SampleRate, $"The recording: {stream.Events.Count} phrases said"));
        if (scan.Score is { } s)
            html.Append($"<div><b>{s.Hits}/{s.Said}</b> keyword utterances detected, <b>{s.FalseAlarms}</b> false alarm{(s.FalseAlarms == 1 ? "" : "s")} " +
                        $"({Format.Fixed(s.FalseAlarmsPerHour, 0)} per hour) at threshold {Format.Fixed(scan.Threshold, 2)}.</div>");
        html.Append(ChartHtml.Fragment(SlickScanCharts.Scan(scan, stream?.Events, scan.Threshold, options.ToleranceSeconds)));
        if (scan.Detections.Count > 0)
        {
            html.Append($"<table style=\"{Html.TableStyle}\">" + Html.Header("at", "keyword", "score", "what was said there"));
            foreach (var d in scan.Detections)
            {
                var near = stream?.Events.Where(e => d.Seconds >= e.Start - options.ToleranceSeconds && d.Seconds <= e.End + options.ToleranceSeconds).Select(e => e.Word).ToList();
                html.Append(Html.Row($"{Format.Fixed(d.Seconds, 2)} s", Html.Encode(d.Text), Format.Fixed(d.Score, 2),
                    near is null ? "" : near.Count == 0 ? "<span style=\"color:#999\">(nothing)</span>" : Html.Encode(string.Join(", ", near))));
            }
            html.Append("</table>");
        }
        return html.Append("</div>").ToString();
    }
}
