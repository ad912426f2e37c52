using EfficientML.Prefill;
using Plotly.NET;

namespace EfficientML.Interactive.Tests;

public class PrefillChartsTests
{
    /// <summary>A made-up KV-Runahead of 2 layers over 2 workers: worker 1 waits for worker 0's hand-off of each layer.</summary>
    static PrefillSummary Summary(int length = 64, double scale = 1, PrefillMethod method = PrefillMethod.Runahead) => new(
        method, "in-process", [40, length - 40], 0.010 * scale,
        [
            new TimelineEvent(0, 0, Activity.Compute, 0.000, 0.002), new TimelineEvent(0, 0, Activity.Send, 0.002, 0.0025, 40_960),
            new TimelineEvent(0, 1, Activity.Compute, 0.0025, 0.0045), new TimelineEvent(0, 1, Activity.Send, 0.0045, 0.005, 40_960),
            new TimelineEvent(1, 0, Activity.Wait, 0.000, 0.0025), new TimelineEvent(1, 0, Activity.Compute, 0.0025, 0.005),
            new TimelineEvent(1, 1, Activity.Compute, 0.005, 0.0075), new TimelineEvent(1, -1, Activity.Compute, 0.0075, 0.010 * scale),
        ],
        81_920, 101, 2e-6, 1e-6);

    [Fact]
    public void The_timeline_has_one_row_per_worker_and_one_trace_per_activity()
    {
        var json = GenericChart.toChartHTML(PrefillCharts.Timeline(Summary()));
        foreach (var name in new[] { "\"name\":\"compute\"", "\"name\":\"wait\"", "\"name\":\"send\"" }) Assert.Contains(name, json);
        Assert.Contains("\"base\"", json);
        Assert.Contains("worker 1 (24 tok)", json);
        Assert.Contains("send · layer 1: 4.500–5.000 ms (0.500 ms), 41 KB", json);
        Assert.Contains("compute · embeddings / head", json);
        Assert.Contains("\"autorange\":\"reversed\"", json);
        Assert.Contains("first token after 10.0 ms", json);
    }

    [Fact]
    public void Time_to_first_token_is_columns_for_one_length_and_lines_over_several()
    {
        var race = PrefillCharts.TimeToFirstToken([Summary(method: PrefillMethod.Single), Summary(method: PrefillMethod.AllGather), Summary()]);
        var raceJson = GenericChart.toChartHTML(race);
        Assert.Contains("Time to first token, 64-token prompt", raceJson);
        Assert.Contains("\"type\":\"bar\"", raceJson);
        Assert.Contains("all-gather (2)", raceJson);

        var sweep = GenericChart.toChartHTML(PrefillCharts.TimeToFirstToken([Summary(64), Summary(128, 2), Summary(256, 4), Summary(128, 3, PrefillMethod.AllGather), Summary(256, 5, PrefillMethod.AllGather)]));
        Assert.Contains("KV-Runahead (in-process)", sweep);
        Assert.Contains("all-gather (in-process)", sweep);
        Assert.Contains("\"x\":[64,128,256]", sweep);
        Assert.Contains("\"y\":[10.0,20.0,40.0]", sweep);
    }

    [Fact]
    public void The_partition_chart_marks_the_best_and_even_candidates()
    {
        var costs = new PartitionCostModel(1e-9, 1e-6, 1e-5, 1e10, 20e-6, 2, 1024);
        var even = new PartitionCandidate([32, 32], costs.Predict([32, 32]), 0.010, 0);
        var best = new PartitionCandidate([40, 24], costs.Predict([40, 24]), 0.008, 1);
        var other = new PartitionCandidate([48, 16], costs.Predict([48, 16]), 0.009, 1);
        var search = new PartitionSearchResult(2, 64, [even, best, other], best, even, costs);
        var json = GenericChart.toChartHTML(PrefillCharts.Partition(search));
        foreach (var name in new[] { "predicted (cost model)", "\"name\":\"measured\"", "\"name\":\"even chunks\"", "\"name\":\"best\"" }) Assert.Contains(name, json);
        Assert.Contains("best [40, 24], 20% faster than even", json);
        Assert.Contains("[48, 16] (level 1)", json);
        Assert.Contains("\"symbol\":\"star\"", json);
        var html = PrefillHtml.Render(search);
        Assert.Contains("3 partitions measured", html);
        Assert.Contains("<span style=\"white-space:nowrap\">[40, 24]</span>", html);
    }

    [Fact]
    public void A_summary_renders_a_short_table_and_its_timeline()
    {
        var html = PrefillHtml.Render(Summary());
        Assert.Contains("Δ logits vs single", html);
        Assert.Contains("101 ('e')", html);
        Assert.Contains("81.9 KB", html);
        Assert.Contains("10.0 ms", html);
        Assert.Contains("2.00e-6", html);
        Assert.DoesNotContain("<svg", html);
        var plain = PrefillHtml.Render(Summary(method: PrefillMethod.Single) with { MaxLogitDifference = null, MaxCacheDifference = null });
        Assert.Contains(">—</td>", plain);                               // no differences without a reference
        var race = PrefillHtml.Render(new PrefillRace([Summary(method: PrefillMethod.Single), Summary()]));
        Assert.Contains("Prefill race</b>: single, KV-Runahead on the same 64-token prompt (in-process)", race);
    }
}
