using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Routing;
using EfficientML.Text;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Tests;

public class RoutingTests(ITestOutputHelper output)
{
    static readonly Lazy<TextCorpus> Corpus = new(() => TextCorpus.MobyDick());

    static (TinyGpt Dense, RoutedGpt Routed) Convert(long seed = 5, RoutingOptions? options = null)
    {
        var dense = TestModels.Random(TestModels.Small(), seed);
        TestModels.Scramble(dense, seed);
        return (dense, RoutedGpt.FromDense(dense, TestModels.Tokens(seed + 1, 40), options, seed));
    }

    [Fact]
    public void Nested_expert_is_the_dense_mlp_restricted_to_its_first_neurons()
    {
        var (dense, routed) = Convert();
        using var _d = dense;
        using var _r = routed;
        using var _ = no_grad();
        var mlp = routed.model.blocks[1].mlp;
        var input = randn(6, 32, generator: new Generator(3));
        foreach (var m in routed.Sizes.Neurons)
        {
            var hidden = F.gelu(input.matmul(mlp.fc.weight![..m].t()) + mlp.fc.bias![..m]);
            var expected = hidden.matmul(mlp.proj.weight![.., ..m].t()) + mlp.proj.bias!;
            Assert.True(TestModels.MaxAbsDiff(expected, NestedExperts.Expert(mlp, input, m)) < 1e-5, $"expert of {m} neurons");
        }
        Assert.True(TestModels.Same(mlp.forward(input), NestedExperts.Expert(mlp, input, routed.Sizes.Width)));
    }

    [Fact]
    public void Sorting_neurons_by_importance_keeps_the_function_and_puts_the_most_important_first()
    {
        var (dense, routed) = Convert();
        using var _d = dense;
        using var _r = routed;
        using var _ = no_grad();
        var tokens = TestModels.Tokens(9, 40);
        Assert.True(TestModels.MaxAbsDiff(dense.Forward(tokens), routed.model.Forward(tokens)) < 1e-4);
        var importance = routed.Importance;
        Assert.Equal(new long[] { 3, 64 }, importance.shape);
        Assert.True(importance[.., ..^1].ge(importance[.., 1..]).all().item<bool>(), "importance is decreasing");
        // Recomputed on the sorted model, neuron 0 is now the most important one.
        using var recomputed = NestedExperts.Importance(routed.model, TestModels.Tokens(6, 40));
        Assert.True(TestModels.MaxAbsDiff(recomputed, importance) < 1e-4);
    }

    [Fact]
    public void Theta_one_and_the_full_static_width_reproduce_the_dense_model_exactly()
    {
        var (dense, routed) = Convert();
        using var _d = dense;
        using var _r = routed;
        using var _ = no_grad();
        var tokens = TestModels.Tokens(21, 48);
        var reference = routed.model.Forward(tokens);
        using var atOne = routed.Run(tokens, ExpertChoice.AtTheta(1));
        using var full = routed.Run(tokens, new ExpertChoice.Static(routed.Sizes.Full));
        Assert.True(TestModels.Same(reference, atOne.Logits));
        Assert.True(TestModels.Same(reference, full.Logits));
        Assert.True(atOne.Experts.eq(routed.Sizes.Full).all().item<bool>());
    }

    [Fact]
    public void Theta_one_matches_the_unsorted_pretrained_model_up_to_float32_rounding()
    {
        using var dense = PretrainedModels.LoadTinyMoby();
        var tokens = TestModels.Tokens(31, 64);
        using var routed = RoutedGpt.FromDense(dense, tokens, seed: 3);
        using var _ = no_grad();
        using var original = dense.Forward(tokens);
        using var atOne = routed.Run(tokens, ExpertChoice.AtTheta(1));
        double relative = TestModels.MaxRelativeDiff(original, atOne.Logits);
        output.WriteLine($"θ = 1 against the unsorted original: max |Δ| {TestModels.MaxAbsDiff(original, atOne.Logits):E2}, {relative:E2} of the logits' scale");
        Assert.True(relative <= 1e-5, $"{relative:E2}"); // sorted sums differ by rounding only; the sorted copy is matched bit for bit (above)
    }

