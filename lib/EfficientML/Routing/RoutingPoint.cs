namespace EfficientML.Routing;

/// <summary>One variant of a routed model on the validation split: its loss and the MLP compute it used per token.</summary>
/// <param name="Method">E.g. "routed θ=0.50", "static ½ (same weights)", "static ½ (elastic baseline)".</param>
/// <param name="Theta">The sensitivity, for routed variants.</param>
/// <param name="Expert">The expert every token used, for static widths.</param>
/// <param name="ValidationLoss">Next-token loss (nats per token).</param>
/// <param name="Usage">Per layer, the share of tokens on each expert: (L, K).</param>
/// <param name="MlpMultiplyAdds">Mean MLP multiply-adds per token over all layers, for the experts used.</param>
/// <param name="RouterMultiplyAdds">Router multiply-adds per token over all layers (0 for static widths).</param>
/// <param name="DenseMlpMultiplyAdds">The dense model's MLP multiply-adds per token.</param>
public sealed record RoutingPoint(
    string Method, double? Theta, int? Expert, double ValidationLoss, double[][] Usage,
    double MlpMultiplyAdds, double RouterMultiplyAdds, double DenseMlpMultiplyAdds)
{
    /// <summary>Loss in bits per token (per byte for the byte-level model).</summary>
    public double ValidationBits => ValidationLoss / Math.Log(2);

    /// <summary>MLP compute (routers included) as a share of the dense MLP's.</summary>
    public double ComputeFraction => (MlpMultiplyAdds + RouterMultiplyAdds) / DenseMlpMultiplyAdds;

    /// <summary>Mean share of the MLP neurons a token used (routers not included).</summary>
    public double ActiveFraction => MlpMultiplyAdds / DenseMlpMultiplyAdds;
}
