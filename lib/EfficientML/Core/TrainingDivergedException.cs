namespace EfficientML.Core;

/// <summary>
/// A training run diverged (a NaN or infinite loss, gradient, weight or batch-norm statistic). The model was put back
/// to the weights and statistics it had before the step that broke; nothing trained on it is reported.
/// </summary>
public sealed class TrainingDivergedException(TrainingRun run)
    : EfficientMLException($"Training '{run.Name}' diverged. {run.Message}")
{
    /// <summary>The run, with its steps up to the divergence.</summary>
    public TrainingRun Run { get; } = run;
}
