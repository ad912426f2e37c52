using System.Text;
using EfficientML.ActiveSpeaker;
using EfficientML.Vision;

namespace EfficientML.Interactive;

/// <summary>Active speaker detection as HTML: a scene, a streamed run, and the (P, F) grid report.</summary>
static class ActiveSpeakerHtml
{
    /// <summary>A scene: who says what, and a strip of its frames.</summary>
    public static string Render(SpeakerScene scene)
    {
        var html = new StringBuilder($"<div style=\"{Html.BlockStyle}\">");
        html.Append($"<div><b>Scene</b>: {Format.Fixed(scene.Options.Seconds, 1)} s, {scene.Options.Faces} faces at {Visemes.FramesPerSecond:0} frames/s; " +
                    $"face {scene.SpeakerFace + 1} speaks with the voice {Html.Encode(scene.Voice)}, and {Html.Encode(scene.OffScreenVoice)} speaks off screen. " +
                    $"{Html.Count(scene.Sentences.Count)} sentences: " +
                    string.Join("; ", scene.Sentences.Select(s => $"{Format.Fixed(s.SpeechStart, 1)}–{Format.Fixed(s.SpeechEnd, 1)} s {(s.Face >= 0 ? $"face {s.Face + 1}" : "off screen")}: “{Html.Encode(s.Text)}”")) +
                    ".</div>");
        html.Append(ChartHtml.Fragment(ActiveSpeakerCharts.FrameStrip(scene)));
        return html.Append("</div>").ToString();
    }

    /// <summary>A streamed run: its scores, what it cost, the frame strip with probabilities, and the curves.</summary>
    public static string Render(SpeakerRun run)
    {
        var s = run.Score;
        var html = new StringBuilder($"<div style=\"{Html.BlockStyle}\">");
        html.Append($"<div><b>{Html.Encode(run.Model)}</b> ({Html.Encode(Describe(run.Config))}) streamed over a new {Format.Fixed(run.Scene.Options.Seconds, 0)} s scene " +
                    $"(voices it never heard): mAP {Html.Percent(s.AveragePrecision)}, frame accuracy {Html.Percent(s.Accuracy)}, " +
                    $"speaking frames found {Html.Percent(s.SpeakerRecall)}; each decision {run.LatencyFrames * 40} ms late; " +
                    $"{Format.Milliseconds(run.MsPerFrame)} per frame of {run.Scene.Options.Faces} faces; {Html.Bytes(run.StateBytes)} kept between frames.</div>");
        html.Append(ChartHtml.Fragment(ActiveSpeakerCharts.FrameStrip(run.Scene, ActiveSpeakerCharts.SpreadFrames(run.Scene, 8), run.Probabilities)));
        html.Append(ChartHtml.Fragment(ActiveSpeakerCharts.Curves(run)));
        html.Append(FalseAlarms(s));
        return html.Append("</div>").ToString();
    }

    static string Describe(ActiveSpeakerConfig c) => c.Temporal == TemporalModel.Gru
        ? "uni-directional GRU"
        : $"transformer, {c.Layers} block{(c.Layers == 1 ? "" : "s")}, {c.Past} past and {c.Future} future frames";

    static string FalseAlarms(SpeakerScores s) =>
        $"<div style=\"color:#666\">Frames called speaking where the face was not: " +
        string.Join(", ", s.FalseAlarms.Select(kv => $"{Html.Encode(Group(kv.Key))} {Html.Percent(kv.Value)}")) + ".</div>";

    static string Group(string key) => key switch
    {
        "OtherSpeech" => "distractors mouthing other sentences",
        "Shifted" => "distractors mouthing the heard sentences shifted",
        "Still" => "still faces",
        _ => key,
    };