    [Fact]
    public void Grouped_execution_equals_the_masked_reference()
    {
        var (dense, routed) = Convert();
        using var _d = dense;
        using var _r = routed;
        using var _ = no_grad();
        var tokens = TestModels.Tokens(4, 48);
        var experts = randint(0, routed.Sizes.Count, [3, 1, 48], generator: new Generator(8), dtype: ScalarType.Int64);
        using var grouped = routed.Run(tokens, new ExpertChoice.Given(experts), RoutedExecution.Grouped);
        using var masked = routed.Run(tokens, new ExpertChoice.Given(experts), RoutedExecution.Masked);
        Assert.True(TestModels.MaxAbsDiff(grouped.Logits, masked.Logits) < 1e-4);
        Assert.True(TestModels.Same(experts, grouped.Experts));

        var mlp = routed.model.blocks[0].mlp;
        var input = randn(2, 10, 32, generator: new Generator(2));
        var perToken = randint(0, routed.Sizes.Count, [2, 10], generator: new Generator(5), dtype: ScalarType.Int64);
        Assert.True(TestModels.MaxAbsDiff(NestedExperts.Grouped(mlp, input, perToken, routed.Sizes),
                                          NestedExperts.Masked(mlp, input, perToken, routed.Sizes)) < 1e-5);
        // Every token on expert j: both equal the nested expert itself.
        var allOne = full(new long[] { 2, 10 }, 1L, dtype: ScalarType.Int64);
        Assert.True(TestModels.MaxAbsDiff(NestedExperts.Masked(mlp, input, allOne, routed.Sizes), NestedExperts.Expert(mlp, input, 32)) < 1e-5);
    }

    [Fact]
    public void Sensitivity_picks_the_smallest_expert_whose_cumulative_probability_reaches_theta()
    {
        var logits = tensor(new[] { 0.1f, 0.2f, 0.3f, 0.4f }).log().reshape(1, 4);
        Assert.Equal(0, Router.Choose(logits, 0).item<long>());
        Assert.Equal(0, Router.Choose(logits, 0.1).item<long>());
        Assert.Equal(1, Router.Choose(logits, 0.25).item<long>());
        Assert.Equal(2, Router.Choose(logits, 0.6).item<long>());
        Assert.Equal(3, Router.Choose(logits, 0.61).item<long>());
        Assert.Equal(3, Router.Choose(logits, 1).item<long>());
        var random = randn(500, 4, generator: new Generator(1)) * 3;
        var previous = Router.Choose(random, 0);
        Assert.True(previous.eq(0).all().item<bool>());
        foreach (var theta in new[] { 0.2, 0.4, 0.6, 0.8, 1.0 })
        {
            var next = Router.Choose(random, theta);
            Assert.True(next.ge(previous).all().item<bool>(), $"θ = {theta} never picks a smaller expert than a lower θ");
            previous = next;
        }
        Assert.True(previous.eq(3).all().item<bool>());
    }

