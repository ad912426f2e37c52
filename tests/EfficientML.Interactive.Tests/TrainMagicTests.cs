using System.Diagnostics;
using EfficientML.Core;
using EfficientML.Models;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Events;
using Xunit.Abstractions;

namespace EfficientML.Interactive.Tests;

public class TrainMagicTests(KernelFixture fixture, ITestOutputHelper output) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    [Fact]
    public async Task Train_magic_updates_the_chart_in_place_and_shares_the_run()
    {
        await Kernel.SucceedAsync($"#!model --name live {TestKernel.TinyModelOptions}");
        var clock = Stopwatch.StartNew();
        var result = await Kernel.SucceedAsync("#!train --model live --steps 40 --batch 4 --block 32 --eval-every 10 --run liveRun");
        clock.Stop();

        var shown = Assert.Single(result.Events.OfType<DisplayedValueProduced>());
        var updates = result.Events.OfType<DisplayedValueUpdated>().ToList();
        Assert.NotEmpty(updates);
        Assert.All(updates, u => Assert.Equal(shown.ValueId, u.ValueId));
        // Throttled: a few per second at most, plus the final update.
        Assert.InRange(updates.Count, 1, (int)(clock.Elapsed / TrainMagic.UpdateInterval) + 2);
        var final = updates[^1].FormattedValues.Single(v => v.MimeType == "text/html").Value;
        Assert.Contains("completed", final);
        Assert.Contains("40 of 40 steps", final);
        Assert.Contains("Plotly.newPlot", final);

        var run = Assert.IsType<TrainingRun>(TestKernel.ReturnValue(await Kernel.SucceedAsync("liveRun")));
        Assert.Same(Kernel.Session.LastRun, run);
        Assert.Equal(TrainingOutcome.Completed, run.Outcome);
        Assert.Equal(40, run.Steps.Count);
        Assert.Equal(4, run.Evaluations.Count);
        Assert.True(run.Steps[^1].Loss < run.Steps[0].Loss, "the loss goes down");
    }

    [Fact]
    public async Task Train_magic_trains_a_model_made_in_csharp()
    {
        await Kernel.SucceedAsync("var mine = new EfficientML.Models.TinyGpt(new EfficientML.Models.TinyGptConfig { Layers = 1, Dim = 16, Heads = 2, KvHeads = 2, MlpDim = 32, ContextLength = 32 }, seed: 5);");
        await Kernel.SucceedAsync("#!train --model mine --steps 2 --batch 2 --block 16");
        var fromCode = TestKernel.ReturnValue(await Kernel.SucceedAsync("mine"));
        Assert.Same(Kernel.Model("mine"), fromCode);
        Assert.Equal(2, Kernel.Session.LastRun!.Steps.Count);
    }

    [Fact]
    public async Task A_diverged_run_fails_the_cell_and_leaves_finite_weights()
    {
        await Kernel.SucceedAsync($"#!model --name wild {TestKernel.TinyModelOptions}");
        var result = await Kernel.SubmitAsync("#!train --model wild --steps 200 --lr 1e6 --warmup 0 --batch 2 --block 16 --eval-every 0");
        var run = Kernel.Session.LastRun!;
        Assert.Equal(TrainingOutcome.Diverged, run.Outcome);
        var message = TestKernel.SingleFailure(result);
        Assert.Contains("Training 'wild' diverged", message);
        Assert.Contains("Lower the learning rate", message);
        Assert.DoesNotContain("   at ", message);
        var final = TestKernel.Html(result)[^1]; // the chart stays, marked
        Assert.Contains("diverged", final);
        Assert.True(EfficientML.Core.ModelHealth.IsFinite(Kernel.Model("wild")));
        await Kernel.SucceedAsync("1 + 1");
    }

    [Fact]
    public async Task Cancelling_train_stops_within_one_step_and_the_model_still_generates()
    {
        await Kernel.SucceedAsync("#!model --name stoppable --layers 2 --dim 64 --heads 4 --context 64");
        var training = Task.Run(() => Kernel.SubmitAsync("#!train --model stoppable --steps 100000 --batch 8 --block 64 --eval-every 0 --run stopped"));
        var waited = Stopwatch.StartNew();
        while ((Kernel.Session.LastRun is not { } running || running.Steps.Count < 3 || running.Name != "stoppable") && waited.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(20);
        var run = Kernel.Session.LastRun!;
        int before = run.Steps.Count;

        await Kernel.Root.SendAsync(new Cancel());
        int atCancel = run.Steps.Count;
        await training.WaitAsync(TimeSpan.FromSeconds(60));
        // The kernel answers the interrupt at once; the step in flight finishes, then the trainer stops.
        waited.Restart();
        while (run.Outcome == TrainingOutcome.Running && waited.Elapsed < TimeSpan.FromSeconds(30))
            await Task.Delay(10);

        output.WriteLine($"steps: {before} before the request, {atCancel} when the kernel answered it, {run.CancelRequestedAfter} when the cell's token fired, {run.Steps.Count} at the end");
        Assert.Equal(TrainingOutcome.Cancelled, run.Outcome);
        // Once the cell's token fires (the kernel does that a moment after answering the interrupt, on its own
        // schedule), the step in flight finishes and no other starts.
        Assert.NotNull(run.CancelRequestedAfter);
        Assert.InRange(run.Steps.Count, run.CancelRequestedAfter!.Value, run.CancelRequestedAfter.Value + 1);
        Assert.True(run.CancelRequestedAfter >= before);
        var model = Kernel.Model("stoppable");
        Assert.False(model.training, "left in eval mode for generation");
        var tokens = model.Generate(EfficientML.Text.ByteTokenizer.Instance.Encode("Call me"), new GenerationOptions { MaxNewTokens = 8 });
        Assert.Equal(8, tokens.Length);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
    }

    [Fact]
    public async Task Fifty_train_runs_keep_resident_memory_within_ten_percent_of_the_first()
    {
        await Kernel.SucceedAsync($"#!model --name memory {TestKernel.TinyModelOptions}");
        const string train = "#!train --model memory --steps 10 --batch 4 --block 32 --eval-every 5 --run memoryRun";
        await Kernel.SucceedAsync(train);
        long first = ResidentBytes();
        var clock = Stopwatch.StartNew();
        for (int i = 2; i <= 50; i++)
        {
            var result = await Kernel.SubmitAsync(train);
            TestKernel.AssertSucceeded(result);
        }
        long last = ResidentBytes();
        double change = (last - first) / (double)first;
        var message = $"resident memory after run 1: {first / 1048576.0:F1} MB; after run 50: {last / 1048576.0:F1} MB; change {change:P1}; 49 runs in {clock.Elapsed.TotalSeconds:F1} s";
        output.WriteLine(message);
        // Growth is the failure; memory may also shrink, as each run hands freed C-heap pages back (NativeHeap.Trim).
        Assert.True(change <= 0.10, message);
    }

    static long ResidentBytes()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}
