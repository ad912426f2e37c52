using EfficientML.Clustering;
using EfficientML.Core;
using EfficientML.Routing;

namespace EfficientML.Interactive.Tests;

/// <summary>The notebook's quick variable shortens every magic that trains or sweeps, and the page says so.</summary>
public class QuickModeTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    [Fact]
    public void Shorten_caps_each_budgeted_setting_and_keeps_the_rest()
    {
        var asked = new TrainingOptions { Steps = 300, BatchSize = 16, BlockSize = 256, LearningRate = 7e-4, WarmupSteps = 30, EvalEvery = 25, EvalBatches = null, Seed = 9 };
        var used = QuickMode.Shorten(asked, new TrainingOptions { Steps = 6, BatchSize = 4, BlockSize = 64, WarmupSteps = 2, EvalEvery = 3, EvalBatches = 1 });

        Assert.Equal((6, 4, 64, 2, 3, (int?)1), (used.Steps, used.BatchSize, used.BlockSize, used.WarmupSteps, used.EvalEvery, used.EvalBatches));
        Assert.Equal((7e-4, 9L), (used.LearningRate, used.Seed));
        Assert.Equal(["300 → 6 steps", "16 → 4 sequences per batch", "256 → 64 tokens per sequence", "all → 1 validation batches"],
            QuickMode.Changes(asked, used));
        used.Validate();
    }

    [Fact]
    public void Shorten_leaves_what_already_fits_and_keeps_evaluation_off_when_it_was_off()
    {
        var asked = new TrainingOptions { Steps = 3, BatchSize = 2, BlockSize = 16, WarmupSteps = 0, EvalEvery = 0, EvalBatches = 1 };
        var used = QuickMode.Shorten(asked, QuickMode.Training);

        Assert.Equal(asked, used);
        Assert.Empty(QuickMode.Changes(asked, used));
    }

    [Fact]
    public async Task In_quick_mode_train_runs_the_quick_budget_and_says_so_and_the_full_mode_runs_what_was_asked()
    {
        await Kernel.SucceedAsync($"#!model --name fast {TestKernel.TinyModelOptions}");
        await Kernel.SucceedAsync("bool quick = true;");
        try
        {
            var result = await Kernel.SucceedAsync("#!train --model fast --steps 60 --batch 16 --block 32 --eval-every 20 --run quickRun");
            var run = Assert.IsType<TrainingRun>(TestKernel.ReturnValue(await Kernel.SucceedAsync("quickRun")));
            Assert.Equal(QuickMode.Training.Steps, run.Steps.Count);
            Assert.Equal(QuickMode.Training.BatchSize, run.Options.BatchSize);
            var note = Assert.Single(TestKernel.Html(result), h => h.Contains("efml-quick"));
            Assert.Contains("60 → 20 steps", note);
            Assert.Contains("16 → 8 sequences per batch", note);
            Assert.Contains("quick = false", note);

            await Kernel.SucceedAsync("quick = false;");
            var full = await Kernel.SucceedAsync("#!train --model fast --steps 30 --batch 4 --block 16 --eval-every 0 --run fullRun");
            Assert.Equal(30, Assert.IsType<TrainingRun>(TestKernel.ReturnValue(await Kernel.SucceedAsync("fullRun"))).Steps.Count);
            Assert.DoesNotContain(TestKernel.Html(full), h => h.Contains("efml-quick"));
        }
        finally
        {
            await Kernel.SucceedAsync("quick = false;");
        }
    }

    [Fact]
    public async Task In_quick_mode_cluster_and_route_fine_tune_within_their_experiments_quick_budgets()
    {
        await Kernel.SucceedAsync($"#!model --name squeezed {TestKernel.TinyModelOptions}");
        await Kernel.SucceedAsync("bool quick = true;");
        try
        {
            var clusterBudget = ClusteringExperiments.FineTuning(quick: true);
            var cluster = await Kernel.SucceedAsync("#!cluster --model squeezed --bits 2 --steps 40 --batch 8 --block 32 --eval-every 10 --name squeezed2 --result squeezedResult");
            var compression = Assert.IsType<CompressionResult>(TestKernel.ReturnValue(await Kernel.SucceedAsync("squeezedResult")));
            Assert.Equal(clusterBudget.Steps, compression.Run!.Steps.Count);
            Assert.Contains(TestKernel.Html(cluster), h => h.Contains("efml-quick") && h.Contains($"40 → {clusterBudget.Steps} steps"));

            var routeBudget = RoutingExperiments.FineTuning(quick: true);
            var route = await Kernel.SucceedAsync("#!route --model squeezed --steps 30 --batch 8 --block 32 --eval-every 0 --thetas 0,1 --name squeezedMoe --result squeezedStudy");
            var study = Assert.IsType<RoutingStudy>(TestKernel.ReturnValue(await Kernel.SucceedAsync("squeezedStudy")));
            Assert.Equal(routeBudget.Steps, study.Run.Steps.Count);
            Assert.Contains(TestKernel.Html(route), h => h.Contains("efml-quick") && h.Contains($"30 → {routeBudget.Steps} steps"));
        }
        finally
        {
            await Kernel.SucceedAsync("quick = false;");
        }
    }
}
