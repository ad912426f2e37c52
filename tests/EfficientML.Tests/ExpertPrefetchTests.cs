using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Routing;
using EfficientML.Speculative;
using EfficientML.Speculative.ExpertPrefetch;
using EfficientML.Text;
using static TorchSharp.torch;

namespace EfficientML.Tests;

public class ExpertPrefetchTests
{
    static readonly Lazy<TextCorpus> Corpus = new(() => TextCorpus.MobyDick());

    // Two layers, experts of 2 and 4 neurons (slices of 2 + 2). Attention 10, MLP 1 per neuron, loads 1 per neuron.
    static readonly ExpertSizes TwoSizes = ExpertSizes.FromNeurons(4, [2, 4]);
    static readonly ExpertLoadCosts Unit = new() { AttentionTime = 10, NeuronTime = 1, LoadTimePerNeuron = 1 };
    static readonly int[,] Trace = { { 1, 0, 1 }, { 0, 0, 1 } };   // [layer, token]

    static (TinyGpt Dense, RoutedGpt Routed) Convert(long seed = 5)
    {
        var dense = TestModels.Random(TestModels.Small(), seed);
        TestModels.Scramble(dense, seed);
        return (dense, RoutedGpt.FromDense(dense, TestModels.Tokens(seed + 1, 40), null, seed));
    }

    static void Expect(ExpertCacheResult r, int hits, long loaded, double compute, double stall)
    {
        Assert.Equal(hits, r.Hits);
        Assert.Equal(loaded, r.NeuronsLoaded);
        Assert.Equal(compute, r.ComputeTime, 9);
        Assert.Equal(stall, r.StallTime, 9);
    }

    [Fact]
    public void On_demand_loading_of_a_hand_made_trace_costs_what_was_computed_by_hand()
    {
        // Cache of one full expert. Token 0: layer 0 misses expert 1 (load 4, stall 4), layer 1 misses expert 0 and evicts
        // layer 0's second slice (stall 2). Token 1 hits twice. Token 2: layer 0 reloads its second slice (stall 2), layer 1
        // evicts all of layer 0 and loads its full expert (stall 4). Compute: 6 × 10 + (4+2+2+2+4+4) = 78.
        var r = ExpertCacheSimulation.OnDemand(TwoSizes, Trace, 4, Unit);
        Assert.Equal(6, r.Requests);
        Assert.Equal(3, r.Tokens);
        Expect(r, hits: 2, loaded: 12, compute: 78, stall: 12);
        Assert.Equal(90, r.TotalTime, 9);
        Assert.Equal(30, r.LatencyPerToken, 9);
        Assert.Equal(2 / 6.0, r.HitRate, 12);
    }

    [Fact]
    public void Ahead_of_time_loading_hides_loads_behind_the_attention_of_the_predicted_block()
    {
        // Cache of two full experts: everything fits after the first loads.
        var onDemand = ExpertCacheSimulation.OnDemand(TwoSizes, Trace, 8, Unit);
        Expect(onDemand, hits: 3, loaded: 8, compute: 78, stall: 4 + 2 + 2);
        // Oracle: layer 1's expert is queued after layer 0 (at 18), loads during layer 1's attention (done at 20 < 28);
        // token 2's second slice is queued at 68 and done at 70 < 78. Only the first layer-0 miss stalls.
        var oracle = ExpertCacheSimulation.Oracle(TwoSizes, Trace, 1, 8, Unit);
        Expect(oracle, hits: 5, loaded: 8, compute: 78, stall: 4);
        Assert.Equal(82, oracle.TotalTime, 9);
        // Too large at token 0 (the full expert, which token 2 then finds), right at token 1, too small at token 2: still 5 hits.
        int[,] predictedLarge = { { 0, 0, 0 }, { 1, 0, 0 } };
        Expect(ExpertCacheSimulation.AheadOfTime(TwoSizes, Trace, predictedLarge, 1, 8, Unit), hits: 5, loaded: 8, compute: 78, stall: 4);
        // Always the small expert: token 2's layer 1 loads its second slice on demand at 78 (stall 2).
        int[,] predictedSmall = { { 0, 0, 0 }, { 0, 0, 0 } };
        Expect(ExpertCacheSimulation.AheadOfTime(TwoSizes, Trace, predictedSmall, 1, 8, Unit), hits: 4, loaded: 8, compute: 78, stall: 4 + 2);
    }

