using EfficientML.Core;
namespace EfficientML.Speculative;

/// <summary>
/// The arithmetic of speculation (Leviathan et al.): with each draft accepted independently with probability α, a round
/// of γ drafts yields (1 − α^(γ+1)) / (1 − α) tokens on average; it costs γ draft steps and one verification pass, so
/// the speed-up over plain decoding is that yield divided by the round's cost in plain decoding steps.
/// </summary>
public static class SpeculationMath
{
    /// <summary>Expected tokens per round (accepted drafts plus the target's token) for acceptance <paramref name="alpha"/> and γ drafts.</summary>
    public static double ExpectedTokensPerRound(double alpha, int gamma)
    {
        if (double.IsNaN(alpha) || alpha < 0 || alpha > 1) throw new InvalidSettingsException($"α is a probability in 0..1, not {alpha}.");
        if (gamma < 0) throw new InvalidSettingsException($"γ cannot be negative, not {gamma}.");
        return alpha == 1 ? gamma + 1 : (1 - Math.Pow(alpha, gamma + 1)) / (1 - alpha);
    }

    /// <summary>
    /// Predicted speed-up over plain decoding: <paramref name="draftCost"/> = one draft step and <paramref name="verifyCost"/>
    /// = one verification pass, both in units of one plain decoding step.
    /// </summary>
    public static double PredictedSpeedUp(double alpha, int gamma, double draftCost, double verifyCost)
    {
        if (draftCost < 0 || verifyCost <= 0) throw new InvalidSettingsException("Costs are positive multiples of one plain decoding step.");
        return ExpectedTokensPerRound(alpha, gamma) / (gamma * draftCost + verifyCost);
    }
}
