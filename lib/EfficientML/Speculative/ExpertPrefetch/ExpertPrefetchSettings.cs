using EfficientML.Core;
using EfficientML.Routing;

namespace EfficientML.Speculative.ExpertPrefetch;

/// <summary>Settings of <see cref="ExpertPrefetchStudy"/>: where to predict from, what to train, what to trace and which caches to simulate.</summary>
public sealed record ExpertPrefetchSettings
{
    /// <summary>Sensitivity θ of the routed model whose experts are traced.</summary>
    public double Theta { get; init; } = 0.5;

    /// <summary>The predictors read the state after this many blocks (1 … L−1) and fetch for every block after it.</summary>
    public int FromLayer { get; init; } = 2;

    /// <summary>Fast-tier sizes simulated, in full experts (MLPs of the model).</summary>
    public IReadOnlyList<int> CacheExperts { get; init; } = [1, 2, 3, 4, 6];

    /// <summary>The time model; null: <see cref="ExpertLoadCosts.For"/> the model's configuration.</summary>
    public ExpertLoadCosts? Costs { get; init; }

    /// <summary>Which slice the fast tier evicts when full (the same for every policy).</summary>
    public ExpertEviction Eviction { get; init; } = ExpertEviction.LeastRecentlyUsed;

    /// <summary>Hidden width of each predictor head (0 = LayerNorm and a linear layer).</summary>
    public int PredictorHidden { get; init; } = 64;

    /// <summary>Seed of the predictors' initial weights (both start from the same weights).</summary>
    public long PredictorSeed { get; init; } = 17;

    /// <summary>Training of each predictor.</summary>
    public TrainingOptions PredictorTraining { get; init; } = new()
    {
        Steps = 300, BatchSize = 16, BlockSize = 256, LearningRate = 3e-3, WarmupSteps = 20, EvalEvery = 100, EvalBatches = 4,
    };

    /// <summary>Training of the M2R2 accelerators (when the study makes them), aligned at <see cref="FromLayer"/> only.</summary>
    public TrainingOptions AcceleratorTraining { get; init; } = new()
    {
        Steps = 200, BatchSize = 16, BlockSize = 256, LearningRate = 3e-3, WarmupSteps = 20, EvalEvery = 100, EvalBatches = 4,
    };

    /// <summary>Rank of the accelerators the study makes.</summary>
    public int AcceleratorRank { get; init; } = 32;

    /// <summary>Training windows behind the most-frequent-expert baseline (batches of <see cref="TraceBatchSize"/>).</summary>
    public int FrequencyBatches { get; init; } = 8;

    /// <summary>Batches of consecutive validation windows traced (the decoded sequence).</summary>
    public int TraceBatches { get; init; } = 4;

    /// <summary>Windows per traced batch.</summary>
    public int TraceBatchSize { get; init; } = 8;

    /// <summary>Tokens per traced window (at most the model's context).</summary>
    public int TraceBlockSize { get; init; } = 256;

    /// <summary>
    /// Small and fast (with <see cref="ExpertPrefetchStudy.Run(Models.TinyGpt, Text.TextCorpus, bool, Action{string}?, Action{TrainingRun}?, CancellationToken)"/>'s
    /// quick routing fine-tune, well under a minute on two CPU cores): for tests and notebooks; the figures are indicative only.
    /// </summary>
    public static ExpertPrefetchSettings Quick { get; } = new()
    {
        PredictorTraining = new() { Steps = 60, BatchSize = 8, BlockSize = 128, LearningRate = 3e-3, WarmupSteps = 6, EvalEvery = 30, EvalBatches = 1 },
        AcceleratorTraining = new() { Steps = 40, BatchSize = 8, BlockSize = 128, LearningRate = 3e-3, WarmupSteps = 4, EvalEvery = 20, EvalBatches = 1 },
        FrequencyBatches = 2, TraceBatches = 2, TraceBatchSize = 8, TraceBlockSize = 128,
    };

    /// <summary>The benchmark's settings (the defaults).</summary>
    public static ExpertPrefetchSettings Full { get; } = new();

    /// <summary>Quick or full.</summary>
    public static ExpertPrefetchSettings For(bool quick) => quick ? Quick : Full;

    /// <summary>Throws one clear message for the first setting that cannot work with a model of <paramref name="layers"/> layers.</summary>
    public ExpertPrefetchSettings Validate(int layers)
    {
        Router.CheckTheta(Theta);
        ExpertPredictor.CheckFromLayer(FromLayer, layers);
        static void Need(bool ok, string message) { if (!ok) throw new InvalidSettingsException($"Invalid expert prefetch settings: {message}"); }
        Need(CacheExperts is { Count: > 0 } && CacheExperts.All(c => c >= 1),
            "give at least one cache size, each at least 1 full expert (the largest expert must fit), e.g. [1, 2, 4].");
        Need(PredictorHidden >= 0, $"PredictorHidden must be 0 (linear heads) or more, not {PredictorHidden}.");
        Need(AcceleratorRank >= 1, $"AcceleratorRank must be at least 1, not {AcceleratorRank}.");
        Need(FrequencyBatches >= 1 && TraceBatches >= 1 && TraceBatchSize >= 1 && TraceBlockSize >= 1,
            "FrequencyBatches, TraceBatches, TraceBatchSize and TraceBlockSize must be at least 1.");
        Costs?.Validate();
        PredictorTraining.Validate();
        AcceleratorTraining.Validate();
        return this;
    }
}