    [Fact]
    public void A_late_prefetch_stalls_only_for_the_rest_of_its_load()
    {
        // One token, loads 5 per neuron. Layer 0 misses expert 0: load 10→20, MLP to 22. On demand, layer 1 asks at 32 and
        // loads 4 neurons until 52. Ahead of time both slices are queued at 22: 22→32 and 32→42, so the MLP waits 10, not 20.
        var costs = Unit with { LoadTimePerNeuron = 5 };
        int[,] trace = { { 0 }, { 1 } };
        var onDemand = ExpertCacheSimulation.OnDemand(TwoSizes, trace, 8, costs);
        var oracle = ExpertCacheSimulation.Oracle(TwoSizes, trace, 1, 8, costs);
        Expect(onDemand, hits: 0, loaded: 6, compute: 26, stall: 30);
        Expect(oracle, hits: 1, loaded: 6, compute: 26, stall: 20);
        Assert.Equal(56 / 46.0, oracle.SpeedUpOver(onDemand), 12);
    }

    [Fact]
    public void A_too_large_prediction_still_serves_and_its_unstarted_rest_is_cancelled()
    {
        // Layer 1 needs expert 0 but expert 1 was predicted: slice 0 loads 22→32 and serves; slice 1 would start at 32,
        // when layer 1 has already asked for less, so it is never loaded.
        var costs = Unit with { LoadTimePerNeuron = 5 };
        int[,] trace = { { 0 }, { 0 } };
        int[,] predicted = { { 0 }, { 1 } };
        var r = ExpertCacheSimulation.AheadOfTime(TwoSizes, trace, predicted, 1, 8, costs);
        Expect(r, hits: 1, loaded: 4, compute: 24, stall: 10);
    }

    [Fact]
    public void Lru_thrashes_on_the_block_cycle_where_evicting_the_furthest_block_keeps_some()
    {
        // Three blocks always on the full expert (4 neurons) and room for two: LRU evicts exactly the block needed next,
        // so every request misses. Evicting the block that runs furthest ahead keeps one: token 1 finds blocks 0 and 2,
        // token 2 finds block 1.
        int[,] trace = { { 1, 1, 1 }, { 1, 1, 1 }, { 1, 1, 1 } };
        var lru = ExpertCacheSimulation.OnDemand(TwoSizes, trace, 8, Unit);
        var furthest = ExpertCacheSimulation.OnDemand(TwoSizes, trace, 8, Unit, ExpertEviction.FurthestLayer);
        Assert.Equal(0, lru.Hits);
        Assert.Equal(36, lru.NeuronsLoaded);
        Assert.Equal(3, furthest.Hits);
        Assert.Equal(24, furthest.NeuronsLoaded);
    }

    static int[,] RandomTrace(Random random, int layers, int tokens, int experts)
    {
        var trace = new int[layers, tokens];
        for (int l = 0; l < layers; l++)
            for (int t = 0; t < tokens; t++) trace[l, t] = random.Next(experts);
        return trace;
    }

    [Fact]
    public void With_room_for_every_expert_each_slice_is_loaded_once()
    {
        var sizes = ExpertSizes.FromNeurons(8, [2, 4, 6, 8]);
        var random = new Random(3);
        var trace = RandomTrace(random, 4, 60, 4);
        int capacity = ExpertCacheSimulation.FullExperts(sizes, 4);
        long expectedLoaded = 0;
        int expectedMisses = 0;
        for (int l = 0; l < 4; l++)
        {
            int largest = -1;
            for (int t = 0; t < 60; t++)
                if (trace[l, t] > largest)
                {
                    largest = trace[l, t];
                    expectedMisses++;
                }
            expectedLoaded += sizes.Neurons[largest];
        }
        var costs = new ExpertLoadCosts { AttentionTime = 16, NeuronTime = 1, LoadTimePerNeuron = 5 };
        var onDemand = ExpertCacheSimulation.OnDemand(sizes, trace, capacity, costs);
        Assert.Equal(expectedLoaded, onDemand.NeuronsLoaded);
        Assert.Equal(240 - expectedMisses, onDemand.Hits);
        var oracle = ExpertCacheSimulation.Oracle(sizes, trace, 2, capacity, costs);
        Assert.Equal(expectedLoaded, oracle.NeuronsLoaded);
        Assert.True(oracle.Hits >= onDemand.Hits);
        var furthest = ExpertCacheSimulation.OnDemand(sizes, trace, capacity, costs, ExpertEviction.FurthestLayer);
        Assert.Equal(onDemand, furthest);
    }