    [Fact]
    public void A_label_is_the_smallest_expert_within_the_tolerance_of_the_full_model()
    {
        var (dense, routed) = Convert();
        using var _d = dense;
        using var _r = routed;
        using var _ = no_grad();
        var tokens = TestModels.Tokens(12, 41);
        var (x, y) = (tokens[.., ..40], tokens[.., 1..]);
        const double tolerance = 0.05;
        var labels = DifficultyLabels.Compute(routed, x, y, tolerance);
        Assert.Equal(x.shape, labels.shape);
        var losses = Enumerable.Range(0, routed.Sizes.Count).Select(j =>
        {
            using var o = routed.Run(x, new ExpertChoice.Static(j));
            return F.cross_entropy(o.Logits.reshape(-1, 256), y.reshape(-1), reduction: nn.Reduction.None).data<float>().ToArray();
        }).ToArray();
        var label = labels.reshape(-1).data<long>().ToArray();
        int full = routed.Sizes.Full;
        for (int t = 0; t < label.Length; t++)
        {
            double bound = losses[full][t] + tolerance;
            Assert.True(losses[label[t]][t] <= bound + 1e-5, $"token {t}: its expert is within the tolerance");
            for (int j = 0; j < label[t]; j++) Assert.True(losses[j][t] > bound - 1e-5, $"token {t}: no smaller expert fits");
        }
        Assert.True(label.Distinct().Count() > 1, "the scrambled model's tokens are not all equally hard");
        Assert.True(DifficultyLabels.Compute(routed, x, y, 1e6).eq(0).all().item<bool>());
        Assert.Equal(1.0, DifficultyLabels.Shares(labels, routed.Sizes.Count).Sum(), 6);
    }

    [Fact]
    public void Router_training_reduces_label_cross_entropy_and_leaves_frozen_experts_alone()
    {
        var dense = new TinyGpt(TestModels.Small(), 3);
        using var _d = dense;
        LanguageModelTraining.Train(dense, Corpus.Value, new TrainingOptions { Steps = 40, BatchSize = 8, BlockSize = 32, LearningRate = 3e-3, WarmupSteps = 4, EvalEvery = 0, EvalBatches = 1 });
        var options = new RoutingOptions { Tolerance = 0.1, ExpertTraining = ExpertTraining.None };
        using var routed = RoutedGpt.FromDense(dense, TestModels.Tokens(2, 40), options, seed: 1);
        var weights = routed.model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        var before = RoutingEvaluation.RouterFit(routed, Corpus.Value, options.Tolerance, evalBatches: 1);
        var run = RoutingFineTuning.FineTune(routed, Corpus.Value, options,
            new TrainingOptions { Steps = 60, BatchSize = 8, BlockSize = 32, LearningRate = 1e-2, WarmupSteps = 5, EvalEvery = 0, EvalBatches = 1 });
        var after = RoutingEvaluation.RouterFit(routed, Corpus.Value, options.Tolerance, evalBatches: 1);
        Assert.Equal(TrainingOutcome.Completed, run.Outcome);
        Assert.True(after.CrossEntropy < before.CrossEntropy - 0.1, $"label cross-entropy {before.CrossEntropy:F3} → {after.CrossEntropy:F3}");
        foreach (var (name, value) in routed.model.state_dict()) Assert.True(TestModels.Same(weights[name], value), name);
        Assert.All(routed.parameters(), p => Assert.True(p.requires_grad));
    }

    [Theory]
    [InlineData(ExpertTraining.Routed)]
    [InlineData(ExpertTraining.Elastic)]
    public void Fine_tuning_trains_routers_and_experts_and_keeps_theta_one_dense(ExpertTraining mode)
    {
        var (dense, routed) = Convert(options: new RoutingOptions { ExpertTraining = mode });
        using var _d = dense;
        using var _r = routed;
        var before = routed.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        var run = RoutingFineTuning.FineTune(routed, Corpus.Value, new RoutingOptions { ExpertTraining = mode },
            new TrainingOptions { Steps = 3, BatchSize = 2, BlockSize = 24, LearningRate = 1e-3, WarmupSteps = 1, EvalEvery = 0, EvalBatches = 1 });
        Assert.Equal(TrainingOutcome.Completed, run.Outcome);
        var after = routed.state_dict();
        Assert.False(TestModels.Same(before["routers.0.output.weight"], after["routers.0.output.weight"]), "the routers learn");
        Assert.False(TestModels.Same(before["model.blocks.0.mlp.fc.weight"], after["model.blocks.0.mlp.fc.weight"]), "the experts learn");
        using var _ = no_grad();
        var tokens = TestModels.Tokens(3, 30);
        using var atOne = routed.Run(tokens, ExpertChoice.AtTheta(1));
        Assert.True(TestModels.Same(routed.model.Forward(tokens), atOne.Logits));
    }

