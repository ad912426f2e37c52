using EfficientML.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Routing;

/// <summary>
/// One layer's router: a small network on the MLP's input (the normalised residual stream) that gives, per token,
/// logits over the nested experts (smallest first). With <c>hidden = 0</c> it is a single linear map.
/// </summary>
public sealed class Router : nn.Module<Tensor, Tensor>
{
    public readonly Linear? hidden;
    public readonly Linear output;

    public Router(int dim, int experts, int hiddenDim) : base(nameof(Router))
    {
        if (hiddenDim < 0) throw new InvalidSettingsException($"The router's hidden width must be 0 (linear) or more, not {hiddenDim}.");
        hidden = hiddenDim > 0 ? nn.Linear(dim, hiddenDim) : null;
        output = nn.Linear(hiddenDim > 0 ? hiddenDim : dim, experts);
        RegisterComponents();
    }

    /// <summary>Logits over experts (..., K) for MLP inputs (..., d).</summary>
    public override Tensor forward(Tensor x) => output.forward(hidden is null ? x : F.gelu(hidden.forward(x)));

    /// <summary>Multiply-adds per token.</summary>
    public long MultiplyAddsPerToken => (hidden is null ? 0 : hidden.weight!.numel()) + output.weight!.numel();

    /// <summary>
    /// The sensitivity rule: the smallest expert whose cumulative probability reaches <paramref name="theta"/>.
    /// θ = 0 always picks the smallest expert, θ = 1 always the full one; in between, larger θ means larger experts.
    /// </summary>
    public static Tensor Choose(Tensor logits, double theta)
    {
        CheckTheta(theta);
        long k = logits.shape[^1];
        if (theta >= 1) return full_like(logits.select(-1, 0), k - 1, dtype: ScalarType.Int64);
        using var scope = NewDisposeScope();
        var cumulative = logits.softmax(-1).cumsum(-1);
        var below = cumulative.lt(theta).sum(-1, type: ScalarType.Int64); // experts whose cumulative share is still under θ
        return below.clamp_max(k - 1).MoveToOuterDisposeScope();
    }

    /// <summary>Throws one message when θ is outside [0, 1].</summary>
    public static void CheckTheta(double theta)
    {
        if (!(theta >= 0 && theta <= 1))
            throw new InvalidSettingsException($"The sensitivity θ must be in [0, 1] (0 = smallest experts, 1 = the dense model), not {theta}.");
    }
}
