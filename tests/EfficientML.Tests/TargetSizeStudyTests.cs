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
        // widths × (drafters (small model, early exit, M2R2 at k = 2) × (γ 1, 2, adaptive) + M2R2 at the other exit, k = 1, adaptive only)
        Assert.Equal(2 * (3 * 3 + 1), result.Points.Count);
        Assert.Equal(2 * 4, result.Points.Count(p => p.Adaptive));
        Assert.All(result.Points.Where(p => p.Drafter == "M2R2 (k=1)"), p => Assert.True(p.Adaptive));
        Assert.All(result.Points.Where(p => p.Adaptive), p => Assert.True(p.Gamma == 2 && p.MeanGamma is >= 1 and <= 2));
        Assert.All(result.Points.Where(p => !p.Adaptive), p => Assert.True(p.MeanGamma <= p.Gamma && p.MeanGamma > 0));
        Assert.Empty(result.ExitAcceptance!);                                    // no corpus, no per-exit acceptance
        Assert.All(result.Costs, c => Assert.Equal(4, c.Drafters.Count));
        Assert.Equal(2, result.Costs.Count);
        Assert.All(result.Points, p => Assert.True(p.PredictedSpeedUp > 0 && p.SpeedUp > 0 && p.TokensPerSecond > 0));
        var grownDraft = result.Points.Where(p => p.WidthFactor == 2 && p.Drafter.StartsWith("small model")).ToList();
        Assert.All(grownDraft, p => Assert.Equal(1.0, p.Acceptance));
        Assert.All(grownDraft, p => Assert.True(p.Alpha > 0.5));                 // below 1 only because the last round is cut short
        Assert.Equal(small.ParameterCount, result.Points.First(p => p.WidthFactor == 1).Parameters);
        Assert.Contains("crosses 1×", result.ToTable());
        Assert.Throws<InvalidSettingsException>(() => new TargetSizeOptions { WidthFactors = new[] { 0 } }.Validate(small.Config));
    }

    [Fact]
    public void Adaptive_gamma_is_predicted_with_the_verification_cost_of_its_mean_gamma()
    {
        var verify = new Dictionary<int, double> { [1] = 2.0, [3] = 3.0, [8] = 8.0 };
        Assert.Equal(2.0, TargetSizeStudy.VerifyAt(verify, 1), 12);
        Assert.Equal(2.5, TargetSizeStudy.VerifyAt(verify, 2), 12);             // halfway between γ = 1 and 3
        Assert.Equal(4.0, TargetSizeStudy.VerifyAt(verify, 4), 12);             // a fifth of the way from 3 to 8
        Assert.Equal(2.0, TargetSizeStudy.VerifyAt(verify, 0.5), 12);           // held at the ends
        Assert.Equal(8.0, TargetSizeStudy.VerifyAt(verify, 9), 12);
        Assert.Throws<InvalidSettingsException>(() => TargetSizeStudy.VerifyAt(new Dictionary<int, double>(), 2));
    }

    [Fact]
    public void The_study_measures_acceptance_at_every_exit_and_trains_accelerators_on_fine_tuned_targets()
    {
        using var small = Small();
        using var corpus = EfficientML.Text.TextCorpus.MobyDick();
        var options = new TargetSizeOptions
        {
            WidthFactors = new[] { 1, 2 }, Gammas = new[] { 2 }, AdaptiveGamma = false, ExitLayer = 2, FineTuneSteps = 2, AcceleratorSteps = 3,
            Prompts = 1, NewTokens = 6, Repeats = 1, CostRepeats = 1,
        };
        using var adapters = AcceleratorAdapters.For(small, maxExit: 2, rank: 8, seed: 3);
        var result = TargetSizeStudy.Run(small, new[] { Prompt(5, 4) }, corpus, options, adapters);
        var points = result.ExitAcceptance!;
        Assert.Equal(new[] { "×1", "×2", "×2 fine-tuned" }, points.Select(p => p.Target).Distinct());
        Assert.All(points.GroupBy(p => p.Target), g => Assert.Equal(new[] { 1, 2 }, g.Select(p => p.Exit)));  // 1 … min(4, L−1, MaxExit)
        Assert.All(points, p => Assert.True(p.EarlyExit is >= 0 and <= 1 && p.M2R2 is >= 0 and <= 1));
        // An exact copy agrees at every exit exactly as the small model does (the same function, the accelerators grown exactly).
        foreach (int k in new[] { 1, 2 })
        {
            var (one, two) = (points.Single(p => p.Target == "×1" && p.Exit == k), points.Single(p => p.Target == "×2" && p.Exit == k));
            Assert.True(Math.Abs(one.EarlyExit - two.EarlyExit) <= 0.005, $"k={k}: {one.EarlyExit} vs {two.EarlyExit}");   // rounding may flip a near-tie
            Assert.True(Math.Abs(one.M2R2!.Value - two.M2R2!.Value) <= 0.005, $"k={k}: {one.M2R2} vs {two.M2R2}");
        }
        // Only the fine-tuned target's accelerators are trained, once, for the exits measured.
        Assert.All(points, p => Assert.Equal(p.FineTuned, p.M2R2Trained is not null));
        Assert.Single(result.AcceleratorTuning!);
        Assert.Equal(3, result.AcceleratorTuning![0].Steps.Count);
        Assert.Contains("per-draft acceptance at exit k", result.ToTable());
        Assert.Throws<InvalidSettingsException>(() => TargetSizeStudy.Run(small, new[] { Prompt(5, 4) }, corpus, options with { AcceleratorExits = new[] { 1, 2 }, ExitLayer = 1 },
            AcceleratorAdapters.For(small, maxExit: 1, rank: 8, seed: 3)));
        Assert.Throws<InvalidSettingsException>(() => new TargetSizeOptions { AcceleratorExits = new[] { 3 } }.Validate(small.Config));  // a 3-layer model exits at 1..2
    }
}
