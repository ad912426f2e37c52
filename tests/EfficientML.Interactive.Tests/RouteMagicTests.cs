using System.Diagnostics;
using System.Text.RegularExpressions;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Routing;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Events;
using TorchSharp;

namespace EfficientML.Interactive.Tests;

public class RouteMagicTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    const string Quick = "--steps 2 --batch 2 --block 16 --eval-every 0";

    static Dictionary<string, torch.Tensor> Weights(TinyGpt model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    static void AssertUnchanged(Dictionary<string, torch.Tensor> before, TinyGpt model)
    {
        foreach (var (name, p) in model.named_parameters())
        {
            using var equal = p.eq(before[name]).all();
            Assert.True(equal.item<bool>(), $"{name} of the original model changed");
        }
    }

    bool Declared(string name) => Kernel.CSharp.TryGetValue<object>(name, out _);

    static string Html(DisplayEvent e) => e.FormattedValues.Single(v => v.MimeType == "text/html").Value;

    [Fact]
    public async Task Route_converts_a_copy_fine_tunes_measures_and_shares_the_routed_model_and_the_study()
    {
        await Kernel.SucceedAsync($"#!model --name dense {TestKernel.TinyModelOptions}");
        var original = Kernel.Model("dense");
        var before = Weights(original);

        var result = await Kernel.SucceedAsync($"#!route --model dense {Quick} --thetas 1,0,0.5,0.5 --theta 0.5 --text \"Call <me> Ishmael.\"");

        var routed = Assert.IsType<RoutedGpt>(TestKernel.ReturnValue(await Kernel.SucceedAsync("dense_routed")));
        Assert.NotSame(original, routed.model);
        Assert.Equal(new[] { 8, 16, 24, 32 }, routed.Sizes.Neurons);
        AssertUnchanged(before, original);
        var study = Assert.IsType<RoutingStudy>(TestKernel.ReturnValue(await Kernel.SucceedAsync("routing")));
        Assert.Equal(new double?[] { 0, 0.5, 1 }, study.Routed.Select(p => p.Theta));            // sorted, each once
        Assert.Equal(new int?[] { 0, 1, 2, 3 }, study.Static.Select(p => p.Expert));
        Assert.All(study.Static, p => Assert.Contains("same weights", p.Method));
        Assert.Null(study.Elastic);
        Assert.Equal(TrainingOutcome.Completed, study.Run.Outcome);
        Assert.Equal(2, study.Run.Steps.Count);
        Assert.Same(Kernel.Session.LastRun, study.Run);
        Assert.Equal(0.5, study.Options.EvalTheta);
        Assert.Equal(0.25, study.Static[0].ComputeFraction, 9);
        Assert.Equal(study.Static[^1].ValidationLoss, study.Routed[^1].ValidationLoss, 5);      // θ = 1 is the dense model

        // One live view, updated in place, ending with the study; then the coloured text.
        var shown = result.Events.OfType<DisplayedValueProduced>().ToList();
        Assert.Equal(2, shown.Count);
        Assert.Contains("efml-route-live", Html(shown[0]));
        var updates = result.Events.OfType<DisplayedValueUpdated>().ToList();
        Assert.NotEmpty(updates);
        Assert.All(updates, u => Assert.Equal(shown[0].ValueId, u.ValueId));
        var final = Html(updates[^1]);
        Assert.Contains("efml-routing-study", final);
        Assert.StartsWith("Validation loss vs MLP compute", RoutingChartsTests.Title(RoutingChartsTests.Figures(final)[0]));
        var text = Html(shown[1]);
        Assert.Contains("efml-route-text", text);
        Assert.Equal("Call <me> Ishmael.".Length, Regex.Matches(text, "data-e=").Count);
        Assert.Contains("&lt;", text);
        Assert.DoesNotContain("<me>", text);
        Assert.Contains("Experts the routers chose at θ = 0.5", text);
        var charts = RoutingChartsTests.Figures(text);
        Assert.Equal(new[] { "Share of this text's tokens on each expert at θ = 0.5", "This text's difficulty labels (tolerance 0.1 nats)" },
            charts.Select(RoutingChartsTests.Title));
        Assert.Equal(4, RoutingChartsTests.Traces(charts[0]).Count);                            // one per expert
        Assert.Equal(new[] { "layer 0" }, RoutingChartsTests.Strings(RoutingChartsTests.Traces(charts[0])[0], "y"));   // the model's one layer
        Assert.Equal(1, RoutingChartsTests.Numbers(Assert.Single(RoutingChartsTests.Traces(charts[1])), "y").Sum()!.Value, 9);   // the labels' shares
    }

    [Fact]
    public async Task With_the_baseline_the_elastic_widths_are_measured_and_the_default_text_is_the_validation_split()
    {
        await Kernel.SucceedAsync($"#!model --name plain {TestKernel.TinyModelOptions}");
        var result = await Kernel.SucceedAsync($"#!route --model plain {Quick} --thetas 0,1 --baseline --experts 0.5,1 --router-hidden 0 --name plainMoe --result plainStudy");

        var routed = Assert.IsType<RoutedGpt>(TestKernel.ReturnValue(await Kernel.SucceedAsync("plainMoe")));
        Assert.Equal(new[] { 16, 32 }, routed.Sizes.Neurons);
        Assert.Equal(0, routed.RouterHidden);
        var study = Assert.IsType<RoutingStudy>(TestKernel.ReturnValue(await Kernel.SucceedAsync("plainStudy")));
        Assert.Equal(2, study.Elastic!.Count);
        Assert.All(study.Elastic, p => Assert.Contains("elastic", p.Method));
        Assert.Equal(TrainingOutcome.Completed, study.ElasticRun!.Outcome);
        Assert.Equal(2, study.ElasticRun.Steps.Count);
        var html = TestKernel.Html(result);
        Assert.Contains("static widths, elastic baseline", html[^2]);
        var spans = Regex.Matches(html[^1], "data-e=\"[^\"]*\" title=\"[^\"]*\">([^<]*)</span>").Select(m => System.Net.WebUtility.HtmlDecode(m.Groups[1].Value));
        Assert.StartsWith("Upon this every soul was confounded", string.Concat(spans));
    }

    [Theory]
    [InlineData("--theta 1.5", "--theta must be 0 to 1 (got 1.5): θ = 0 sends every token to the smallest expert")]
    [InlineData("--theta -0.1", "--theta must be 0 to 1 (got -0.1)")]
    [InlineData("--theta half", "--theta takes a number (0 to 1) (got 'half')")]
    [InlineData("--thetas 0,0.5,2", "--thetas must be 0 to 1 (got 2)")]
    [InlineData("--thetas 0,x", "--thetas takes numbers (0 to 1) separated by commas, without spaces or brackets (got '0,x')")]
    [InlineData("--experts 0.5,0.25,1", "--experts 0.5,0.25,1: Expert sizes must increase")]
    [InlineData("--experts 0.3,1", "--experts 0.3,1: Expert size 0.3 of an MLP 32 wide is 9.6 neurons, not a whole number")]
    [InlineData("--experts 0.25,0.5", "--experts 0.25,0.5: The largest expert has 16 neurons but the MLP has 32: end the list with the full width")]
    [InlineData("--experts 1", "--experts 1: Give at least two expert sizes")]
    [InlineData("--experts a,b", "--experts takes numbers (0 to 1) separated by commas, without spaces or brackets (got 'a,b')")]
    [InlineData("--tolerance -0.1", "--tolerance must be 0 to 10 (got -0.1): how many nats above")]
    [InlineData("--tolerance much", "--tolerance takes a number (0 to 10) (got 'much')")]
    [InlineData("--router-hidden -1", "--router-hidden must be 0 to 4,096 (got -1): 0 makes each router one linear map")]
    [InlineData("--steps 0", "--steps must be 1 to 10,000,000 (got 0)")]
    [InlineData("--block 64", "--block 64 is longer than the model's context of 32 tokens")]
    [InlineData("--name origin", "--name origin is the model being converted")]
    [InlineData("--name same --result same", "--name and --result are both 'same'")]
    [InlineData("--result 2nd", "--result '2nd' is not a usable C# variable name")]
    [InlineData("--text \" \"", "--text is empty")]
    [InlineData("--steps 1 --batch 2 --block 16 --eval-every 1 --router-hidden 8 --lr 99999999999999999999999", "Lower --lr")]
    public async Task A_bad_route_option_gives_one_clear_error_and_the_kernel_keeps_working(string options, string expected)
    {
        await Kernel.SucceedAsync($"#!model --name origin {TestKernel.TinyModelOptions}");
        var before = Weights(Kernel.Model("origin"));
        var message = TestKernel.SingleFailure(await Kernel.SubmitAsync($"#!route --model origin {options}"));
        Assert.Contains(expected, message);
        Assert.DoesNotContain("   at ", message);
        Assert.DoesNotContain("(Parameter", message);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
        AssertUnchanged(before, Kernel.Model("origin"));
        Assert.False(Declared("origin_routed"), "nothing is declared after an error");
    }

    [Fact]
    public async Task An_unknown_model_gives_one_clear_error()
    {
        var message = TestKernel.SingleFailure(await Kernel.SubmitAsync("#!route --model nobody"));
        Assert.Contains("No model named 'nobody'. Create it first with #!model --name nobody", message);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
    }

    [Fact]
    public async Task Cancelling_route_stops_between_steps_declares_nothing_and_the_kernel_keeps_working()
    {
        await Kernel.SucceedAsync($"#!model --name patient {TestKernel.TinyModelOptions}");
        var original = Kernel.Model("patient");
        var before = Weights(original);
        var routing = Task.Run(() => Kernel.SubmitAsync("#!route --model patient --steps 100000 --batch 2 --block 16 --eval-every 0 --name never --result neverStudy"));
        var waited = Stopwatch.StartNew();
        while ((Kernel.Session.LastRun is not { } running || running.Steps.Count < 3 || running.Options.Steps != 100000) && waited.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(20);
        var run = Kernel.Session.LastRun!;

        await Kernel.Root.SendAsync(new Cancel());
        await routing.WaitAsync(TimeSpan.FromSeconds(60));
        // The magic lets go of the training gate once the step in flight has finished.
        await Kernel.Session.TrainingGate.WaitAsync(TimeSpan.FromSeconds(60));
        Kernel.Session.TrainingGate.Release();

        Assert.Equal(TrainingOutcome.Cancelled, run.Outcome);
        Assert.True(run.Steps.Count < 100000);
        Assert.False(Declared("never"), "an interrupted run declares no routed model");
        Assert.False(Declared("neverStudy"), "an interrupted run declares no study");
        AssertUnchanged(before, original);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
    }

    [Fact]
    public async Task Model_names_complete_after_the_model_option_of_route()
    {
        await Kernel.SucceedAsync($"#!model --name routable {TestKernel.TinyModelOptions}");
        var code = "#!route --model ";
        var result = await Kernel.Root.SendAsync(new RequestCompletions(code, new LinePosition(0, code.Length)));
        var names = result.Events.OfType<CompletionsProduced>().Single().Completions.Select(c => c.DisplayText).ToList();
        Assert.Contains("routable", names);
    }

    [Fact]
    public void The_fine_tuning_defaults_are_gentler_than_training_from_scratch()
    {
        var d = RouteMagic.FineTuningDefaults;
        Assert.Equal((100, 5e-4, 10, 16, 256), (d.Steps, d.LearningRate, d.WarmupSteps, d.BatchSize, d.BlockSize));
    }
}
