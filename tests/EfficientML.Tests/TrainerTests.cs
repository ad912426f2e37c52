using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Tests;

public class TrainerTests
{
    static readonly Lazy<TextCorpus> Corpus = new(() => TextCorpus.MobyDick());

    static TrainingOptions Quick => new() { Steps = 30, BatchSize = 8, BlockSize = 32, LearningRate = 3e-3, WarmupSteps = 5, EvalEvery = 10, EvalBatches = 2 };

    [Fact]
    public void Training_lowers_the_loss_and_evaluates_on_schedule()
    {
        using var model = TestModels.Random();
        var run = LanguageModelTraining.Train(model, Corpus.Value, Quick);
        Assert.Equal(TrainingOutcome.Completed, run.Outcome);
        Assert.Equal(30, run.Steps.Count);
        Assert.Equal(new[] { 10, 20, 30 }, run.Evaluations.Select(e => e.Step));
        Assert.True(run.Steps.TakeLast(5).Average(s => s.Loss) < run.Steps.Take(5).Average(s => s.Loss) - 1.0,
            $"loss went from {run.Steps[0].Loss:F3} to {run.Steps[^1].Loss:F3}");
        Assert.All(run.Steps, s => Assert.True(s.TokensPerSecond > 0));
    }

    [Fact]
    public void A_learning_rate_factor_scales_the_step_of_the_parameters_it_names()
    {
        using var model = nn.Linear(4, 2);
        var weight = model.weight!.detach().clone();
        var bias = model.bias!.detach().clone();
        using var x = ones(3, 4);
        var options = new TrainingOptions { Steps = 1, LearningRate = 1e-3, WarmupSteps = 0, WeightDecay = 0, GradientClip = 0, EvalEvery = 0 };
        Trainer.Run(model, _ => model.forward(x).pow(2).sum(), new TrainingRun("scaled", options, 3), learningRateScale: name => name == "bias" ? 10 : 1);
        // Adam's first step moves every parameter by about lr in the direction of its gradient's sign.
        Assert.Equal(1e-3, (model.weight!.detach() - weight).abs().mean().item<float>(), 4);
        Assert.Equal(1e-2, (model.bias!.detach() - bias).abs().mean().item<float>(), 3);
        var e = Assert.Throws<InvalidSettingsException>(() =>
            Trainer.Run(model, _ => model.forward(x).sum(), new TrainingRun("zero", options, 3), learningRateScale: _ => 0));
        Assert.Contains("positive", e.Message);
    }

    [Fact]
    public void The_same_seed_gives_the_same_losses()
    {
        using var a = TestModels.Random(seed: 3);
        using var b = TestModels.Random(seed: 3);
        var options = Quick with { Steps = 8, EvalEvery = 0 };
        var ra = LanguageModelTraining.Train(a, Corpus.Value, options);
        var rb = LanguageModelTraining.Train(b, Corpus.Value, options);
        Assert.Equal(ra.Steps.Select(s => s.Loss), rb.Steps.Select(s => s.Loss));
    }

    [Fact]
    public void The_schedule_warms_up_linearly_then_decays_by_cosine_to_the_floor()
    {
        var o = new TrainingOptions { Steps = 111, LearningRate = 1e-3, WarmupSteps = 10, MinLearningRateRatio = 0.1 };
        Assert.Equal(1e-4, o.LearningRateAt(0), 12);
        Assert.Equal(1e-3, o.LearningRateAt(9), 12);
        Assert.Equal(1e-3, o.LearningRateAt(10), 12);
        Assert.Equal(0.55e-3, o.LearningRateAt(60), 12); // halfway down the cosine: (1e-3 + 1e-4) / 2
        Assert.Equal(1e-4, o.LearningRateAt(110), 12);
        for (int s = 11; s <= 110; s++) Assert.True(o.LearningRateAt(s) <= o.LearningRateAt(s - 1));
    }

    [Fact]
    public void Cancelling_stops_between_steps_and_the_model_stays_usable()
    {
        using var model = TestModels.Random();
        using var cts = new CancellationTokenSource();
        var run = LanguageModelTraining.Train(model, Corpus.Value, Quick, progress: r => { if (r.Steps.Count == 3) cts.Cancel(); }, cancellation: cts.Token);
        Assert.Equal(TrainingOutcome.Cancelled, run.Outcome);
        Assert.Equal(3, run.Steps.Count);
        Assert.Contains("Cancelled after 3 of 30 steps", run.Message);
        Assert.Equal(3, run.CancelRequestedAfter);
        Assert.Equal(10, model.Generate([65, 66], new GenerationOptions { MaxNewTokens = 10 }).Length);
    }

    [Fact]
    public void A_nan_loss_stops_the_run_with_a_clear_message_before_touching_the_weights()
    {
        using var model = TestModels.Random();
        using var before = model.wte.weight!.clone();
        var run = Trainer.Run(model, step => model.wte.weight!.sum() * (step == 2 ? float.NaN : 0f), Quick with { Steps = 5, WeightDecay = 0 }, 1);
        Assert.Equal(TrainingOutcome.Diverged, run.Outcome);
        Assert.Equal(2, run.Steps.Count);
        Assert.Contains("Stopped at step 2: the loss became NaN", run.Message);
        Assert.Contains("Lower the learning rate", run.Message);
        Assert.True(before.allclose(model.wte.weight!));
    }