    [Fact]
    public void Evaluation_counts_the_compute_of_the_experts_used()
    {
        var (dense, routed) = Convert();
        using var _d = dense;
        using var _r = routed;
        var half = RoutingEvaluation.Evaluate(routed, Corpus.Value, new ExpertChoice.Static(1), evalBatches: 1);
        Assert.Equal(0.5, half.ComputeFraction, 9);
        Assert.All(half.Usage, row => Assert.Equal(new[] { 0.0, 1.0, 0.0, 0.0 }, row));
        var smallest = RoutingEvaluation.Evaluate(routed, Corpus.Value, ExpertChoice.AtTheta(0), evalBatches: 1);
        Assert.Equal(0.25, smallest.ActiveFraction, 9);
        Assert.True(smallest.ComputeFraction > 0.25, "router compute is counted");
        Assert.Equal(3 * 2.0 * 32 * 64, smallest.DenseMlpMultiplyAdds);
        // Routing by labels that every token passes at the smallest expert is the smallest static width.
        var oracle = RoutingEvaluation.Oracle(routed, Corpus.Value, tolerance: 1e6, evalBatches: 1);
        var quarter = RoutingEvaluation.Evaluate(routed, Corpus.Value, new ExpertChoice.Static(0), evalBatches: 1);
        Assert.Equal(quarter.ValidationLoss, oracle.ValidationLoss, 5);
        Assert.Equal(0.25, oracle.ComputeFraction, 9);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Theta_outside_zero_to_one_gets_one_message(double theta)
    {
        var e = Assert.Throws<InvalidSettingsException>(() => ExpertChoice.AtTheta(theta));
        Assert.Contains("[0, 1]", e.Message);
    }

    [Theory]
    [InlineData(new[] { 0.5, 0.25, 1.0 }, "increase")]
    [InlineData(new[] { 0.3, 1.0 }, "whole number")]
    [InlineData(new[] { 0.25, 0.5 }, "full width")]
    [InlineData(new[] { 1.0 }, "at least two")]
    [InlineData(new[] { 0.0, 1.0 }, "(0, 1]")]
    public void Bad_expert_sizes_get_one_message_naming_the_fix(double[] fractions, string expected)
    {
        var e = Assert.ThrowsAny<EfficientMLException>(() => ExpertSizes.FromFractions(64, fractions));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Bad_options_get_one_message()
    {
        Assert.Contains("nats", Assert.Throws<InvalidSettingsException>(() => new RoutingOptions { Tolerance = -1 }.Validate()).Message);
        Assert.Contains("increase", Assert.Throws<InvalidSettingsException>(() => new RoutingOptions { ExpertFractions = [0.5, 0.5, 1] }.Validate()).Message);
        Assert.Contains("RouterLearningRateScale", Assert.Throws<InvalidSettingsException>(() => new RoutingOptions { RouterLearningRateScale = 0 }.Validate()).Message);
        var (dense, routed) = Convert();
        using var _d = dense;
        using var _r = routed;
        Assert.Contains("0..3", Assert.Throws<InvalidSettingsException>(() => routed.Run(TestModels.Tokens(1, 8), new ExpertChoice.Static(4))).Message);
        var mlp = routed.model.blocks[0].mlp;
        using var input = zeros(2, 32);
        foreach (var bad in new long[] { 4, -1 })
            foreach (var execute in new Func<Tensor, Tensor>[] { e => NestedExperts.Grouped(mlp, input, e, routed.Sizes), e => NestedExperts.Masked(mlp, input, e, routed.Sizes) })
                Assert.Contains("0..3", Assert.Throws<InvalidSettingsException>(() => execute(tensor(new[] { 0L, bad }))).Message);
    }
}
