using EfficientML.Cloning;
using EfficientML.Core;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Events;

namespace EfficientML.Interactive.Tests;

public class RaceMagicTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    [Fact]
    public async Task Race_shares_the_result_first_draws_one_live_chart_and_ends_with_the_summary()
    {
        await Kernel.SucceedAsync($"#!model --name runner {TestKernel.TinyModelOptions} --seed 1");
        await Kernel.SucceedAsync($"#!model --name pacer {TestKernel.TinyModelOptions} --seed 2");
        var result = await Kernel.SucceedAsync("#!race --challenger runner --baseline pacer --steps 6 --batch 2 --block 16 --eval-every 3 --race sprint");

        var race = Assert.IsType<RaceResult>(TestKernel.ReturnValue(await Kernel.SucceedAsync("sprint")));
        Assert.Same(Kernel.Session.LastRace, race);
        foreach (var run in new[] { race.Challenger, race.Baseline })
        {
            Assert.Equal(TrainingOutcome.Completed, run.Outcome);
            Assert.Equal(6, run.Steps.Count);
            Assert.Equal(new[] { 0, 3, 6 }, run.Evaluations.Select(e => e.Step));
        }
        Assert.Equal("runner", race.Challenger.Name);
        Assert.Equal("pacer", race.Baseline.Name);

        var shown = Assert.Single(result.Events.OfType<DisplayedValueProduced>());
        var first = shown.FormattedValues.Single(v => v.MimeType == "text/html").Value;
        Assert.Contains("efml-runs", first);
        var updates = result.Events.OfType<DisplayedValueUpdated>().ToList();
        Assert.NotEmpty(updates);
        Assert.All(updates, u => Assert.Equal(shown.ValueId, u.ValueId));
        var final = updates[^1].FormattedValues.Single(v => v.MimeType == "text/html").Value;
        Assert.Contains("efml-race-result", final);
        Assert.Contains("steps to the mark", final);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(race.Summary), final);
    }

    [Fact]
    public async Task Cancelling_a_race_stops_both_runs_and_the_kernel_keeps_working()
    {
        await Kernel.SucceedAsync($"#!model --name hare {TestKernel.TinyModelOptions} --seed 1");
        await Kernel.SucceedAsync($"#!model --name tortoise {TestKernel.TinyModelOptions} --seed 2");
        var racing = Task.Run(() => Kernel.SubmitAsync("#!race --challenger hare --baseline tortoise --steps 100000 --batch 2 --block 16 --eval-every 0 --race endless"));
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while ((Kernel.Session.LastRace is not { } running || running.Challenger.Name != "hare" ||
                running.Challenger.Steps.Count < 3 || running.Baseline.Steps.Count < 3) && waited.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(20);
        var race = Kernel.Session.LastRace!;

        await Kernel.Root.SendAsync(new Cancel());
        await racing.WaitAsync(TimeSpan.FromSeconds(60));
        waited.Restart();
        while ((race.Challenger.Outcome == TrainingOutcome.Running || race.Baseline.Outcome == TrainingOutcome.Running) && waited.Elapsed < TimeSpan.FromSeconds(30))
            await Task.Delay(10);

        Assert.Equal(TrainingOutcome.Cancelled, race.Challenger.Outcome);
        Assert.Equal(TrainingOutcome.Cancelled, race.Baseline.Outcome);
        Assert.True(race.Challenger.Steps.Count < 100000);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
    }

    [Theory]
    [InlineData("--challenger narrow --baseline broad", "A race compares models of the same shape")]
    [InlineData("--challenger narrow --baseline narrow", "--challenger and --baseline are the same model ('narrow')")]
    [InlineData("--challenger narrow", "#!race needs both --challenger NAME and --baseline NAME")]
    [InlineData("--challenger narrow --baseline nobody", "No model named 'nobody'")]
    [InlineData("--challenger narrow --baseline twin --steps 0", "--steps must be 1 to 10,000,000 (got 0)")]
    [InlineData("--challenger narrow --baseline twin --block 64", "--block 64 is longer than the model's context of 32 tokens")]
    [InlineData("--challenger narrow --baseline twin --race 1st", "--race '1st' is not a usable C# variable name")]
    public async Task A_bad_race_gives_one_clear_error_and_the_kernel_keeps_working(string options, string expected)
    {
        await Kernel.SucceedAsync($"#!model --name narrow {TestKernel.TinyModelOptions}");
        await Kernel.SucceedAsync($"#!model --name twin {TestKernel.TinyModelOptions}");
        await Kernel.SucceedAsync("#!model --name broad --layers 1 --dim 32 --heads 2 --mlp 32 --context 32");
        var message = TestKernel.SingleFailure(await Kernel.SubmitAsync($"#!race {options}"));
        Assert.Contains(expected, message);
        Assert.DoesNotContain("   at ", message);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
    }

    [Theory]
    [InlineData("#!race --challenger ")]
    [InlineData("#!race --challenger a --baseline ")]
    public async Task Model_names_complete_after_the_race_options(string code)
    {
        await Kernel.SucceedAsync($"#!model --name racer {TestKernel.TinyModelOptions}");
        var result = await Kernel.Root.SendAsync(new RequestCompletions(code, new LinePosition(0, code.Length)));
        var names = result.Events.OfType<CompletionsProduced>().Single().Completions.Select(c => c.DisplayText).ToList();
        Assert.Contains("racer", names);
    }
}
