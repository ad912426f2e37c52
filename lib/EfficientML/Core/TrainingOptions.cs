namespace EfficientML.Core;

/// <summary>Settings of <see cref="Trainer"/>: AdamW with linear warmup, cosine decay and gradient clipping.</summary>
public sealed record TrainingOptions
{
    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 200;

    /// <summary>Sequences per step (language models).</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Tokens per sequence (language models); at most the model's context length.</summary>
    public int BlockSize { get; init; } = 128;

    /// <summary>Peak learning rate, reached after the warmup.</summary>
    public double LearningRate { get; init; } = 3e-3;

    /// <summary>Steps of linear warmup from zero.</summary>
    public int WarmupSteps { get; init; } = 20;

    /// <summary>The cosine decays to this fraction of the peak at the last step.</summary>
    public double MinLearningRateRatio { get; init; } = 0.1;

    /// <summary>Decoupled weight decay of matrices (biases and norms are not decayed).</summary>
    public double WeightDecay { get; init; } = 0.1;

    /// <summary>AdamW β1.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW β2.</summary>
    public double Beta2 { get; init; } = 0.95;

    /// <summary>Clip the global gradient norm to this (0 = off).</summary>
    public double GradientClip { get; init; } = 1.0;

    /// <summary>Evaluate every this many steps and at the end (0 = only at the end).</summary>
    public int EvalEvery { get; init; } = 50;

    /// <summary>Also evaluate once before the first step (recorded as step 0), to see where a run starts from.</summary>
    public bool EvalAtStart { get; init; }

    /// <summary>Validation batches per evaluation (null = the whole validation split).</summary>
    public int? EvalBatches { get; init; } = 8;

    /// <summary>Seed of the batch sampler.</summary>
    public long Seed { get; init; } = 1337;

    /// <summary>Most steps, and most sequences per batch, a run may ask for.</summary>
    public const int MaxSteps = 10_000_000, MaxBatchSize = 1_000_000;

    /// <summary>Largest learning rate (the optimizer works in float32; above this it overflows).</summary>
    public const double MaxLearningRate = 1e30;

    /// <summary>Throws one clear message for a setting that cannot work.</summary>
    public TrainingOptions Validate()
    {
        void Need(bool ok, string message) { if (!ok) throw new InvalidSettingsException($"Invalid training options: {message}"); }
        Need(Steps > 0 && Steps <= MaxSteps, $"Steps must be 1 to {MaxSteps:N0} (got {Steps}).");
        Need(BatchSize > 0 && BatchSize <= MaxBatchSize, $"BatchSize must be 1 to {MaxBatchSize:N0} (got {BatchSize}).");
        Need(BlockSize > 0, $"BlockSize must be positive (got {BlockSize}).");
        Need(LearningRate > 0 && LearningRate <= MaxLearningRate, $"LearningRate must be a number above 0 and at most {MaxLearningRate:G3} (got {LearningRate}).");
        Need(WarmupSteps >= 0, $"WarmupSteps cannot be negative (got {WarmupSteps}).");
        Need(MinLearningRateRatio is >= 0 and <= 1, $"MinLearningRateRatio must lie in 0..1 (got {MinLearningRateRatio}).");
        Need(WeightDecay >= 0, $"WeightDecay cannot be negative (got {WeightDecay}).");
        Need(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1, $"Betas must lie in [0, 1) (got {Beta1}, {Beta2}).");
        Need(GradientClip >= 0, $"GradientClip cannot be negative (got {GradientClip}; 0 turns clipping off).");
        Need(EvalEvery >= 0, $"EvalEvery cannot be negative (got {EvalEvery}).");
        Need(EvalBatches is null or > 0, $"EvalBatches must be positive or null for the whole split (got {EvalBatches}).");
        return this;
    }

    /// <summary>Learning rate at <paramref name="step"/> (0-based): linear warmup, then cosine down to the floor.</summary>
    public double LearningRateAt(int step)
    {
        if (step < WarmupSteps) return LearningRate * (step + 1) / WarmupSteps;
        int decaySteps = Math.Max(1, Steps - WarmupSteps - 1);
        double progress = Math.Clamp((step - WarmupSteps) / (double)decaySteps, 0, 1);
        double floor = LearningRate * MinLearningRateRatio;
        return floor + 0.5 * (LearningRate - floor) * (1 + Math.Cos(Math.PI * progress));
    }
}
