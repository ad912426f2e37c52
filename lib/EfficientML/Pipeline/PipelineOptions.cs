using EfficientML.Core;
using EfficientML.Routing;

namespace EfficientML.Pipeline;

/// <summary>
/// Settings of every step of a <see cref="DeploymentPipeline"/>. <see cref="For"/> gives the recipe the notebook and the
/// benchmark share; quick mode keeps each step to seconds. Training block sizes above the model's context are cut to it.
/// </summary>
public sealed record PipelineOptions
{
    /// <summary>Width factor of HyperCloning (2 or 4 in the notebook).</summary>
    public int GrowFactor { get; init; } = 2;

    /// <summary>Noise added to the clones, in dB of signal-to-noise (zero-sum, so the function is kept); null = exact copies.</summary>
    public double? CloneNoiseSnrDb { get; init; } = 10;

    /// <summary>
    /// Brief training of the grown model. A fresh AdamW moves every weight by about the learning rate in its first steps,
    /// and a clone's weights are the original's divided by the width factor, so the rate the pretrained run ended at (3e-4)
    /// pushed the clone off its minimum: with this recipe 200 steps took the grown model from 2.085 to 2.134 bits per byte
    /// at 3e-4 (60 steps), to 2.083 at 1e-4 and to 2.067 at 5e-5.
    /// </summary>
    public TrainingOptions Training { get; init; } = new() { Steps = 200, BatchSize = 16, BlockSize = 128, LearningRate = 5e-5, WarmupSteps = 20, EvalEvery = 50, EvalBatches = 4, Seed = 21 };

    /// <summary>Width of the draft model as a fraction of the target's (rounded to whole heads).</summary>
    public double DraftWidth { get; init; } = 0.25;

    /// <summary>Layers of the draft model as a fraction of the target's (at least one).</summary>
    public double DraftDepth { get; init; } = 0.25;

    /// <summary>Training of the draft model after subcloning.</summary>
    public TrainingOptions DraftTraining { get; init; } = new() { Steps = 400, BatchSize = 16, BlockSize = 128, LearningRate = 3e-3, WarmupSteps = 20, EvalEvery = 100, EvalBatches = 4, Seed = 22 };

    /// <summary>Nested experts and routers of the DynaMoE step; the routers learn 100× faster than the (already trained) experts.</summary>
    public RoutingOptions Routing { get; init; } = new() { RouterLearningRateScale = 100 };

    /// <summary>Fine-tuning of routers and experts, at the gentle rate of <see cref="Training"/> for the experts.</summary>
    public TrainingOptions RoutingTraining { get; init; } = new() { Steps = 100, BatchSize = 16, BlockSize = 128, LearningRate = 5e-5, WarmupSteps = 10, EvalEvery = 50, EvalBatches = 4, Seed = 23 };

    /// <summary>Sensitivities θ of the routing sweep the operating point is picked from.</summary>
    public IReadOnlyList<double> Thetas { get; init; } = RoutingEvaluation.DefaultThetas;

    /// <summary>The loss budget: the cheapest θ whose validation loss is within this fraction of the dense loss is kept.</summary>
    public double LossBudget { get; init; } = 0.02;

    /// <summary>Bits per weight of the palettes (a table of 2^bits values per layer).</summary>
    public int Bits { get; init; } = 4;

    /// <summary>Other bit widths the cluster step also fine-tunes, each on a copy with the same recipe, for comparison (not kept).</summary>
    public IReadOnlyList<int> CompareBits { get; init; } = [3];

    /// <summary>DKM's softmax temperature τ (absolute, in squared weight units).</summary>
    public double ClusterTemperature { get; init; } = Clustering.ClusteringExperiments.Temperature;

    /// <summary>DKM fine-tuning of the clustered model.</summary>
    public TrainingOptions ClusterTraining { get; init; } = new() { Steps = 100, BatchSize = 16, BlockSize = 128, LearningRate = 1e-4, WarmupSteps = 10, EvalEvery = 50, EvalBatches = 4, Seed = 24 };

    /// <summary>Training of the M2R2 accelerators (the model stays frozen).</summary>
    public TrainingOptions AcceleratorTraining { get; init; } = new() { Steps = 200, BatchSize = 16, BlockSize = 128, LearningRate = 2e-3, WarmupSteps = 20, WeightDecay = 0, EvalEvery = 100, EvalBatches = 4, Seed = 25 };

    /// <summary>Rank of the M2R2 accelerators.</summary>
    public int AcceleratorRank { get; init; } = 64;

    /// <summary>Draft tokens per speculative round.</summary>
    public int Gamma { get; init; } = 3;

