using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Core;

/// <summary>
/// Whether a model's numbers are usable: every parameter and every floating-point buffer (batch-norm running
/// statistics) finite. A model that is not gives no accuracy, no fold and no export.
/// </summary>
public static class ModelHealth
{
    /// <summary>The name of the first parameter or buffer holding NaN or ±∞, with what it holds; null when all are finite.</summary>
    public static string? FirstNonFinite(nn.Module model)
    {
        using var _ = no_grad();
        foreach (var (name, tensor) in model.named_parameters().Select(p => (p.name, (Tensor)p.parameter))
                     .Concat(model.named_buffers().Select(b => (b.name, b.buffer))))
        {
            if (!tensor.is_floating_point() || tensor.numel() == 0) continue;
            using var finite = tensor.isfinite().all();
            if (finite.item<bool>()) continue;
            using var nan = tensor.isnan().any();
            return $"{name} holds {(nan.item<bool>() ? "NaN" : "infinite values")}";
        }
        return null;
    }

    /// <summary>True when every parameter and floating-point buffer is finite.</summary>
    public static bool IsFinite(nn.Module model) => FirstNonFinite(model) == null;

    /// <summary>Throws one clear message when <paramref name="model"/> holds NaN or ±∞ (<paramref name="purpose"/>: e.g. "evaluate").</summary>
    public static void EnsureFinite(nn.Module model, string purpose)
    {
        if (FirstNonFinite(model) is { } where)
            throw new EfficientMLException(
                $"Cannot {purpose} this model: its {where}, so its outputs mean nothing. It diverged in training, or was loaded from a broken file; " +
                "train it again with a lower learning rate (gradient clipping on), or load a good checkpoint.");
    }
}
