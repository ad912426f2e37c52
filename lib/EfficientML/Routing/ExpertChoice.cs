using static TorchSharp.torch;

namespace EfficientML.Routing;

/// <summary>How a <see cref="RoutedGpt"/> picks each token's expert in each layer.</summary>
public abstract record ExpertChoice
{
    ExpertChoice() { }

    /// <summary>The routers decide, with sensitivity θ (0 = smallest experts, 1 = full experts, i.e. the dense model).</summary>
    public sealed record Routed(double Theta) : ExpertChoice;

    /// <summary>Every token in every layer uses expert <paramref name="Expert"/> (a static-width model).</summary>
    public sealed record Static(int Expert) : ExpertChoice;

    /// <summary>Given experts, (L, B, T) int64: e.g. difficulty labels while the routers learn them.</summary>
    public sealed record Given(Tensor Experts) : ExpertChoice;

    /// <summary>The routers at sensitivity θ.</summary>
    public static ExpertChoice AtTheta(double theta)
    {
        Router.CheckTheta(theta);
        return new Routed(theta);
    }
}

/// <summary>How routed MLPs are computed.</summary>
public enum RoutedExecution
{
    /// <summary>Tokens grouped by expert, each group through its smaller matrices (saves compute).</summary>
    Grouped,

    /// <summary>Every token through the full MLP with neurons beyond its expert zeroed (the reference; saves nothing).</summary>
    Masked,
}

/// <summary>Output of <see cref="RoutedGpt.Run"/>.</summary>
/// <param name="Logits">(B, T, V).</param>
/// <param name="Experts">Expert of every token in every layer, (L, B, T) int64.</param>
/// <param name="RouterLogits">The routers' logits (L, B, T, K) when they ran (routed choice, or asked for), else null.</param>
public sealed record RoutedForward(Tensor Logits, Tensor Experts, Tensor? RouterLogits) : IDisposable
{
    public void Dispose()
    {
        Logits.Dispose();
        Experts.Dispose();
        RouterLogits?.Dispose();
    }
}
