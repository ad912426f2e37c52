using EfficientML.Audio;
using EfficientML.GatedConformer;
using Plotly.NET;

namespace EfficientML.Interactive.Tests;

public class GatedChartsTests
{
    /// <summary>A made-up 4-second run: 2 blocks (8 modules), 25 gate blocks, one keyword said and heard, one false alarm.</summary>
    static GateRun Run()
    {
        int steps = 100, blocks = 25, modules = 8, classes = 3;
        var posteriors = new float[steps, classes];
        var bounds = new float[steps, 2];
        for (int t = 0; t < steps; t++) posteriors[t, 2] = 1;
        var ran = new bool[modules, blocks];
        for (int j = 10; j < 15; j++) for (int m = 0; m < modules; m++) ran[m, j] = true;
        var output = new StreamOutput(posteriors, bounds, ran, 0.04);
        var events = new List<KeywordEvent> { new("yes", 0, "en+m1", 1.6, 2.2), new("house", 2, "en+m1", 3.0, 3.4) };
        var detections = new List<KeywordDetection> { new(0, "yes", 2.3, 1.65, 2.25, 0.9), new(1, "no", 3.2, 3.0, 3.3, 0.6) };
        var hits = StreamingDetector.Match(detections, events, keywords: 2).Select(m => m >= 0).ToList();
        var score = StreamingDetector.Score(detections, events, 2, 4.0);
        return new GateRun("gated", new float[64000], 16000, events, StreamKind.Speech, ["yes", "no", "_none_"], output, detections, hits, score, TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public void The_raster_draws_modules_words_and_detections_on_one_time_axis()
    {
        var run = Run();
        Assert.Equal([true, false], run.Hits);
        Assert.Equal(1, run.Score.Hits);
        Assert.Equal(1, run.Score.FalseAlarms);
        var json = GenericChart.toChartHTML(GatedCharts.Raster(run));
        Assert.Contains("block 1 · attention", json);
        Assert.Contains("\"yaxis3\"", json);                               // spectrogram, raster, probability
        Assert.Contains("false alarm: 'no' at 3.20 s", json);
        Assert.Contains("hit: 'yes' at 2.30 s", json);
        Assert.Contains("<b>yes</b>", json);                              // the keyword said, in bold
        Assert.Contains("skipped 80%", json);                             // 5 of 25 gate blocks ran
        var html = GatedHtml.Render(run);
        Assert.Contains("1/1 keywords heard, 1 false alarm", html);
        Assert.DoesNotContain("<svg", html);
    }
}
