using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Routing;
using EfficientML.Text;

namespace EfficientML.Speculative.ExpertPrefetch;

/// <summary>
/// M2R2's ahead-of-time expert loading on a DynaMoE model: train M2R2 accelerators on the routed model's weights, train one
/// expert predictor on the slow state and one on the fast state after <see cref="ExpertPrefetchSettings.FromLayer"/>
/// blocks, trace the experts used and named over validation text, and simulate the two-tier memory for each fast-tier
/// size (<see cref="ExpertCacheSimulation"/>).
/// </summary>
public static class ExpertPrefetchStudy
{
    /// <summary>
    /// The whole experiment from the pretrained model: converts a copy of <paramref name="pretrained"/> to DynaMoE and
    /// fine-tunes it with <see cref="RoutingExperiments"/>' settings (quick or full), then runs the study on it with
    /// <see cref="ExpertPrefetchSettings.For"/>(<paramref name="quick"/>). Returns null when cancelled.
    /// </summary>
    public static ExpertPrefetchReport? Run(TinyGpt pretrained, TextCorpus corpus, bool quick, Action<string>? stage = null,
        Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(pretrained);
        ArgumentNullException.ThrowIfNull(corpus);
        stage?.Invoke("Converting the model to DynaMoE and fine-tuning its routers…");
        using var calibration = RoutingExperiments.Calibration(corpus, quick);
        using var routed = RoutedGpt.FromDense(pretrained, calibration, RoutingExperiments.Options, RoutingExperiments.RouterSeed);
        var tuning = RoutingFineTuning.FineTune(routed, corpus, RoutingExperiments.Options, RoutingExperiments.FineTuning(quick),
            progress: progress, cancellation: cancellation);
        if (cancellation.IsCancellationRequested || tuning.Outcome == TrainingOutcome.Cancelled) return null;
        tuning.ThrowIfDiverged();
        return Run(routed, corpus, ExpertPrefetchSettings.For(quick), null, stage, progress, cancellation);
    }

    /// <summary>
    /// The study on a routed model (left unchanged). <paramref name="adapters"/>: accelerators already trained on
    /// <c>routed.model</c> for an exit at <see cref="ExpertPrefetchSettings.FromLayer"/>; null: the study trains its own.
    /// Returns null when cancelled.
    /// </summary>
    public static ExpertPrefetchReport? Run(RoutedGpt routed, TextCorpus corpus, ExpertPrefetchSettings settings, AcceleratorAdapters? adapters = null,
        Action<string>? stage = null, Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(routed);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate(routed.Config.Layers);
        int k = settings.FromLayer;
        var costs = settings.Costs ?? ExpertLoadCosts.For(routed.Config);
        adapters?.CheckFor(routed.Config, k);
        var own = adapters is null ? AcceleratorAdapters.For(routed.model, k, settings.AcceleratorRank) : null;
        using var slow = ExpertPredictor.For(routed, k, settings.PredictorHidden, settings.PredictorSeed);
        using var fast = ExpertPredictor.For(routed, k, settings.PredictorHidden, settings.PredictorSeed);
        try
        {
            TrainingRun? acceleratorRun = null;
            if (own is not null)
            {
                stage?.Invoke($"Training M2R2 accelerators on the routed model's weights, aligned at layer {k}…");
                acceleratorRun = AcceleratorTraining.Train(routed.model, own, corpus, settings.AcceleratorTraining,
                    new AcceleratorOptions { Exits = [k] }, progress, cancellation);
                if (Cancelled(acceleratorRun, cancellation)) return null;
            }
            var accelerators = adapters ?? own!;
            stage?.Invoke($"Training the expert predictor on the slow state after layer {k}…");
            var slowRun = ExpertPrediction.Train(slow, routed, settings.Theta, corpus, settings.PredictorTraining, null, progress, cancellation);
            if (Cancelled(slowRun, cancellation)) return null;
            stage?.Invoke($"Training the expert predictor on the fast state after layer {k}…");
            var fastRun = ExpertPrediction.Train(fast, routed, settings.Theta, corpus, settings.PredictorTraining, accelerators, progress, cancellation);
            if (Cancelled(fastRun, cancellation)) return null;
            stage?.Invoke("Tracing the experts used and named on the validation text…");
            var frequent = ExpertPrediction.MostFrequent(routed, corpus, settings.Theta, settings.FrequencyBatches, settings.TraceBatchSize, settings.TraceBlockSize);
            var traces = ExpertPrediction.Collect(routed, corpus, settings.Theta, slow, fast, accelerators, frequent,
                settings.TraceBatches, settings.TraceBatchSize, settings.TraceBlockSize);
            stage?.Invoke("Simulating the two-tier memory…");
            var rows = Simulate(traces, settings.CacheExperts, costs, settings.Eviction);
            return new ExpertPrefetchReport(settings, costs, traces, traces.Accuracy(), rows, acceleratorRun, slowRun, fastRun);
        }
        finally
        {
            own?.Dispose();
        }
    }

    /// <summary>
    /// Every policy on <paramref name="traces"/> for each fast-tier size in <paramref name="cacheExperts"/> (full experts),
    /// smallest first, all evicting by <paramref name="eviction"/>.
    /// </summary>
    public static IReadOnlyList<ExpertPrefetchRow> Simulate(ExpertTraces traces, IReadOnlyList<int> cacheExperts, ExpertLoadCosts costs,
        ExpertEviction eviction = ExpertEviction.LeastRecentlyUsed)
    {
        ArgumentNullException.ThrowIfNull(traces);
        ArgumentNullException.ThrowIfNull(cacheExperts);
        var sizes = traces.Sizes;
        int k = traces.FromLayer;
        return cacheExperts.Order().Select(n =>
        {
            int capacity = ExpertCacheSimulation.FullExperts(sizes, n);
            ExpertCacheResult Ahead(int[,] predicted, string name) =>
                ExpertCacheSimulation.AheadOfTime(sizes, traces.Experts, predicted, k, capacity, costs, name, eviction);
            return new ExpertPrefetchRow(n, capacity,
                ExpertCacheSimulation.OnDemand(sizes, traces.Experts, capacity, costs, eviction),
                Ahead(traces.SameAsLayerK, $"AoT same as layer {k}"),
                Ahead(traces.SlowState, "AoT slow state"),
                traces.FastState is null ? null : Ahead(traces.FastState, "AoT fast state"),
                ExpertCacheSimulation.Oracle(sizes, traces.Experts, k, capacity, costs, eviction));
        }).ToList();
    }

    static bool Cancelled(TrainingRun run, CancellationToken cancellation) =>
        cancellation.IsCancellationRequested || run.Outcome == TrainingOutcome.Cancelled;
}