    /// <summary>Prompts decoded for every speed measurement.</summary>
    public int DecodePrompts { get; init; } = 2;

    /// <summary>New tokens per prompt in every speed measurement.</summary>
    public int DecodeTokens { get; init; } = 100;

    /// <summary>Alternating repeats behind every speed ratio (medians).</summary>
    public int DecodeRepeats { get; init; } = 9;

    /// <summary>Validation batches (16 windows of the context length each) behind every quality figure.</summary>
    public int EvalBatches { get; init; } = 8;

    /// <summary>Windows (of the first validation batch) behind each greedy-agreement figure.</summary>
    public int AgreementWindows { get; init; } = 8;

    /// <summary>Folder the export step writes to (null = a new temporary folder).</summary>
    public string? ExportFolder { get; init; }

    /// <summary>The shared recipe: the settings above, or seconds-long steps in quick mode.</summary>
    public static PipelineOptions For(bool quick) => quick ? Quick : new PipelineOptions();

    static PipelineOptions Quick { get; } = new()
    {
        Training = new() { Steps = 6, BatchSize = 4, BlockSize = 64, LearningRate = 5e-5, WarmupSteps = 2, EvalEvery = 3, EvalBatches = 1, Seed = 21 },
        DraftTraining = new() { Steps = 20, BatchSize = 8, BlockSize = 64, LearningRate = 3e-3, WarmupSteps = 3, EvalEvery = 10, EvalBatches = 1, Seed = 22 },
        RoutingTraining = new() { Steps = 4, BatchSize = 4, BlockSize = 64, LearningRate = 5e-5, WarmupSteps = 1, EvalEvery = 2, EvalBatches = 1, Seed = 23 },
        Thetas = [0, 0.5, 1],
        CompareBits = [],
        ClusterTraining = new() { Steps = 3, BatchSize = 4, BlockSize = 64, LearningRate = 1e-4, WarmupSteps = 1, EvalEvery = 3, EvalBatches = 1, Seed = 24 },
        AcceleratorTraining = new() { Steps = 10, BatchSize = 4, BlockSize = 64, LearningRate = 2e-3, WarmupSteps = 2, WeightDecay = 0, EvalEvery = 5, EvalBatches = 1, Seed = 25 },
        DecodePrompts = 1, DecodeTokens = 24, DecodeRepeats = 3, EvalBatches = 1, AgreementWindows = 4,
    };

    /// <summary>Throws one clear message for a setting that cannot work.</summary>
    public PipelineOptions Validate()
    {
        void Need(bool ok, string message) { if (!ok) throw new InvalidSettingsException($"Invalid pipeline options: {message}"); }
        Need(GrowFactor is >= 2 and <= 8, $"GrowFactor must be 2 to 8 (got {GrowFactor}).");
        Need(DraftWidth is > 0 and < 1, $"DraftWidth must lie between 0 and 1, a fraction of the target's width (got {DraftWidth}).");
        Need(DraftDepth is > 0 and <= 1, $"DraftDepth must lie in (0, 1], a fraction of the target's layers (got {DraftDepth}).");
        Need(Thetas.Count > 0 && Thetas.All(t => t is >= 0 and <= 1), "Thetas must hold at least one θ, each in 0..1.");
        Need(LossBudget is >= 0 and <= 1 && !double.IsNaN(LossBudget), $"LossBudget must lie in 0..1, e.g. 0.02 for 2 % more loss than dense (got {LossBudget}).");
        Need(Bits is >= 1 and <= 8, $"Bits must be 1 to 8 (got {Bits}).");
        Need(CompareBits.All(b => b is >= 1 and <= 8), $"CompareBits must each be 1 to 8 (got {string.Join(", ", CompareBits)}).");
        Need(ClusterTemperature > 0, $"ClusterTemperature must be positive (got {ClusterTemperature}).");
        Need(AcceleratorRank >= 1, $"AcceleratorRank must be at least 1 (got {AcceleratorRank}).");
        Need(Gamma is >= 1 and <= 16, $"Gamma must be 1 to 16 (got {Gamma}).");
        Need(DecodePrompts >= 1 && DecodeTokens >= 1 && DecodeRepeats >= 1, "DecodePrompts, DecodeTokens and DecodeRepeats must each be at least 1.");
        Need(EvalBatches >= 1 && AgreementWindows >= 1, "EvalBatches and AgreementWindows must each be at least 1.");
        foreach (var t in new[] { Training, DraftTraining, RoutingTraining, ClusterTraining, AcceleratorTraining }) t.Validate();
        Routing.Validate();
        return this;
    }
}
