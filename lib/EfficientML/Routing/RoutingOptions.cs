using EfficientML.Core;
namespace EfficientML.Routing;

/// <summary>How the nested experts' weights are fine-tuned while the routers learn the difficulty labels.</summary>
public enum ExpertTraining
{
    /// <summary>They are not: only the routers learn (the model's weights stay exactly as they were).</summary>
    None,

    /// <summary>
    /// Each step, the language-model loss of the full model plus that of one randomly drawn smaller width (every token
    /// through it): the elastic, Flextron-style objective, so every expert size stays good on every token.
    /// </summary>
    Elastic,

    /// <summary>
    /// Each step, the language-model loss of the full model plus that of the model routed by its own routers at a
    /// random θ: the experts learn to work with the mix of widths routing produces inside one sequence (a token at full
    /// width attends to neighbours computed at smaller ones). The routers' decisions depend only on the text so far; routing
    /// by the labels instead would leak the next token (a label is computed from it) into the forward pass.
    /// </summary>
    Routed,
}

/// <summary>Settings of a DynaMoE conversion and its router fine-tuning.</summary>
public sealed record RoutingOptions
{
    /// <summary>Nested expert sizes as fractions of the MLP width, smallest first, ending with 1.</summary>
    public IReadOnlyList<double> ExpertFractions { get; init; } = ExpertSizes.DefaultFractions;

    /// <summary>Hidden width of each router (0 = a linear router).</summary>
    public int RouterHidden { get; init; } = 32;

    /// <summary>Largest router hidden width.</summary>
    public const int MaxRouterHidden = 4096;

    /// <summary>
    /// Difficulty-label tolerance in nats: a token's label is the smallest expert whose next-token loss (every MLP
    /// narrowed to it) is at most this much above the full model's.
    /// </summary>
    public double Tolerance { get; init; } = 0.1;

    /// <summary>Weight of the routers' label cross-entropy next to the language-model loss.</summary>
    public double RouterLossWeight { get; init; } = 1.0;

    /// <summary>
    /// The routers' learning rate as a multiple of the fine-tuning rate: they start from scratch while the experts are
    /// already trained.
    /// </summary>
    public double RouterLearningRateScale { get; init; } = 10;

    /// <summary>What the language-model loss trains next to the routers (see <see cref="Routing.ExpertTraining"/>).</summary>
    public ExpertTraining ExpertTraining { get; init; } = ExpertTraining.Routed;

    /// <summary>Sensitivity at which the fine-tuning run is evaluated.</summary>
    public double EvalTheta { get; init; } = 0.5;

    /// <summary>Throws one clear message for the first setting that cannot work.</summary>
    public RoutingOptions Validate()
    {
        if (ExpertFractions is null || ExpertFractions.Count < 2)
            throw new InvalidSettingsException("Give at least two expert sizes, smallest first, ending with 1 (e.g. 0.25, 0.5, 0.75, 1).");
        for (int j = 1; j < ExpertFractions.Count; j++)
            if (!(ExpertFractions[j] > ExpertFractions[j - 1]))
                throw new InvalidSettingsException($"Expert sizes must increase ({string.Join(", ", ExpertFractions)}): list them from smallest to largest, each once.");
        if (RouterHidden is < 0 or > MaxRouterHidden)
            throw new InvalidSettingsException($"RouterHidden must be 0 (linear) to {MaxRouterHidden:N0}, not {RouterHidden:N0}: a router is a small network beside each layer.");
        if (!(Tolerance >= 0) || double.IsInfinity(Tolerance))
            throw new InvalidSettingsException($"Tolerance is a loss difference in nats and must be 0 or more (e.g. 0.1), not {Tolerance}.");
        if (!(RouterLossWeight > 0) || double.IsInfinity(RouterLossWeight))
            throw new InvalidSettingsException($"RouterLossWeight must be positive (e.g. 1), not {RouterLossWeight}.");
        if (!(RouterLearningRateScale > 0) || double.IsInfinity(RouterLearningRateScale))
            throw new InvalidSettingsException($"RouterLearningRateScale must be positive (e.g. 10), not {RouterLearningRateScale}.");
        Router.CheckTheta(EvalTheta);
        return this;
    }
}
