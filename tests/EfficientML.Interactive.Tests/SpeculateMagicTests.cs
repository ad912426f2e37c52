using System.Diagnostics;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Speculative;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Events;
using TorchSharp;

namespace EfficientML.Interactive.Tests;

public class SpeculateMagicTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    /// <summary>Two layers, so that self-drafting has an exit layer (k = 1); otherwise <see cref="TestKernel.TinyModelOptions"/>.</summary>
    const string TwoLayers = "--layers 2 --dim 16 --heads 2 --mlp 32 --context 32";

    bool Declared(string name) => Kernel.CSharp.TryGetValue<object>(name, out _);

    static string Html(DisplayEvent e) => e.FormattedValues.Single(v => v.MimeType == "text/html").Value;

    static Dictionary<string, torch.Tensor> Weights(TinyGpt model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    static void AssertUnchanged(Dictionary<string, torch.Tensor> before, TinyGpt model)
    {
        foreach (var (name, p) in model.named_parameters())
        {
            using var equal = p.eq(before[name]).all();
            Assert.True(equal.item<bool>(), $"{name} of the model changed");
        }
    }

    [Fact]
    public async Task Speculate_trains_the_accelerators_decodes_live_and_matches_plain_greedy_token_for_token()
    {
        await Kernel.SucceedAsync($"#!model --name target {TwoLayers}");
        var model = Kernel.Model("target");
        var before = Weights(model);

        var result = await Kernel.SucceedAsync("#!speculate --model target --steps 3 --tokens 40 --prompt \"Call <me> Ishmael.\"");

        var run = Assert.IsType<SpeculativeResult>(TestKernel.ReturnValue(await Kernel.SucceedAsync("speculation")));
        Assert.Equal(40, run.Stream.Count);
        Assert.Equal("M2R2 (k=1)", run.Drafter);
        var plain = model.Generate(ByteTokens("Call <me> Ishmael."), new GenerationOptions { MaxNewTokens = 40 });
        Assert.Equal(plain, run.Tokens);
        var adapters = Assert.IsType<AcceleratorAdapters>(TestKernel.ReturnValue(await Kernel.SucceedAsync("target_adapters_k1")));
        Assert.Equal(1, adapters.MaxExit);
        Assert.Equal("M2R2 accelerators", Kernel.Session.LastRun!.Name);
        Assert.Equal(3, Kernel.Session.LastRun.Steps.Count);
        Assert.Equal(TrainingOutcome.Completed, Kernel.Session.LastRun.Outcome);
        AssertUnchanged(before, model);

        // One live view, updated in place, ending with the report.
        var shown = result.Events.OfType<DisplayedValueProduced>().ToList();
        Assert.Single(shown);
        Assert.Contains("efml-speculate-live", Html(shown[0]));
        var updates = result.Events.OfType<DisplayedValueUpdated>().ToList();
        Assert.All(updates, u => Assert.Equal(shown[0].ValueId, u.ValueId));
        Assert.Contains(updates, u => Html(u).Contains("efml-run"));                          // the accelerators' loss chart
        Assert.Contains(updates, u => Html(u).Contains("efml-speculate-progress"));           // the stream while decoding
        var report = Html(updates[^1]);
        Assert.Contains("efml-speculate", report);
        Assert.Contains("✓ The same output as plain greedy decoding, token for token (40 tokens).", report);
        Assert.Contains("tokens/s", report);
        Assert.Matches(@"<b>[0-9.]+×</b>", report);
        var figures = RoutingChartsTests.Figures(report);
        Assert.Equal(new[] { "Decoding speed", "Loss", "Acceptance by draft position", "M2R2 (k=1): time per round" },   // "Loss": the accelerators' training
            figures.Select(RoutingChartsTests.Title));
        Assert.Equal(new[] { "plain greedy (KV cache)", "M2R2 (k=1)" }, RoutingChartsTests.Strings(RoutingChartsTests.Traces(figures[0])[0], "y"));
        Assert.Contains("M2R2 accelerators", report);
        Assert.Contains("efml-speculation", report);
        Assert.Contains("efml-token-stream", report);
        Assert.Contains("Call &lt;me&gt; Ishmael.", report);                                   // the prompt, escaped
        Assert.DoesNotContain("<me>", report);


        // The same model and k again: the accelerators are reused, not trained again.
        var lastRun = Kernel.Session.LastRun;
        var again = await Kernel.SucceedAsync("#!speculate --model target --tokens 30 --adaptive --gamma 2 --max-gamma 5 --name again");
        Assert.Same(lastRun, Kernel.Session.LastRun);
        Assert.Contains(TestKernel.Html(again), h => h.Contains("trained earlier in this notebook for &#39;target&#39; at k = 1 (3 steps"));
        var second = Assert.IsType<SpeculativeResult>(TestKernel.ReturnValue(await Kernel.SucceedAsync("again")));
        Assert.Equal(30, second.Stream.Count);
        Assert.Contains("Upon this every", TestKernel.Html(again)[^1]);                        // the default prompt: the validation split's start
        Assert.Contains("✓ The same output", TestKernel.Html(again)[^1]);
        Assert.Same(adapters, TestKernel.ReturnValue(await Kernel.SucceedAsync("target_adapters_k1")));
    }

    static int[] ByteTokens(string text) => System.Text.Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();

    [Fact]
    public async Task Early_exit_and_a_draft_model_draft_too_and_sampling_says_what_it_keeps()
    {
        await Kernel.SucceedAsync($"#!model --name big {TwoLayers}");
        await Kernel.SucceedAsync($"#!model --name little {TestKernel.TinyModelOptions}");

        var early = await Kernel.SucceedAsync("#!speculate --model big --draft early-exit --gamma 3 --tokens 25 --name ee");
        var ee = Assert.IsType<SpeculativeResult>(TestKernel.ReturnValue(await Kernel.SucceedAsync("ee")));
        Assert.Equal("early exit (k=1)", ee.Drafter);
        Assert.All(ee.Rounds, r => Assert.True(r.Drafted <= 3));
        Assert.Contains("✓ The same output as plain greedy decoding", TestKernel.Html(early)[^1]);
        Assert.DoesNotContain(TestKernel.Html(early), h => h.Contains("efml-run"));            // nothing trained

        var two = await Kernel.SucceedAsync("#!speculate --model big --draft little --tokens 25 --name pair");
        var pair = Assert.IsType<SpeculativeResult>(TestKernel.ReturnValue(await Kernel.SucceedAsync("pair")));
        Assert.Equal("draft model 'little' (1×16)", pair.Drafter);
        Assert.Contains("✓ The same output as plain greedy decoding", TestKernel.Html(two)[^1]);

        var sampled = await Kernel.SucceedAsync("#!speculate --model big --draft early-exit --tokens 25 --temperature 0.8 --top-k 20 --seed 3 --name sampled");
        Assert.Equal(25, Assert.IsType<SpeculativeResult>(TestKernel.ReturnValue(await Kernel.SucceedAsync("sampled"))).Stream.Count);
        var report = TestKernel.Html(sampled)[^1];
        Assert.Contains("≈ Sampling (temperature 0.8, top-k 20, seed 3)", report);
        Assert.Contains("follows the same distribution as plain sampling", report);
        Assert.DoesNotContain("✓", report);
        Assert.DoesNotContain("✗", report);
    }

    [Theory]
    [InlineData("--gamma 0", "--gamma must be 1 to 64 (got 0)")]
    [InlineData("--gamma four", "--gamma takes a whole number (1 to 64) (got 'four')")]
    [InlineData("--gamma 32", "--gamma 32 does not fit: a round's drafts must fit in the model's context of 32 tokens")]
    [InlineData("--k 0", "--k must be 1 (got 0)")]
    [InlineData("--k 2", "--k must be 1 (got 2): the draft runs the first k of the model's 2 layers")]
    [InlineData("--k one", "--k takes a whole number (1) (got 'one')")]
    [InlineData("--draft nobody", "--draft 'nobody' is neither m2r2, early-exit nor a model of this notebook")]
    [InlineData("--draft wrong", "--draft wrong is the model being decoded")]
    [InlineData("--draft wide", "--draft wide: The draft model's context (16) is shorter than the target's (32)")]
    [InlineData("--draft tiny --k 1", "--k is the exit layer of self-drafting, but with --draft tiny the other model drafts")]
    [InlineData("--draft early-exit --steps 5", "--steps trains M2R2's accelerators, which --draft early-exit does not use")]
    [InlineData("--tokens many", "--tokens takes a whole number (1 to 100,000) (got 'many')")]
    [InlineData("--tokens 0", "--tokens must be 1 to 100,000 (got 0)")]
    [InlineData("--steps 0", "--steps must be 1 to 10,000,000 (got 0)")]
    [InlineData("--temperature hot", "--temperature takes a number (0 to 100) (got 'hot')")]
    [InlineData("--temperature -1", "--temperature must be 0 to 100 (got -1): 0 decodes greedily")]
    [InlineData("--top-k 5", "--top-k only applies to sampling")]
    [InlineData("--seed 5", "--seed only applies to sampling")]
    [InlineData("--temperature 1 --top-k 300", "--top-k 300 is more than the 256 tokens the model knows")]
    [InlineData("--max-gamma 6", "--max-gamma only applies with --adaptive")]
    [InlineData("--adaptive --gamma 6 --max-gamma 4", "--max-gamma 4 is below --gamma 6")]
    [InlineData("--prompt \"This prompt is much longer than thirty-two bytes.\"", "--prompt has 49 tokens (UTF-8 bytes) but 'wrong' reads at most 32")]
    [InlineData("--name 2nd", "--name '2nd' is not a usable C# variable name")]
    public async Task A_bad_speculate_option_gives_one_clear_error_and_the_kernel_keeps_working(string options, string expected)
    {
        await Kernel.SucceedAsync($"#!model --name wrong {TwoLayers}");
        await Kernel.SucceedAsync($"#!model --name tiny {TestKernel.TinyModelOptions}");
        await Kernel.SucceedAsync("#!model --name wide --layers 1 --dim 16 --heads 2 --mlp 32 --context 16");
        var before = Weights(Kernel.Model("wrong"));
        var name = options.Contains("--name") ? "" : " --name never";
        var message = TestKernel.SingleFailure(await Kernel.SubmitAsync($"#!speculate --model wrong {options}{name}"));
        Assert.Contains(expected, message);
        Assert.DoesNotContain("   at ", message);
        Assert.DoesNotContain("(Parameter", message);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
        AssertUnchanged(before, Kernel.Model("wrong"));
        Assert.False(Declared("never"), "nothing is declared after an error");
    }

    [Fact]
    public async Task Unknown_models_and_a_single_layer_model_give_one_clear_error()
    {
        await Kernel.SucceedAsync($"#!model --name shallow {TestKernel.TinyModelOptions}");
        Assert.Contains("No model named 'nobody'. Create it first with #!model --name nobody",
            TestKernel.SingleFailure(await Kernel.SubmitAsync("#!speculate --model nobody")));
        Assert.Contains("--draft m2r2 drafts with the first k of the model's layers, and 'shallow' has only 1",
            TestKernel.SingleFailure(await Kernel.SubmitAsync("#!speculate --model shallow")));
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
    }

    [Fact]
    public async Task Cancelling_the_accelerator_training_declares_nothing_keeps_nothing_and_the_kernel_keeps_working()
    {
        await Kernel.SucceedAsync($"#!model --name patient {TwoLayers}");
        var model = Kernel.Model("patient");
        var speculating = Task.Run(() => Kernel.SubmitAsync("#!speculate --model patient --steps 100000 --name neverResult"));
        var waited = Stopwatch.StartNew();
        while ((Kernel.Session.LastRun is not { } running || running.Steps.Count < 3 || running.Options.Steps != 100000) && waited.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(20);
        var run = Kernel.Session.LastRun!;

        await Kernel.Root.SendAsync(new Cancel());
        await speculating.WaitAsync(TimeSpan.FromSeconds(60));
        await Kernel.Session.TrainingGate.WaitAsync(TimeSpan.FromSeconds(60));
        Kernel.Session.TrainingGate.Release();

        Assert.Equal(TrainingOutcome.Cancelled, run.Outcome);
        Assert.False(Declared("neverResult"), "an interrupted run declares no result");
        Assert.False(Kernel.Session.Accelerators.TryGet(model, 1, TrainedAccelerators.Fingerprint(model), out _), "half-trained accelerators are not kept");
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
    }

    [Fact]
    public void Accelerators_are_forgotten_once_the_model_weights_change()
    {
        _ = Kernel;
        using var model = new TinyGpt(TestKernel.TinyConfig with { Layers = 2 }, seed: 3);
        using var adapters = AcceleratorAdapters.For(model, 1, rank: 8);
        var store = new TrainedAccelerators();
        var run = new TrainingRun("M2R2 accelerators", new TrainingOptions { Steps = 1 }, 1);
        store.Set(model, 1, new TrainedAccelerators.Entry(adapters, TrainedAccelerators.Fingerprint(model), run));
        Assert.True(store.TryGet(model, 1, TrainedAccelerators.Fingerprint(model), out var found));
        Assert.Same(adapters, found.Adapters);
        Assert.False(store.TryGet(model, 2, TrainedAccelerators.Fingerprint(model), out _));
        using (torch.no_grad()) model.parameters().First().add_(1e-3f);
        Assert.False(store.TryGet(model, 1, TrainedAccelerators.Fingerprint(model), out _));
    }

    [Fact]
    public async Task Draft_completes_with_the_drafting_kinds_and_the_models()
    {
        await Kernel.SucceedAsync($"#!model --name drafty {TestKernel.TinyModelOptions}");
        var code = "#!speculate --draft ";
        var result = await Kernel.Root.SendAsync(new RequestCompletions(code, new LinePosition(0, code.Length)));
        var names = result.Events.OfType<CompletionsProduced>().Single().Completions.Select(c => c.DisplayText).ToList();
        Assert.Contains("m2r2", names);
        Assert.Contains("early-exit", names);
        Assert.Contains("drafty", names);
    }
}