    [Fact]
    public void Oracle_never_misses_more_or_runs_slower_than_on_demand_and_every_policy_computes_the_same()
    {
        var sizes = ExpertSizes.FromNeurons(8, [2, 4, 6, 8]);
        var random = new Random(11);
        for (int trial = 0; trial < 300; trial++)
        {
            int layers = random.Next(2, 7), tokens = random.Next(1, 40), k = random.Next(1, layers);
            var trace = RandomTrace(random, layers, tokens, 4);
            var guess = RandomTrace(random, layers, tokens, 4);
            var costs = new ExpertLoadCosts { AttentionTime = random.Next(0, 20), NeuronTime = random.Next(0, 3), LoadTimePerNeuron = random.Next(0, 12) };
            int capacity = random.Next(8, 8 * layers + 9);
            var onDemand = ExpertCacheSimulation.OnDemand(sizes, trace, capacity, costs);
            var oracle = ExpertCacheSimulation.Oracle(sizes, trace, k, capacity, costs);
            var ahead = ExpertCacheSimulation.AheadOfTime(sizes, trace, guess, k, capacity, costs);
            var perfect = ExpertCacheSimulation.AheadOfTime(sizes, trace, trace, k, capacity, costs);
            string where = $"trial {trial}: {layers} layers, {tokens} tokens, k = {k}, capacity {capacity}, {costs}";
            Assert.True(oracle.TotalTime <= onDemand.TotalTime + 1e-9, $"{where}: oracle {oracle.TotalTime} > on demand {onDemand.TotalTime}");
            Assert.Equal(oracle with { Policy = "ahead of time" }, perfect);
            Assert.True(oracle.Hits >= onDemand.Hits, $"{where}: oracle hits: {oracle.Hits} < {onDemand.Hits}");
            foreach (var r in new[] { onDemand, oracle, ahead })
            {
                Assert.Equal(onDemand.ComputeTime, r.ComputeTime, 9);
                Assert.InRange(r.Hits, 0, r.Requests);
                Assert.True(r.StallTime >= 0, where);
            }
            var free = ExpertCacheSimulation.AheadOfTime(sizes, trace, guess, k, capacity, costs with { LoadTimePerNeuron = 0 });
            Assert.Equal(0, free.StallTime);
            var furthest = ExpertCacheSimulation.AheadOfTime(sizes, trace, guess, k, capacity, costs, eviction: ExpertEviction.FurthestLayer);
            Assert.Equal(onDemand.ComputeTime, furthest.ComputeTime, 9);
            Assert.InRange(furthest.Hits, 0, furthest.Requests);
            Assert.True(furthest.StallTime >= 0, where);
        }
    }

    [Fact]
    public void Bad_simulation_input_gets_one_message_naming_the_fix()
    {
        var fromZero = Assert.Throws<InvalidSettingsException>(() => ExpertCacheSimulation.Oracle(TwoSizes, Trace, 0, 8, Unit));
        Assert.Contains("choose fromLayer in 1..1", fromZero.Message);
        var fromLast = Assert.Throws<InvalidSettingsException>(() => ExpertCacheSimulation.Oracle(TwoSizes, Trace, 2, 8, Unit));
        Assert.Contains("choose fromLayer in 1..1", fromLast.Message);
        var small = Assert.Throws<InvalidSettingsException>(() => ExpertCacheSimulation.OnDemand(TwoSizes, Trace, 3, Unit));
        Assert.Contains("give at least 4 (one full expert)", small.Message);
        var negative = Assert.Throws<InvalidSettingsException>(() => ExpertCacheSimulation.OnDemand(TwoSizes, Trace, 4, Unit with { LoadTimePerNeuron = -1 }));
        Assert.Contains("LoadTimePerNeuron must be 0 or more", negative.Message);
        var attention = Assert.Throws<InvalidSettingsException>(() => ExpertCacheSimulation.OnDemand(TwoSizes, Trace, 4, Unit with { AttentionTime = -1 }));
        Assert.Contains("AttentionTime must be 0 or more", attention.Message);
        var expert = Assert.Throws<InvalidSettingsException>(() => ExpertCacheSimulation.OnDemand(TwoSizes, new[,] { { 0 }, { 2 } }, 4, Unit));
        Assert.Contains("use 0..1", expert.Message);
        var shape = Assert.Throws<InvalidSettingsException>(() => ExpertCacheSimulation.AheadOfTime(TwoSizes, Trace, new int[2, 2], 1, 4, Unit));
        Assert.Contains("give one per layer and token", shape.Message);
        Assert.Throws<InvalidSettingsException>(() => new ExpertPrefetchSettings { FromLayer = 3 }.Validate(3));
        Assert.Throws<InvalidSettingsException>(() => new ExpertPrefetchSettings { CacheExperts = [0] }.Validate(3));
    }

    [Fact]
    public void Accuracy_counts_exact_and_covering_predictions_per_later_block()
    {
        int[,] experts = { { 0, 1, 2, 3 }, { 1, 1, 2, 0 }, { 3, 2, 1, 0 } };
        int[,] predicted = { { 9, 9, 9, 9 }, { 1, 0, 3, 0 }, { 3, 3, 0, 0 } };
        var a = ExpertPredictionAccuracy.Of("test", experts, predicted, 1);
        Assert.Equal(new[] { 0.5, 0.5 }, a.Exact);
        Assert.Equal(new[] { 0.75, 0.75 }, a.Covering);
        Assert.Equal(0.5, a.MeanExact, 12);
        Assert.Throws<InvalidSettingsException>(() => ExpertPredictionAccuracy.Of("test", experts, predicted, 3));
    }

