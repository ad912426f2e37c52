using System.Text;
using EfficientML.GatedConformer;

namespace EfficientML.Interactive;

/// <summary>Dynamic-depth keyword spotting as HTML: one stream's gate raster and detections, and the gated-versus-ungated report.</summary>
static class GatedHtml
{
    /// <summary>A stream run: what was skipped and heard, the raster over the spectrogram, every detection.</summary>
    public static string Render(GateRun run)
    {
        var html = new StringBuilder($"<div style=\"{Html.BlockStyle}\">");
        var s = run.Score;
        html.Append($"<div><b>{Html.Encode(run.Model)}</b> over {Format.Fixed(run.Seconds, 1)} s of {Html.Encode(Kind(run.Kind))}: " +
                    $"{Html.Percent(run.Output.SkippedShare)} of module runs skipped; " +
                    (s.Keywords > 0 ? $"{s.Hits}/{s.Keywords} keywords heard, " : "") +
                    $"{s.FalseAlarms} false alarm{(s.FalseAlarms == 1 ? "" : "s")}; " +
                    $"computed in {Format.Milliseconds(run.Compute.TotalMilliseconds)} ({Format.Milliseconds(run.Compute.TotalMilliseconds / run.Seconds)} per second of audio).</div>");
        html.Append(ChartHtml.Fragment(GatedCharts.Raster(run)));
        if (run.Detections.Count > 0)
        {
            html.Append($"<table style=\"{Html.TableStyle}\">" + Html.Header("heard at", "keyword", "placed at", "probability", "verdict"));
            for (int i = 0; i < run.Detections.Count; i++)
            {
                var d = run.Detections[i];
                html.Append(Html.Row($"{Format.Fixed(d.Seconds, 2)} s", Html.Encode(d.Word), $"{Format.Fixed(d.Start, 2)}–{Format.Fixed(d.End, 2)} s",
                    Format.Fixed(d.Score, 2), run.Hits[i] ? "hit" : "<span style=\"color:#d73027\">false alarm</span>"));
            }
            html.Append("</table>");
        }
        return html.Append("</div>").ToString();
    }

    /// <summary>The comparison: skips, accuracy, detection, localisation and time, side by side; skips by kind; the gated model's rasters.</summary>
    public static string Render(GatedReport report)
    {
        var (u, g, t) = (report.Ungated, report.Gated, report.Timing);
        var html = new StringBuilder($"<div style=\"{Html.BlockStyle}\">");
        html.Append($"<div><b>Gated vs ungated conformer</b>: {Format.Fixed(report.DataSeconds / 60, 0)} min of audio, " +
                    $"{report.Options.Training.Training.Steps} training steps each from the same starting weights; " +
                    $"{Format.Count(report.Parameters)} parameters + {Format.Count(report.GateParameters)} in gates.</div>");
        html.Append($"<table style=\"{Html.TableStyle}\">" + Html.Header("", Html.Encode(u.Name), Html.Encode(g.Name)));
        void Row(string name, string a, string b) => html.Append(Html.NumberRow(name, a, b));
        Row("modules skipped on noise only", Html.Percent(u.SkippedOnNoise), Html.Percent(g.SkippedOnNoise));
        Row("modules skipped on speech in noise", Html.Percent(u.SkippedOnSpeech), Html.Percent(g.SkippedOnSpeech));
        Row($"per-word accuracy ({u.Words} words)", Html.Percent(u.WordAccuracy), Html.Percent(g.WordAccuracy));
        Row($"keywords heard ({u.Detection.Keywords})", Html.Percent(u.Detection.HitRate), Html.Percent(g.Detection.HitRate));
        Row("false alarms per hour of speech", Format.Fixed(u.Detection.FalseAlarmsPerHour, 0), Format.Fixed(g.Detection.FalseAlarmsPerHour, 0));
        Row("false alarms per hour of noise", Format.Fixed(u.NoiseFalseAlarmsPerHour, 0), Format.Fixed(g.NoiseFalseAlarmsPerHour, 0));
        Row("localisation error (centre)", Format.Milliseconds(u.Detection.MeanCentreErrorMs), Format.Milliseconds(g.Detection.MeanCentreErrorMs));
        Row("compute per second of noise", Format.Milliseconds(t.UngatedNoise * 1000), Format.Milliseconds(t.GatedNoise * 1000) + $" ({Format.Ratio(1 / t.NoiseSpeedup)}× the time)");
        Row("compute per second of speech", Format.Milliseconds(t.UngatedSpeech * 1000), Format.Milliseconds(t.GatedSpeech * 1000) + $" ({Format.Ratio(1 / t.SpeechSpeedup)}× the time)");
        html.Append("</table>");
        html.Append($"<div style=\"color:#666\">Times: medians of {t.Rounds} rounds, both models alternately on the same recordings, in chunks of " +
                    $"{report.Options.ChunkFrames * 10} ms.</div>");
        html.Append(ChartHtml.Fragment(GatedCharts.SkippedByKind(g)));
        html.Append(Render(g.SpeechExample));
        if (g.NoiseExample is { } noise) html.Append(Render(noise));
        return html.Append("</div>").ToString();
    }

    static string Kind(StreamKind kind) => kind switch
    {
        StreamKind.Speech => "words in noise",
        StreamKind.Noise => "noise only",
        _ => "near-silence",
    };
}