    /// <summary>The grid: mAP by (P, F) and the GRU, what the measurements say, and the costs.</summary>
    public static string Render(ContextGridResult r)
    {
        var html = new StringBuilder($"<div style=\"{Html.BlockStyle}\">");
        var o = r.Options;
        html.Append($"<div><b>Context grid</b>: {r.Transformers.Count()} transformers (P ∈ {{{string.Join(", ", o.Pasts)}}}, F ∈ {{{string.Join(", ", o.Futures)}}})" +
                    (r.Gru is null ? "" : " and a uni-directional GRU") + $", each trained for {o.Training.Training.Steps} steps" +
                    (o.Repeats > 1 ? $" with {o.Repeats} seeds ({o.Seed} … {o.Seed + o.Repeats - 1}; mAP is their mean ± sd)" : "") + " on the embeddings of one frame encoder " +
                    $"(trained {o.EncoderTraining.Training.Steps} steps on single frames, then frozen; alone it scores mAP {Html.Percent(r.EncoderAlone.AveragePrecision)}). Test scenes by voices no model heard.</div>");
        html.Append(ChartHtml.Fragment(ActiveSpeakerCharts.GridLines(r)));
        html.Append(ChartHtml.Fragment(ActiveSpeakerCharts.GridHeatMap(r)));
        var (past, future) = r.ContextGains;
        var match = r.SmallestMatchingGru;
        var roof = r.Roofline;
        html.Append("<ul>");
        html.Append($"<li>From P = {o.Pasts.Min()} to {o.Pasts.Max()} past frames, mAP moves by {Signed(past)} points on average over F; from F = {o.Futures.Min()} to {o.Futures.Max()} " +
                    $"future frames, by {Signed(future)} points on average over P: <b>{(past > future ? "past context matters more than future" : "future context matters as much as past or more")}</b> here.</li>");
        if (r.Gru is { } gru)
            html.Append(match is null
                ? $"<li>No transformer of the grid reaches the GRU's mAP ({Html.Percent(gru.MeanAp)}), which remembers the whole past in {Html.Bytes(gru.StateBytes)}.</li>"
                : $"<li>The smallest context that reaches the GRU's mAP ({Html.Percent(gru.MeanAp)}) is {Html.Encode(match.Config.Name)} ({Html.Percent(match.MeanAp)}), " +
                  $"{match.Config.Past + match.Config.Future} frames.</li>");
        html.Append($"<li>One frame of the largest transformer reads {Html.Bytes((long)roof.Bytes)} (weights and ring buffer) and does {Format.Count((long)roof.Flops)} floating-point operations: " +
                    $"{Format.Milliseconds(roof.MemoryMs)} at this machine's measured copy bandwidth ({Format.Fixed(r.CopyGBps, 1)} GB/s), {Format.Milliseconds(roof.ComputeMs)} at its matmul rate " +
                    $"({Format.Fixed(r.MatmulGflops, 0)} GFLOP/s), but it takes {Format.Milliseconds(roof.MeasuredMs)}: " +
                    (roof.MeasuredMs > 5 * Math.Max(roof.MemoryMs, roof.ComputeMs)
                        ? "neither memory nor arithmetic bounds it; the fixed cost of each tensor operation does."
                        : roof.MemoryMs > roof.ComputeMs ? "memory bounds it." : "arithmetic bounds it.") + "</li>");
        html.Append("</ul>");
        html.Append(ChartHtml.Fragment(ActiveSpeakerCharts.GridCosts(r)));
        html.Append($"<table style=\"{Html.TableStyle}\">" + Html.Header("model", "mAP", "accuracy", "speaking found", "false alarms: shifted", "decision delay", "kept per stream", "measured on the heap", "temporal per frame", "whole frame"));
        foreach (var p in r.Points)
            html.Append(Html.Row(Html.Encode(p.Config.Name), Html.Percent(p.MeanAp) + (o.Repeats > 1 ? $" ± {Format.Fixed(100 * p.ApSpread, 1)}" : ""),
                Html.Percent(p.Mean(t => t.Accuracy)), Html.Percent(p.Mean(t => t.SpeakerRecall)),
                Html.Percent(p.Mean(t => t.FalseAlarms.GetValueOrDefault("Shifted"))), $"{p.DelayMs:0} ms", Html.Bytes(p.StateBytes),
                p.MeasuredBytes is { } measured ? Html.Bytes(measured) : "—",
                Format.Milliseconds(p.TemporalMs), Format.Milliseconds(p.FrameMs)));
        html.Append("</table>");
        html.Append($"<div style=\"color:#666\">Times: medians over {o.TimingFrames} frames, every model one frame in turn, on one test scene of {r.Faces} faces.</div>");
        return html.Append("</div>").ToString();
    }

    static string Signed(double share) => (share >= 0 ? "+" : "−") + Format.Fixed(Math.Abs(100 * share), 1);
}