    [Fact]
    public void Capture_records_the_experts_of_the_routed_run_and_its_states()
    {
        var (dense, routed) = Convert();
        using var _d = dense;
        using var _r = routed;
        using var _ = no_grad();
        var tokens = TestModels.Tokens(12, 40);
        using var run = routed.Run(tokens, ExpertChoice.AtTheta(0.5));
        var (experts, states) = ExpertPrediction.Capture(routed, tokens, 0.5, 2);
        Assert.True(TestModels.Same(run.Experts, experts));
        Assert.Equal(new long[] { 3, 1, 40, 32 }, states.shape);
        // At θ = 1 every MLP is the full one, so the states are the dense model's.
        var (_, full) = ExpertPrediction.Capture(routed, tokens, 1.0, 3);
        Assert.True(TestModels.MaxAbsDiff(full, routed.model.HiddenStates(tokens)) < 1e-5);
    }

    [Fact]
    public void Predictor_gives_logits_for_every_later_block_and_rejects_layers_without_one()
    {
        var (dense, routed) = Convert();
        using var _d = dense;
        using var _r = routed;
        using var predictor = ExpertPredictor.For(routed, 1);
        using var state = randn(2, 5, 32);
        Assert.Equal(new long[] { 2, 2, 5, 4 }, predictor.Logits(state).shape);
        Assert.Equal(new long[] { 2, 2, 5 }, predictor.Predict(state).shape);
        Assert.Equal(2, predictor.PredictedLayers);
        var message = Assert.Throws<InvalidSettingsException>(() => ExpertPredictor.For(routed, 3)).Message;
        Assert.Contains("choose fromLayer in 1..2", message);
        Assert.Throws<InvalidSettingsException>(() => ExpertPredictor.For(routed, 0));
        // Zero-initialised accelerators leave the fast state equal to the slow one.
        using var adapters = AcceleratorAdapters.For(routed.model, 1);
        using var tokens = TestModels.Tokens(2, 20);
        using var _g = no_grad();
        var (_, states) = ExpertPrediction.Capture(routed, tokens, 0.5, 1);
        Assert.True(TestModels.Same(states[1], ExpertPrediction.Input(states, 1, adapters)));
    }

    [Fact]
    public void Training_the_predictor_lowers_its_loss()
    {
        var (dense, routed) = Convert(8);
        using var _d = dense;
        using var _r = routed;
        using var predictor = ExpertPredictor.For(routed, 1, hidden: 16);
        var training = new TrainingOptions { Steps = 30, BatchSize = 4, BlockSize = 32, LearningRate = 1e-2, WarmupSteps = 2, EvalEvery = 0, EvalBatches = 2, EvalAtStart = true };
        var run = ExpertPrediction.Train(predictor, routed, 0.5, Corpus.Value, training);
        Assert.Equal(TrainingOutcome.Completed, run.Outcome);
        var evaluations = run.Evaluations;
        Assert.True(evaluations[^1].ValidationLoss < evaluations[0].ValidationLoss - 0.05,
            $"validation loss {evaluations[0].ValidationLoss:F3} → {evaluations[^1].ValidationLoss:F3}");
    }

    [Fact]
    public void Study_traces_the_validation_text_and_simulates_every_cache_size()
    {
        var (dense, routed) = Convert(9);
        using var _d = dense;
        using var _r = routed;
        var settings = new ExpertPrefetchSettings
        {
            FromLayer = 1, CacheExperts = [2, 1],
            PredictorTraining = new() { Steps = 2, BatchSize = 2, BlockSize = 16, WarmupSteps = 0, EvalEvery = 0, EvalBatches = 1 },
            AcceleratorTraining = new() { Steps = 2, BatchSize = 2, BlockSize = 16, WarmupSteps = 0, EvalEvery = 0, EvalBatches = 1 },
            FrequencyBatches = 1, TraceBatches = 2, TraceBatchSize = 2, TraceBlockSize = 32,
        };
        var report = ExpertPrefetchStudy.Run(routed, Corpus.Value, settings)!;
        Assert.Equal(128, report.Traces.Tokens);
        Assert.Equal(new[] { 1, 2 }, report.Rows.Select(r => r.CacheExperts));
        Assert.Equal(4, report.Accuracy.Count);
        Assert.Equal(5, report.Rows[0].Policies.Count());
        for (int t = 0; t < report.Traces.Tokens; t++) Assert.Equal(report.Traces.Experts[0, t], report.Traces.SameAsLayerK[2, t]);
        foreach (var row in report.Rows) Assert.True(row.Oracle.TotalTime <= row.OnDemand.TotalTime + 1e-9);
        Assert.Contains("AoT fast state", report.ToTable());
    }
}
