using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Speculative;
using EfficientML.Text;
using static TorchSharp.torch;

namespace EfficientML.Tests;

public class AcceleratorTests
{
    static readonly Lazy<TextCorpus> Corpus = new(() => TextCorpus.MobyDick());

    static readonly TrainingOptions Quick = new() { Steps = 40, BatchSize = 4, BlockSize = 64, LearningRate = 3e-3, WarmupSteps = 5, EvalEvery = 40, EvalBatches = 2, WeightDecay = 0 };

    [Fact]
    public void Layer_profile_ends_at_full_agreement_and_zero_distance_and_zero_accelerators_change_nothing()
    {
        var model = PretrainedModels.LoadTinyMoby();
        using var adapters = AcceleratorAdapters.For(model);
        var profile = LayerAnalysis.Measure(model, Corpus.Value, adapters, batches: 1, batchSize: 2, blockSize: 64);
        Assert.Equal(model.Config.Layers + 1, profile.Count);
        Assert.Equal(1.0, profile[^1].Agreement);
        Assert.Equal(0.0, profile[^1].Distance, 6);
        Assert.True(profile[1].Agreement < profile[^2].Agreement, "agreement should grow with depth");
        foreach (var p in profile.Take(model.Config.Layers))
        {
            Assert.Equal(p.Agreement, p.FastAgreement);
            Assert.Equal(p.Bits, p.FastBits!.Value, 4);
        }
        Assert.Null(profile[^1].FastAgreement);
    }

    [Fact]
    public void Training_accelerators_aligns_the_early_exit_with_the_final_layer_and_leaves_the_model_alone()
    {
        var model = PretrainedModels.LoadTinyMoby();
        var before = model.parameters().Select(p => p.clone()).ToList();
        using var adapters = AcceleratorAdapters.For(model, maxExit: 2, rank: 16);
        var run = AcceleratorTraining.Train(model, adapters, Corpus.Value, Quick with { EvalAtStart = true }, new AcceleratorOptions { Exits = new[] { 2 } });
        Assert.Equal(TrainingOutcome.Completed, run.Outcome);
        Assert.True(run.Evaluations[^1].ValidationLoss < 0.9 * run.Evaluations[0].ValidationLoss,
            $"alignment loss {run.Evaluations[0].ValidationLoss:F3} → {run.Evaluations[^1].ValidationLoss:F3}");
        var profile = LayerAnalysis.Measure(model, Corpus.Value, adapters, batches: 1, batchSize: 4, blockSize: 64);
        Assert.True(profile[2].FastAgreement > profile[2].Agreement, $"fast {profile[2].FastAgreement:P1} vs slow {profile[2].Agreement:P1}");
        Assert.All(model.parameters().Zip(before), pair => Assert.True(TestModels.Same(pair.First, pair.Second)));
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void Dynamic_compute_at_threshold_one_runs_every_layer_and_matches_the_full_model()
    {
        var model = PretrainedModels.LoadTinyMoby();
        var never = DynamicCompute.Evaluate(model, null, null, 1.0, Corpus.Value, batches: 1, batchSize: 2, blockSize: 64);
        // A confidence of exactly 1 is (almost) never reached: every token runs all layers and predicts what the model predicts.
        Assert.Equal(model.Config.Layers, never.MeanLayers, 2);
        Assert.True(never.Agreement > 0.999);
        var always = DynamicCompute.Evaluate(model, null, null, 0.0, Corpus.Value, batches: 1, batchSize: 2, blockSize: 64);
        Assert.Equal(1.0, always.MeanLayers);
        var mid = DynamicCompute.Evaluate(model, null, null, 0.5, Corpus.Value, batches: 1, batchSize: 2, blockSize: 64);
        Assert.InRange(mid.MeanLayers, always.MeanLayers, never.MeanLayers);
        Assert.InRange(mid.Agreement, always.Agreement, 1.0);
    }

    [Fact]
    public void Exit_predictor_learns_when_the_early_prediction_already_matches()
    {
        var model = PretrainedModels.LoadTinyMoby();
        using var predictor = ExitPredictor.For(model, hidden: 16);
        var run = ExitPredictor.Train(predictor, model, null, Corpus.Value, Quick with { EvalAtStart = true, LearningRate = 1e-2 });
        Assert.True(run.Evaluations[^1].ValidationLoss < run.Evaluations[0].ValidationLoss - 0.05,
            $"BCE {run.Evaluations[0].ValidationLoss:F3} → {run.Evaluations[^1].ValidationLoss:F3}");
        var point = DynamicCompute.Evaluate(model, null, predictor, 0.5, Corpus.Value, batches: 1, batchSize: 2, blockSize: 64);
        Assert.InRange(point.MeanLayers, 1, model.Config.Layers);
    }

    [Fact]
    public void Bad_accelerator_settings_each_get_one_clear_message()
    {
        var model = PretrainedModels.LoadTinyMoby();
        Assert.Contains("1..7", Assert.Throws<InvalidSettingsException>(() => AcceleratorAdapters.For(model, maxExit: 8)).Message);
        Assert.Contains("rank", Assert.Throws<InvalidSettingsException>(() => AcceleratorAdapters.For(model, rank: 0)).Message);
        using var adapters = AcceleratorAdapters.For(model, maxExit: 2);
        Assert.Contains("outside 1..2", Assert.Throws<InvalidSettingsException>(() =>
            AcceleratorTraining.Train(model, adapters, Corpus.Value, Quick, new AcceleratorOptions { Exits = new[] { 3 } })).Message);
        Assert.Contains("probability", Assert.Throws<InvalidSettingsException>(() =>
            DynamicCompute.Evaluate(model, null, null, 1.5, Corpus.Value)).Message);
    }

    [Fact]
    public void Stacked_accelerators_compute_the_fast_state_of_the_accelerators_run_one_by_one()
    {
        using var model = TestModels.Random(TestModels.Small(layers: 4), seed: 40);
        TestModels.Scramble(model, 40);
        using var adapters = AcceleratorAdapters.For(model, rank: 8, seed: 4);
        TestModels.Scramble(adapters, 41);                                     // non-zero up-projections and norms
        using var _ = no_grad();
        var taps = new Tensor[model.Config.Layers + 1];
        model.Hidden(TestModels.Tokens(14, 11), tap: (i, h) => taps[i] = h);
        for (int exit = 1; exit <= adapters.MaxExit; exit++)
        {
            using var stacked = adapters.Stack(exit);
            var expected = adapters.Fast(taps, exit);
            var actual = stacked.Fast(taps);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True(TestModels.MaxRelativeDiff(expected, actual) < 1e-5, $"exit {exit}: {TestModels.MaxRelativeDiff(expected, actual):E2}");
            Assert.True(TestModels.MaxAbsDiff(expected, taps[exit]) > 1e-3, "the accelerators changed nothing");
        }
    }
}
