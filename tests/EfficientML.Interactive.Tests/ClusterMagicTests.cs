using System.Diagnostics;
using EfficientML.Clustering;
using EfficientML.Core;
using EfficientML.Models;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Events;
using TorchSharp;
using TorchSharp.Modules;

namespace EfficientML.Interactive.Tests;

public class ClusterMagicTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    const string Quick = "--batch 2 --block 16";

    static Dictionary<string, torch.Tensor> Weights(TinyGpt model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    static long Distinct(TinyGpt model, string layer)
    {
        var linear = (Linear)model.named_modules().Single(m => m.name == layer).module;
        using var unique = linear.weight!.unique().Item1;
        return unique.numel();
    }

    static void AssertUnchanged(Dictionary<string, torch.Tensor> before, TinyGpt model)
    {
        foreach (var (name, p) in model.named_parameters())
        {
            using var equal = p.eq(before[name]).all();
            Assert.True(equal.item<bool>(), $"{name} of the original model changed");
        }
    }

    [Fact]
    public async Task Cluster_fine_tunes_a_copy_and_shares_the_palettised_model_and_the_result()
    {
        await Kernel.SucceedAsync($"#!model --name dense {TestKernel.TinyModelOptions}");
        var original = Kernel.Model("dense");
        var before = Weights(original);

        var result = await Kernel.SucceedAsync($"#!cluster --model dense --bits 2 --steps 4 {Quick} --eval-every 2");

        var clustered = Kernel.Model("dense_2bit");
        Assert.NotSame(original, clustered);
        Assert.Equal(original.Config, clustered.Config);
        Assert.Same(clustered, TestKernel.ReturnValue(await Kernel.SucceedAsync("dense_2bit")));
        foreach (var layer in new[] { "blocks.0.attn.q_proj", "blocks.0.attn.k_proj", "blocks.0.attn.v_proj", "blocks.0.attn.o_proj", "blocks.0.mlp.fc", "blocks.0.mlp.proj" })
            Assert.InRange(Distinct(clustered, layer), 1, 4);
        AssertUnchanged(before, original);

        var compression = Assert.IsType<CompressionResult>(TestKernel.ReturnValue(await Kernel.SucceedAsync("clustering")));
        Assert.Equal("DKM fine-tuned", compression.Method);
        Assert.Equal(2, compression.Bits);
        Assert.Equal(TrainingOutcome.Completed, compression.Run!.Outcome);
        Assert.Equal(4, compression.Run.Steps.Count);
        Assert.Equal(new[] { 0, 2, 4 }, compression.Run.Evaluations.Select(e => e.Step));   // step 0: k-means before fine-tuning
        Assert.Same(Kernel.Session.LastRun, compression.Run);
        Assert.True(compression.CompressionRatio > 1);

        // One live view, updated in place, ending with the result and the watched layer; then the memory report.
        var shown = result.Events.OfType<DisplayedValueProduced>().ToList();
        Assert.Equal(2, shown.Count);
        Assert.Contains("efml-cluster", Html(shown[0]));
        var updates = result.Events.OfType<DisplayedValueUpdated>().ToList();
        Assert.NotEmpty(updates);
        Assert.All(updates, u => Assert.Equal(shown[0].ValueId, u.ValueId));
        var final = Html(updates[^1]);
        Assert.Contains("DKM fine-tuned", final);
        Assert.Contains("blocks.0.mlp.fc.weight at step 4", final);
        Assert.Contains("centroids (k = 4)", final);
        var memory = Html(shown[1]);
        Assert.Contains("Kept for backward", memory);
        Assert.Contains("DKM (dense)", memory);
    }

    [Fact]
    public async Task The_live_view_is_throttled_and_shows_the_centroids_while_training()
    {
        await Kernel.SucceedAsync($"#!model --name steady {TestKernel.TinyModelOptions}");
        var clock = Stopwatch.StartNew();
        var result = await Kernel.SucceedAsync($"#!cluster --model steady --bits 3 --steps 40 {Quick} --eval-every 10 --result steadyResult");
        clock.Stop();

        var shown = result.Events.OfType<DisplayedValueProduced>().First();
        var updates = result.Events.OfType<DisplayedValueUpdated>().Where(u => u.ValueId == shown.ValueId).ToList();
        // Throttled: a few per second at most, plus the end of training and the result.
        Assert.InRange(updates.Count, 1, (int)(clock.Elapsed / LiveView.UpdateInterval) + 3);
        Assert.All(updates.SkipLast(1), u => Assert.Contains("centroids (k = 8)", Html(u)));
        Assert.Contains("k-means", Html(shown), StringComparison.OrdinalIgnoreCase);                 // before the first step
        Assert.Equal(40, Assert.IsType<CompressionResult>(TestKernel.ReturnValue(await Kernel.SucceedAsync("steadyResult"))).Run!.Steps.Count);
    }

    [Fact]
    public async Task Without_fine_tuning_the_copy_is_clustered_by_kmeans_and_nothing_trains()
    {
        await Kernel.SucceedAsync($"#!model --name plain {TestKernel.TinyModelOptions}");
        var original = Kernel.Model("plain");
        var before = Weights(original);

        var result = await Kernel.SucceedAsync("#!cluster --model plain --bits 3 --no-finetune --name plainKm --result plainResult");

        var clustered = Kernel.Model("plainKm");
        Assert.InRange(Distinct(clustered, "blocks.0.mlp.fc"), 1, 8);
        Assert.InRange(Distinct(clustered, "blocks.0.attn.q_proj"), 1, 8);
        AssertUnchanged(before, original);
        var compression = Assert.IsType<CompressionResult>(TestKernel.ReturnValue(await Kernel.SucceedAsync("plainResult")));
        Assert.Equal("k-means (no fine-tuning)", compression.Method);
        Assert.Null(compression.Run);
        var html = Assert.Single(TestKernel.Html(result));
        Assert.Contains("efml-cluster", html);
        Assert.Contains("k-means (no fine-tuning)", html);
        Assert.Contains("centroids (k = 8)", html);
        Assert.Empty(result.Events.OfType<DisplayedValueUpdated>());
    }

    [Fact]
    public async Task Chosen_layers_are_the_only_ones_clustered_and_edkm_storage_is_reported()
    {
        await Kernel.SucceedAsync($"#!model --name parts {TestKernel.TinyModelOptions}");
        var result = await Kernel.SucceedAsync(
            $"#!cluster --model parts --bits 3 --layers blocks.0.mlp.fc,blocks.0.mlp.proj --edkm --watch blocks.0.mlp.proj --steps 2 {Quick} --name partsMlp");

        var clustered = Kernel.Model("partsMlp");
        Assert.InRange(Distinct(clustered, "blocks.0.mlp.fc"), 1, 8);
        Assert.InRange(Distinct(clustered, "blocks.0.mlp.proj"), 1, 8);
        Assert.True(Distinct(clustered, "blocks.0.attn.q_proj") > 8, "a layer not named in --layers keeps its float32 weights");
        var html = TestKernel.Html(result);
        Assert.Contains("blocks.0.mlp.proj.weight", html[^2]);
        Assert.Contains("eDKM: uniquify + deduplicate", html[^1]);
    }

    [Theory]
    [InlineData("--model origin --bits 0", "--bits must be 1 to 8 (got 0): k = 2^bits centroids per table")]
    [InlineData("--model origin --bits 9", "--bits must be 1 to 8 (got 9)")]
    [InlineData("--model origin --bits three", "--bits takes a whole number (1 to 8) (got 'three')")]
    [InlineData("--model origin", "#!cluster needs --bits B")]
    [InlineData("--model origin --bits 3 --tau 0", "--tau must be positive, at most 1,000,000 (got 0)")]
    [InlineData("--model origin --bits 3 --tau -0.001", "--tau must be positive, at most 1,000,000 (got -0.001)")]
    [InlineData("--model origin --bits 3 --tau warm", "--tau takes a number (positive, at most 1,000,000) (got 'warm')")]
    [InlineData("--model origin --bits 3 --layers blocks.0.mlp.fc,blocks.7.mlp.fc", "No layer named 'blocks.7.mlp.fc' in this model. Layers that can be clustered")]
    [InlineData("--model origin --bits 3 --layers blocks.0.mlp.fc --watch blocks.0.attn.q_proj", "--watch blocks.0.attn.q_proj: not one of the clustered layers (blocks.0.mlp.fc)")]
    [InlineData("--model origin --bits 3 --no-finetune --steps 5 --edkm", "--steps, --edkm only apply to fine-tuning")]
    [InlineData("--model origin --bits 3 --steps 0", "--steps must be 1 to 10,000,000 (got 0)")]
    [InlineData("--model origin --bits 3 --name origin", "--name origin is the model being clustered")]
    [InlineData("--model origin --bits 3 --result 3rd", "--result '3rd' is not a usable C# variable name")]
    [InlineData("--model nobody --bits 3", "No model named 'nobody'")]
    public async Task A_bad_cluster_option_gives_one_clear_error_and_the_kernel_keeps_working(string options, string expected)
    {
        await Kernel.SucceedAsync($"#!model --name origin {TestKernel.TinyModelOptions}");
        var before = Weights(Kernel.Model("origin"));
        var message = TestKernel.SingleFailure(await Kernel.SubmitAsync($"#!cluster {options}"));
        Assert.Contains(expected, message);
        Assert.DoesNotContain("   at ", message);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
        AssertUnchanged(before, Kernel.Model("origin"));
        Assert.False(Kernel.Session.Models.TryGet<TinyGpt>("origin_3bit", out _), "nothing is registered after an error");
    }

    [Fact]
    public async Task Cancelling_cluster_stops_between_steps_registers_nothing_and_the_kernel_keeps_working()
    {
        await Kernel.SucceedAsync($"#!model --name patient {TestKernel.TinyModelOptions}");
        var original = Kernel.Model("patient");
        var before = Weights(original);
        var clustering = Task.Run(() => Kernel.SubmitAsync($"#!cluster --model patient --bits 2 --steps 100000 {Quick} --eval-every 0 --name never"));
        var waited = Stopwatch.StartNew();
        while ((Kernel.Session.LastRun is not { } running || running.Steps.Count < 3 || running.Options.Steps != 100000) && waited.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(20);
        var run = Kernel.Session.LastRun!;

        await Kernel.Root.SendAsync(new Cancel());
        await clustering.WaitAsync(TimeSpan.FromSeconds(60));
        waited.Restart();
        while (run.Outcome == TrainingOutcome.Running && waited.Elapsed < TimeSpan.FromSeconds(30))
            await Task.Delay(10);
        // The magic finishes its evaluation after the interrupt and then lets go of the training gate.
        await Kernel.Session.TrainingGate.WaitAsync(TimeSpan.FromSeconds(60));
        Kernel.Session.TrainingGate.Release();

        Assert.Equal(TrainingOutcome.Cancelled, run.Outcome);
        Assert.True(run.Steps.Count < 100000);
        Assert.False(Kernel.Session.Models.TryGet<TinyGpt>("never", out _), "an interrupted run registers no model");
        AssertUnchanged(before, original);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
    }

    [Fact]
    public async Task Model_names_complete_after_the_model_option_of_cluster()
    {
        await Kernel.SucceedAsync($"#!model --name clusterable {TestKernel.TinyModelOptions}");
        var code = "#!cluster --model ";
        var result = await Kernel.Root.SendAsync(new RequestCompletions(code, new LinePosition(0, code.Length)));
        var names = result.Events.OfType<CompletionsProduced>().Single().Completions.Select(c => c.DisplayText).ToList();
        Assert.Contains("clusterable", names);
    }

    static string Html(DisplayEvent e) => e.FormattedValues.Single(v => v.MimeType == "text/html").Value;
}
