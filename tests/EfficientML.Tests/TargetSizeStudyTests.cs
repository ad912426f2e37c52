using EfficientML.Cloning;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Speculative;

namespace EfficientML.Tests;

public class TargetSizeStudyTests
{
    static TinyGpt Small(long seed = 41)
    {
        var model = TestModels.Random(TestModels.Small(layers: 3), seed);
        TestModels.Scramble(model, seed);
        return model;
    }

    static int[] Prompt(long seed, int length) => TestModels.Tokens(seed, length).data<long>().Select(t => (int)t).ToArray();

    [Fact]
    [Trait("Category", "Invariant")]
    public void A_grown_target_decodes_the_same_tokens_as_the_small_model()
    {
        using var small = Small();
        foreach (int n in new[] { 2, 3 })
        {
            using var grown = HyperCloning.Expand(small, n).Model;
            grown.eval();
            foreach (int seed in new[] { 1, 2, 3 })
            {
                var prompt = Prompt(seed, 6);
                var options = new GenerationOptions { MaxNewTokens = 30 };
                Assert.Equal(small.Generate(prompt, options), grown.Generate(prompt, options));
            }
        }
    }

    [Fact]
    [Trait("Category", "Invariant")]
    public void Speculating_a_grown_target_with_the_small_model_equals_plain_greedy_of_the_target_and_accepts_every_draft()
    {
        using var small = Small();
        using var grown = HyperCloning.Expand(small, 2).Model;
        grown.eval();
        using var drafter = new ModelDrafter(small);
        var decoder = new SpeculativeDecoder(grown, drafter);
        foreach (int gamma in new[] { 1, 3, 5 })
        {
            var prompt = Prompt(10 + gamma, 5);
            var plain = grown.Generate(prompt, new GenerationOptions { MaxNewTokens = 30 });
            var result = decoder.Generate(prompt, new SpeculationOptions { MaxNewTokens = 30, Gamma = gamma });
            Assert.Equal(plain, result.Tokens);
            Assert.Equal(result.Drafted, result.Rounds.Sum(r => r.Accepted));   // an exact function copy: every draft agrees
        }
    }

    [Fact]
    [Trait("Category", "Invariant")]
    public void Grown_accelerators_draft_on_the_grown_target_what_the_small_ones_draft_on_the_small_model()
    {
        using var small = Small();
        using var adapters = AcceleratorAdapters.For(small, rank: 8, seed: 3);
        using (TorchSharp.torch.no_grad())
        {
            var g = new TorchSharp.torch.Generator(3);
            foreach (var a in adapters.adapters) a.up.weight!.copy_(TorchSharp.torch.randn(a.up.weight.shape, generator: g) * 0.5);
        }
        using var grown = HyperCloning.Expand(small, 2).Model;
        grown.eval();
        using var grownAdapters = TargetSizeStudy.GrowAccelerators(adapters, 2);
        using var ids = TestModels.Tokens(9, 20);
        for (int k = 1; k < small.Config.Layers; k++)
        {
            var smallFast = adapters.Fast(SlowStates(small, ids, k), k);
            var grownFast = grownAdapters.Fast(SlowStates(grown, ids, k), k);
            Assert.True(TestModels.MaxRelativeDiff(smallFast.repeat(1, 1, 2), grownFast) < 1e-5);          // n copies of the small fast state
            Assert.True(TestModels.MaxRelativeDiff(small.Logits(smallFast), grown.Logits(grownFast)) < 1e-5);
        }
        using var drafter = new SelfDrafter(2, grownAdapters);
        var prompt = Prompt(4, 5);
        var result = new SpeculativeDecoder(grown, drafter).Generate(prompt, new SpeculationOptions { MaxNewTokens = 30, Gamma = 3 });
        Assert.Equal(grown.Generate(prompt, new GenerationOptions { MaxNewTokens = 30 }), result.Tokens);
    }

    static TorchSharp.torch.Tensor[] SlowStates(TinyGpt model, TorchSharp.torch.Tensor ids, int k)
    {
        var taps = new TorchSharp.torch.Tensor[k + 1];
        model.Hidden(ids, exitAfter: k, tap: (i, s) => taps[i] = s);
        return taps;
    }

    [Fact]
    public void The_prediction_is_expected_tokens_per_round_over_the_rounds_cost_in_plain_steps()
    {
        // α = 0.5, γ = 2: 1 + 0.5 + 0.25 = 1.75 tokens per round; 2 drafts of 1 ms and a 4 ms verification = 1.5 plain steps of 4 ms.
        Assert.Equal(1.75 / 1.5, TargetSizeStudy.Predict(0.5, 2, plainStep: 4, draftStep: 1, verify: 4), 12);
        // Everything accepted, free drafts, verification as dear as a plain step: γ + 1 times faster.
        Assert.Equal(4.0, TargetSizeStudy.Predict(1, 3, plainStep: 2, draftStep: 0, verify: 2), 12);
        Assert.Throws<InvalidSettingsException>(() => TargetSizeStudy.Predict(0.5, 2, plainStep: 0, draftStep: 1, verify: 1));
        // The α that yields 1.75 tokens per round at γ = 2 is 0.5; the ends clamp.
        Assert.Equal(0.5, TargetSizeStudy.ImpliedAlpha(1.75, 2), 9);
        Assert.Equal(1.0, TargetSizeStudy.ImpliedAlpha(3, 2));
        Assert.Equal(0.0, TargetSizeStudy.ImpliedAlpha(1, 2));
    }

    [Fact]
    public void The_study_races_every_target_drafter_and_gamma_losslessly_and_predicts_from_measured_costs()
    {
        using var small = Small();
        var options = new TargetSizeOptions
        {
            WidthFactors = new[] { 1, 2 }, Gammas = new[] { 1, 2 }, ExitLayer = 2, FineTuneSteps = 0, Prompts = 1, NewTokens = 8, Repeats = 1, CostRepeats = 2,
        };
        using var adapters = AcceleratorAdapters.For(small, maxExit: 2, rank: 8, seed: 3);
        var result = TargetSizeStudy.Run(small, new[] { Prompt(5, 4) }, corpus: null, options, adapters);
        Assert.Equal(2 * 3 * 2, result.Points.Count);                          // widths × drafters (small model, early exit, M2R2) × γ
        Assert.All(result.Costs, c => Assert.Equal(3, c.Drafters.Count));
        Assert.Equal(2, result.Costs.Count);
        Assert.All(result.Points, p => Assert.True(p.PredictedSpeedUp > 0 && p.SpeedUp > 0 && p.TokensPerSecond > 0));
        var grownDraft = result.Points.Where(p => p.WidthFactor == 2 && p.Drafter.StartsWith("small model")).ToList();
        Assert.All(grownDraft, p => Assert.Equal(1.0, p.Acceptance));
        Assert.All(grownDraft, p => Assert.True(p.Alpha > 0.5));                 // below 1 only because the last round is cut short
        Assert.Equal(small.ParameterCount, result.Points.First(p => p.WidthFactor == 1).Parameters);
        Assert.Contains("crosses 1×", result.ToTable());
        Assert.Throws<InvalidSettingsException>(() => new TargetSizeOptions { WidthFactors = new[] { 0 } }.Validate(small.Config));
    }
}
