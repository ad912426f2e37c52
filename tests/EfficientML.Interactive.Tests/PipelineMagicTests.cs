using System.Diagnostics;
using EfficientML.Core;
using EfficientML.Interactive.Scripting;
using EfficientML.Models;
using EfficientML.Pipeline;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Events;
using TorchSharp;

namespace EfficientML.Interactive.Tests;

public class PipelineMagicTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    /// <summary>Two layers (the decode step drafts with the first), otherwise as small as <see cref="TestKernel.TinyModelOptions"/>.</summary>
    const string TwoLayers = "--layers 2 --dim 16 --heads 2 --mlp 32 --context 32";

    /// <summary>Few tokens per speed measurement: every step is measured, so this is most of a run's time on a tiny model.</summary>
    const string FewTokens = "--tokens 6";

    bool Declared(string name) => Kernel.CSharp.TryGetValue<object>(name, out _);

    DeploymentPipeline Pipeline(string name) =>
        Assert.IsType<DeploymentPipeline>(Kernel.CSharp.TryGetValue<object>(name, out var value) ? value : null);

    static Dictionary<string, torch.Tensor> Weights(TinyGpt model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    static void AssertUnchanged(Dictionary<string, torch.Tensor> before, TinyGpt model)
    {
        foreach (var (name, p) in model.named_parameters())
        {
            using var equal = p.eq(before[name]).all();
            Assert.True(equal.item<bool>(), $"{name} of the starting model changed");
        }
    }

    static string Html(DisplayEvent e) => e.FormattedValues.Single(v => v.MimeType == "text/html").Value;

    /// <summary>Runs <paramref name="body"/> with the notebook in quick mode, and leaves it out of quick mode.</summary>
    async Task Quick(Func<Task> body)
    {
        await Kernel.SucceedAsync("bool quick = true;");
        try { await body(); }
        finally { await Kernel.SucceedAsync("quick = false;"); }
    }

    [Fact]
    public async Task Pipeline_runs_every_step_in_quick_mode_and_shows_the_chart_table_invariants_interactions_and_card() => await Quick(async () =>
    {
        await Kernel.SucceedAsync($"#!model --name whole {TwoLayers}");
        var before = Weights(Kernel.Model("whole"));

        var result = await Kernel.SucceedAsync($"#!pipeline --from whole --name full {FewTokens}");

        var pipeline = Pipeline("full");
        Assert.Equal(PipelineSteps.Names, pipeline.State.Done);
        Assert.Equal(["start", .. PipelineSteps.Names], pipeline.Measurements.Select(m => m.Step));
        Assert.Empty(pipeline.Remaining);
        Assert.Equal(PipelineOptions.For(quick: true).Training.Steps, pipeline.Options.Training.Steps);
        Assert.Equal(6, pipeline.Options.DecodeTokens);
        AssertUnchanged(before, Kernel.Model("whole"));
        // The composed model is registered and shared, a copy of the pipeline's (grown ×2) target.
        var composed = Kernel.Model("full_model");
        Assert.NotSame(pipeline.State.Target, composed);
        Assert.Equal(32, composed.Config.Dim);
        Assert.Contains("Composed model: a 2-layer, width-32 TinyGpt",
            Assert.IsType<string>(TestKernel.ReturnValue(await Kernel.SucceedAsync("full.Card().ToString()"))));

        var html = TestKernel.Html(result);
        var note = Assert.Single(html, h => h.Contains("efml-quick"));
        Assert.Contains("200 → 6 training steps", note);
        // Two outputs, each updated in place: the status line with the step's training, then the chart and table.
        var shown = result.Events.OfType<DisplayedValueProduced>().Where(e => !Html(e).Contains("efml-quick")).ToList();
        Assert.Equal(2, shown.Count);
        Assert.Contains("efml-pipeline-live", Html(shown[0]));
        var updates = result.Events.OfType<DisplayedValueUpdated>().ToList();
        Assert.Contains(updates, u => u.ValueId == shown[0].ValueId && Html(u).Contains("efml-run"));        // a live training chart
        var tables = updates.Where(u => u.ValueId == shown[1].ValueId).Select(Html).ToList();
        Assert.Contains("efml-pipeline-steps", Html(shown[1]));
        // One row more with each measurement; the last update is the whole pipeline.
        var rows = tables.Where(t => !t.Contains("efml-pipeline-card")).Select(t => t.Split("<tr><td").Length - 1).ToList();
        Assert.Equal(rows.Order(), rows);
        Assert.Equal(PipelineSteps.Names.Count + 1, rows[^1]);                                      // the start's row and one per step
        var final = tables[^1];
        foreach (var part in new[] { "efml-pipeline-table", "efml-pipeline-invariants", "efml-pipeline-drafts", "efml-pipeline-race", "efml-pipeline-routing", "efml-pipeline-card" })
            Assert.Contains(part, final);
        var figures = RoutingChartsTests.Figures(final);
        Assert.StartsWith("Quality vs decoding speed", RoutingChartsTests.Title(figures[0]));
        Assert.Equal(8, RoutingChartsTests.Numbers(RoutingChartsTests.Traces(figures[0])[0], "x").Count);
        var done = updates.Last(u => u.ValueId == shown[0].ValueId);
        Assert.Contains("efml-pipeline-done", Html(done));
    });

    [Fact]
    public async Task Resume_continues_the_same_pipeline_with_the_steps_given_or_those_left() => await Quick(async () =>
    {
        await Kernel.SucceedAsync($"#!model --name resumable {TwoLayers}");
        await Kernel.SucceedAsync($"#!pipeline --from resumable --name staged --steps grow,train {FewTokens}");
        var pipeline = Pipeline("staged");
        Assert.Equal(["start", "grow", "train"], pipeline.Measurements.Select(m => m.Step));
        var firstModel = Kernel.Model("staged_model");

        var result = await Kernel.SucceedAsync("#!pipeline --name staged --resume --steps draft");

        Assert.Same(pipeline, Pipeline("staged"));
        Assert.Equal(["start", "grow", "train", "draft"], pipeline.Measurements.Select(m => m.Step));
        Assert.Equal(["route", "cluster", "decode", "export"], pipeline.Remaining);
        Assert.NotSame(firstModel, Kernel.Model("staged_model"));
        Assert.Contains("--resume", TestKernel.Html(result).Last(h => h.Contains("efml-pipeline-done")));

        // An order the steps run so far rule out, and a step run already: one message each, the pipeline as it was.
        Assert.Contains("Step 'grow' has already run on this model", TestKernel.SingleFailure(await Kernel.SubmitAsync("#!pipeline --name staged --resume --steps grow")));
        Assert.Equal(4, pipeline.Measurements.Count);
        Assert.Contains("set when a pipeline starts", TestKernel.SingleFailure(await Kernel.SubmitAsync("#!pipeline --name staged --resume --grow 4 --bits 3")));
    });

    [Fact]
    public async Task A_new_pipeline_under_the_same_name_replaces_the_old_one()
    {
        await Kernel.SucceedAsync($"#!model --name again {TestKernel.TinyModelOptions}");
        await Kernel.SucceedAsync($"#!pipeline --from again --name twice --steps grow {FewTokens}");
        var first = Pipeline("twice");
        await Kernel.SucceedAsync($"#!pipeline --from again --name twice --steps grow --grow 3 {FewTokens}");
        var second = Pipeline("twice");
        Assert.NotSame(first, second);
        Assert.Equal(48, second.State.Target.Config.Dim);
        Assert.Equal(48, Kernel.Model("twice_model").Config.Dim);
    }

    [Theory]
    [InlineData("--steps cluster,grow", "Step 'grow' cannot come after 'cluster'")]
    [InlineData("--steps grow,shrink", "--steps grow,shrink: There is no pipeline step 'shrink'. The steps are grow, train, draft, route, cluster, decode, export.")]
    [InlineData("--skip export,nothing", "--skip export,nothing: There is no pipeline step 'nothing'")]
    [InlineData("--steps grow,,train", "--steps takes names separated by commas")]
    [InlineData("--steps grow,grow", "Step 'grow' is listed twice")]
    [InlineData("--steps export,train", "Step 'train' comes after 'export'")]
    [InlineData("--steps grow --skip train", "--skip leaves steps out of the default list, and --steps gives the list itself")]
    [InlineData("--skip grow,train,draft,route,cluster,decode,export", "leaves no step to run")]
    [InlineData("--bits 0", "--bits must be 1 to 8 (got 0)")]
    [InlineData("--bits four", "--bits takes a whole number (1 to 8) (got 'four')")]
    [InlineData("--grow 1", "--grow must be 2 to 8 (got 1): HyperCloning multiplies every width by it")]
    [InlineData("--budget 2", "--budget must be 0 to 1 (got 2)")]
    [InlineData("--train-steps 0", "--train-steps must be 1 to 10,000,000 (got 0)")]
    [InlineData("--tokens -3", "--tokens must be 1 to 100,000 (got -3)")]
    [InlineData("--name 2nd", "--name '2nd' is not a usable C# variable name")]
    public async Task A_bad_pipeline_option_gives_one_clear_error_and_the_kernel_keeps_working(string options, string expected)
    {
        await Kernel.SucceedAsync($"#!model --name shallow {TestKernel.TinyModelOptions}");
        var message = TestKernel.SingleFailure(await Kernel.SubmitAsync($"#!pipeline --from shallow {options}"));
        Assert.Contains(expected, message);
        Assert.DoesNotContain("   at ", message);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
        Assert.False(Declared("pipeline"), "nothing is declared after an error");
        Assert.False(Declared("pipeline_model"), "nothing is declared after an error");
    }

    [Theory]
    [InlineData("--resume --name nothere", "There is no pipeline named 'nothere' to resume. Start it first with #!pipeline --name nothere (without --resume)")]
    [InlineData("--resume --name nothere --grow 3", "There is no pipeline named 'nothere' to resume")]
    [InlineData("--resume --name 2nd", "--name '2nd' is not a usable C# variable name")]
    public async Task Resuming_a_pipeline_that_does_not_exist_gives_one_clear_error(string options, string expected)
    {
        var message = TestKernel.SingleFailure(await Kernel.SubmitAsync($"#!pipeline {options}"));
        Assert.Contains(expected, message);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
        Assert.False(Declared("nothere"));
    }

    [Fact]
    public async Task An_unknown_model_gives_one_clear_error()
    {
        var message = TestKernel.SingleFailure(await Kernel.SubmitAsync("#!pipeline --from nobody --name lost"));
        Assert.Contains("No model named 'nobody'. Create it first with #!model --name nobody", message);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
        Assert.False(Declared("lost"));
    }

    [Fact]
    public async Task Cancelling_the_pipeline_stops_it_declares_nothing_and_the_kernel_keeps_working()
    {
        await Kernel.SucceedAsync($"#!model --name patient {TestKernel.TinyModelOptions}");
        var before = Weights(Kernel.Model("patient"));
        var lastRun = Kernel.Session.LastRun;
        var running = Task.Run(() => Kernel.SubmitAsync($"#!pipeline --from patient --name never --steps train --train-steps 100000 {FewTokens}"));
        var waited = Stopwatch.StartNew();
        while ((Kernel.Session.LastRun is not { } run || ReferenceEquals(run, lastRun) || run.Steps.Count < 3) && waited.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(20);
        var training = Kernel.Session.LastRun!;

        await Kernel.Root.SendAsync(new Cancel());
        await running.WaitAsync(TimeSpan.FromSeconds(60));
        await Kernel.Session.TrainingGate.WaitAsync(TimeSpan.FromSeconds(60));
        Kernel.Session.TrainingGate.Release();

        Assert.Equal(TrainingOutcome.Cancelled, training.Outcome);
        Assert.True(training.Steps.Count < 100000);
        Assert.False(Declared("never"), "an interrupted pipeline is not kept");
        Assert.False(Declared("never_model"));
        AssertUnchanged(before, Kernel.Model("patient"));
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
        Assert.Contains("There is no pipeline named 'never'", TestKernel.SingleFailure(await Kernel.SubmitAsync("#!pipeline --name never --resume")));
    }

    [Fact]
    public async Task The_csharp_equivalent_compiles_and_does_what_the_magic_does() => await Quick(async () =>
    {
        var code = MagicTranslation.ToCSharp($"#!pipeline --from scripted --name cs --steps grow,train --grow 3 --train-steps 4 {FewTokens}");
        Assert.Equal(
            "var cs = new DeploymentPipeline(scripted, MobyDickCorpus.Get(), PipelineOptions.For(quick) with { GrowFactor = 3, " +
            "Training = QuickMode.Apply(\"#!pipeline\", PipelineOptions.For(false).Training with { Steps = 4, WarmupSteps = 0 }, " +
            "PipelineOptions.For(true).Training, quick), " +
            "DecodeTokens = quick ? Math.Min(6, PipelineOptions.For(true).DecodeTokens) : 6 });\n" +
            "cs.Run([\"grow\", \"train\"], progress: LiveView.Following(everyRun: true));\n" +
            "var cs_model = cs.State.Target.Copy();\n" +
            "display(cs);", code);
        await Kernel.SucceedAsync($"#!model --name scripted {TwoLayers}");

        // A notebook's first cells import the extension's and the library's namespaces, as exported scripts do.
        var result = await Kernel.SucceedAsync("using EfficientML.Interactive;\nusing EfficientML.Models;\nusing EfficientML.Pipeline;\n" + code);

        var pipeline = Pipeline("cs");
        Assert.Equal(["start", "grow", "train"], pipeline.Measurements.Select(m => m.Step));
        Assert.Equal(4, pipeline.Options.Training.Steps);
        Assert.Equal(48, Assert.IsType<TinyGpt>(Kernel.CSharp.TryGetValue<object>("cs_model", out var m) ? m : null).Config.Dim);
        var html = TestKernel.Html(result);
        Assert.Contains(html, h => h.Contains("efml-run"));                                   // the training followed live
        Assert.Contains(html, h => h.Contains("efml-pipeline-card"));                         // display(cs)

        var resumed = MagicTranslation.ToCSharp("#!pipeline --name cs --resume --steps draft");
        Assert.Equal("cs.Run([\"draft\"], progress: LiveView.Following(everyRun: true));\ncs_model = cs.State.Target.Copy();\ndisplay(cs);", resumed);
        Assert.Equal("cs.Run(cs.Remaining.Except([\"export\"]), progress: LiveView.Following(everyRun: true));\ncs_model = cs.State.Target.Copy();\ndisplay(cs);",
            MagicTranslation.ToCSharp("#!pipeline --name cs --resume --skip export"));
        Assert.Equal(
            "var pipeline = new DeploymentPipeline(PretrainedModels.LoadTinyMoby(), MobyDickCorpus.Get(), PipelineOptions.For(quick));\n" +
            "pipeline.Run(progress: LiveView.Following(everyRun: true));\nvar pipeline_model = pipeline.State.Target.Copy();\ndisplay(pipeline);",
            MagicTranslation.ToCSharp("#!pipeline"));
        Assert.Contains("Bits = 3, LossBudget = 0.05", MagicTranslation.ToCSharp("#!pipeline --bits 3 --budget 0.05 --skip export"));
        Assert.Contains("pipeline.Run([\"grow\", \"train\", \"draft\", \"route\", \"cluster\", \"decode\"], ", MagicTranslation.ToCSharp("#!pipeline --skip export"));
    });

    [Theory]
    [InlineData("#!pipeline --steps cluster,grow", "Step 'grow' cannot come after 'cluster'")]
    [InlineData("#!pipeline --steps shrink", "There is no pipeline step 'shrink'")]
    [InlineData("#!pipeline --resume --grow 4", "--grow is set when a pipeline starts")]
    [InlineData("#!pipeline --bits 0", "--bits must be 1 to 8 (got 0)")]
    public void A_line_the_magic_refuses_has_no_translation_either(string line, string expected)
    {
        var e = Assert.ThrowsAny<EfficientMLException>(() => MagicTranslation.ToCSharp(line));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public async Task Hovering_the_magic_names_its_csharp_call_and_every_option_says_its_default()
    {
        var code = "#!pipeline --steps grow";
        var result = await Kernel.Root.SendAsync(new RequestHoverText(code, new LinePosition(0, 3)));
        var hover = string.Join("\n", result.Events.OfType<HoverTextProduced>().Single().Content.Select(c => c.Value));
        Assert.Contains("new DeploymentPipeline(PretrainedModels.LoadTinyMoby(), TextCorpus.MobyDick(), PipelineOptions.For(quick)).Run(steps)", hover);
        Assert.Contains("--steps", hover);

        var directive = Kernel.Root.KernelInfo.SupportedDirectives.OfType<KernelActionDirective>().Single(d => d.Name == "#!pipeline");
        Assert.Contains("C#:", directive.Description);
        Assert.Equal(["--from", "--name", "--steps", "--skip", "--resume", "--grow", "--bits", "--budget", "--train-steps", "--tokens"], directive.Parameters.Select(p => p.Name));
        Assert.All(directive.Parameters, p => Assert.Matches("default|required", p.Description));

        var option = await Kernel.Root.SendAsync(new RequestHoverText("#!pipeline --train-steps 5", new LinePosition(0, 14)));
        Assert.Contains("(default 200, 6 in quick mode)", string.Join("\n", option.Events.OfType<HoverTextProduced>().Single().Content.Select(c => c.Value)));
    }

    [Fact]
    public async Task Model_names_complete_after_the_from_option()
    {
        await Kernel.SucceedAsync($"#!model --name startable {TestKernel.TinyModelOptions}");
        var code = "#!pipeline --from ";
        var result = await Kernel.Root.SendAsync(new RequestCompletions(code, new LinePosition(0, code.Length)));
        Assert.Contains("startable", result.Events.OfType<CompletionsProduced>().Single().Completions.Select(c => c.DisplayText));
    }
}