    /// <summary>Copies of every parameter and buffer, by name.</summary>
    static Dictionary<string, Tensor> State(nn.Module model) =>
        model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).Concat(model.named_buffers())
            .ToDictionary(p => p.Item1, p => p.Item2.detach().clone());

    static void AssertSameState(Dictionary<string, Tensor> expected, nn.Module model)
    {
        var actual = State(model);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, tensor) in expected)
            Assert.True(TestModels.Same(tensor, actual[name]), $"{name} differs from the state it should be back to");
    }

    [Fact]
    public void A_nan_loss_puts_weights_and_batch_norm_statistics_back_before_the_update_that_caused_it()
    {
        Seeding.Everything(3);
        using var model = nn.Sequential(("in", nn.Linear(6, 8)), ("bn", nn.BatchNorm1d(8)), ("out", nn.Linear(8, 1)));
        var g = new Generator(4);
        Dictionary<string, Tensor>? afterTwo = null;
        var options = Quick with { Steps = 6, WarmupSteps = 0, EvalEvery = 0 };
        var run = Trainer.Run(model, step =>
        {
            var loss = model.forward(randn([16, 6], generator: g)).pow(2).mean(); // moves the running statistics
            return step == 3 ? loss * float.NaN : loss;
        }, options, 16, progress: r => { if (r.Steps.Count == 2) afterTwo = State(model); });
        Assert.Equal(TrainingOutcome.Diverged, run.Outcome);
        Assert.Equal(3, run.Steps.Count);
        Assert.Contains("Stopped at step 3: the loss became NaN", run.Message);
        Assert.Contains("back to those after 2 steps", run.Message);
        AssertSameState(afterTwo!, model); // batch-norm running statistics included, though step 3's forward pass moved them
        Assert.True(ModelHealth.IsFinite(model));
        var thrown = Assert.Throws<TrainingDivergedException>(() => run.ThrowIfDiverged());
        Assert.Contains("Lower the learning rate", thrown.Message);
        Assert.Same(run, thrown.Run);
    }

    [Fact]
    public void An_update_that_overflows_is_undone_and_named()
    {
        using var model = nn.Linear(3, 2);
        var start = State(model);
        using var x = ones(4, 3);
        // No clipping, and gradients no finite number can hold: the optimizer's update makes the weights infinite.
        var options = new TrainingOptions { Steps = 3, LearningRate = 1e-3, WarmupSteps = 0, GradientClip = 0, EvalEvery = 0 };
        var run = Trainer.RunWithOwnBackward(model, _ =>
        {
            var loss = model.forward(x).sum();
            loss.backward();
            foreach (var p in model.parameters()) p.grad!.fill_(float.PositiveInfinity);
            return loss.detach();
        }, new TrainingRun("overflow", options, 4));
        Assert.Equal(TrainingOutcome.Diverged, run.Outcome);
        Assert.Contains("Stopped at step 0: the update made a weight or a batch-norm statistic NaN or infinite", run.Message);
        Assert.Contains("back to those after 0 steps", run.Message);
        AssertSameState(start, model);
    }

    [Fact]
    public void An_infinite_gradient_norm_stops_the_run_before_the_optimizer_moves()
    {
        using var model = nn.Linear(3, 2);
        var start = State(model);
        using var x = ones(4, 3);
        var run = Trainer.Run(model, _ => model.forward(x).sum() * 3e38f * 10f, Quick with { Steps = 2, WarmupSteps = 0, EvalEvery = 0 }, 4);
        Assert.Equal(TrainingOutcome.Diverged, run.Outcome);
        Assert.Contains("the loss became infinite", run.Message); // 3e39 is past float32: caught at the loss already
        AssertSameState(start, model);
        var huge = Trainer.Run(model, _ => model.forward(x).sum() * 1e30f, Quick with { Steps = 2, WarmupSteps = 0, EvalEvery = 0 }, 4);
        Assert.Equal(TrainingOutcome.Diverged, huge.Outcome);
        Assert.Contains("the gradient norm became infinite", huge.Message); // finite loss, gradient norm beyond float32
        AssertSameState(start, model);
    }

    [Fact]
    public void A_model_that_already_holds_nan_is_not_trained()
    {
        using var model = nn.Linear(3, 2);
        using (no_grad()) model.bias![1] = float.NaN;
        var e = Assert.Throws<EfficientMLException>(() => Trainer.Run(model, _ => model.forward(ones(1, 3)).sum(), Quick with { Steps = 1 }, 1));
        Assert.Contains("bias holds NaN", e.Message);
    }

    [Fact]
    public void Gradient_clipping_reports_the_norm_before_clipping()
    {
        using var model = TestModels.Random();
        var run = Trainer.Run(model, _ => model.wte.weight!.sum() * 1000f, Quick with { Steps = 2, GradientClip = 0.5 }, 1);
        Assert.All(run.Steps, s => Assert.True(s.GradientNorm > 0.5));
    }

    [Fact]
    public void Invalid_options_are_one_clear_error()
    {
        using var model = TestModels.Random();
        Assert.Contains("Steps must be 1 to 10,000,000 (got 0)", Assert.Throws<InvalidSettingsException>(() => LanguageModelTraining.Train(model, Corpus.Value, Quick with { Steps = 0 })).Message);
        Assert.Contains("exceeds the model's context length 48",
            Assert.Throws<InvalidSettingsException>(() => LanguageModelTraining.Train(model, Corpus.Value, Quick with { BlockSize = 64 })).Message);
    }
}
