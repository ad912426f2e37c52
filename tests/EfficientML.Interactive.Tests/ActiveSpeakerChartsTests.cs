using EfficientML.ActiveSpeaker;
using EfficientML.Audio;
using EfficientML.Core;
using EfficientML.Vision;
using Plotly.NET;

namespace EfficientML.Interactive.Tests;

public class ActiveSpeakerChartsTests
{
    static SpeakerScene Scene() => SpeakerScene.Build(SpeechSynthesizer.Open(), new Speaker("en-us", "m3", 50, 170), new Speaker("en", "f2", 60, 160),
        new SceneOptions { Seconds = 4, Faces = 3, Seed = 4, OffScreenShare = 0.5 });

    [Fact]
    public void The_frame_strip_draws_every_face_at_every_chosen_frame_with_its_probability_bar_and_the_speaker_framed()
    {
        var scene = Scene();
        var frames = new[] { 10, 50, 90 };
        var probabilities = Enumerable.Range(0, 3).Select(f => Enumerable.Repeat(0.25f * (f + 1), scene.FrameCount).ToArray()).ToList();
        var json = GenericChart.toChartHTML(ActiveSpeakerCharts.FrameStrip(scene, frames, probabilities));
        Assert.Contains("face 1", json);
        Assert.Contains(ActiveSpeakerCharts.Role(scene, scene.SpeakerFace), json);
        Assert.Contains("0.75", json);                                      // face 3's bar, written on it
        Assert.Contains("0.40 s", json);                                    // frame 10's time
        int speaking = frames.Count(t => scene.Speaking[scene.SpeakerFace][t]);
        int rects = System.Text.RegularExpressions.Regex.Matches(json, "\"type\":\"rect\"").Count;
        Assert.Equal(3 * frames.Length * 2 + speaking, rects);             // a bar and its track under each crop, a frame around each speaking one
        Assert.Contains("speaker", ActiveSpeakerHtml.Render(scene));
    }

    [Fact]
    public void The_curves_give_each_face_a_panel_over_one_time_axis_with_the_sentences_marked()
    {
        var scene = Scene();
        var probabilities = Enumerable.Range(0, 3).Select(_ => new float[scene.FrameCount]).ToList();
        var run = new SpeakerRun("m", new ActiveSpeakerConfig { Past = 8, Future = 2 }, scene, probabilities,
            new SpeakerScores(0.5, 0.9, 0.3, 0.4, new Dictionary<string, double> { ["Shifted"] = 0.1 }), 0.5, 1234);
        var json = GenericChart.toChartHTML(ActiveSpeakerCharts.Curves(run));
        Assert.Contains("\"yaxis3\"", json);
        Assert.Contains("\"anchor\":\"y3\"", json);                         // the time axis under the bottom panel
        foreach (var s in scene.Sentences) Assert.Contains(s.Text, json);
        Assert.Contains(scene.Sentences.Any(s => s.Face < 0) ? "off screen:" : "face", json);
        var html = ActiveSpeakerHtml.Render(run);
        Assert.Contains("each decision 80 ms late", html);
        Assert.Contains("shifted 10%", html);
    }

    [Fact]
    public void The_band_lights_P_past_and_F_future_frames_of_each_row()
    {
        var json = GenericChart.toChartHTML(ActiveSpeakerCharts.Band(12, 3, 1));
        Assert.Contains("P = 3, F = 1", json);
        Assert.Contains("[0.0,0.0,0.0,1.0,1.0,1.0,1.0,1.0,0.0,0.0,0.0,0.0]", json);   // row 6 sees frames 3 … 7
    }

    [Fact]
    public void The_grid_report_reads_past_against_future_and_the_smallest_context_that_matches_the_GRU()
    {
        var options = new ContextGridOptions { Pasts = [0, 8], Futures = [0, 2], Repeats = 2 };
        var aps = new Dictionary<(int, int), double> { [(0, 0)] = 0.5, [(0, 2)] = 0.55, [(8, 0)] = 0.8, [(8, 2)] = 0.82 };
        // Two seeds per model, 0.02 either side of the mean.
        SpeakerScores Score(double ap) => new(ap, 0.9, 0.2, 0.7, new Dictionary<string, double> { ["Shifted"] = 0.05 });
        ContextGridPoint Point(ActiveSpeakerConfig c, double ap) => new(c, [Score(ap - 0.02), Score(ap + 0.02)],
            0.4, 0.2, c.Temporal == TemporalModel.Gru ? 256 : 1024L * (c.Past + c.Future + 1), 1000,
            [new TrainingRun(c.Name, new TrainingOptions(), 1), new TrainingRun(c.Name, new TrainingOptions(), 1)], new ActiveSpeakerModel(c));
        var points = ContextGrid.Configs(options).Select(c => Point(c, c.Temporal == TemporalModel.Gru ? 0.81 : aps[(c.Past, c.Future)])).ToList();
        using var result = new ContextGridResult(options, points, new TrainingRun("encoder", new TrainingOptions(), 1), points[0].Test, 3, 50, 20);
        Assert.Equal((0.285, 0.035), (Math.Round(result.ContextGains.Past, 3), Math.Round(result.ContextGains.Future, 3)));
        Assert.Equal("P8 F2", result.SmallestMatchingGru!.Config.Name);
        var html = ActiveSpeakerHtml.Render(result);
        Assert.Contains("past context matters more than future", html);
        Assert.Contains("The smallest context that reaches the GRU's mAP", html);
        Assert.Contains("+28.5 points", html);
        Assert.Contains("82% ± 2.8", html);                                // mean ± sd over the two seeds
        Assert.Equal(0.02 * Math.Sqrt(2), points[3].ApSpread, 10);
        var heat = GenericChart.toChartHTML(ActiveSpeakerCharts.GridHeatMap(result));
        Assert.Contains("the GRU: 81.0", heat);
        Assert.Contains("\"82.0\"", heat);
        var lines = GenericChart.toChartHTML(ActiveSpeakerCharts.GridLines(result));
        Assert.Contains("uni-directional GRU", lines);
        Assert.Contains("\"error_y\"", lines);
        Assert.Contains("KiB kept", GenericChart.toChartHTML(ActiveSpeakerCharts.GridCosts(result)));
    }
}
