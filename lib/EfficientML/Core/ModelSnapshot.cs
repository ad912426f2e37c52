using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Core;

/// <summary>
/// A copy of what a training step changes: the trainable parameters and the buffers (batch-norm running statistics and
/// batch counts, which the forward pass updates before the loss is known). The trainer saves it before each step and
/// restores it when the step produces NaN or ±∞, so a diverged run leaves the model as it was before that step.
/// The copies are allocated once; saving copies in place.
/// </summary>
public sealed class ModelSnapshot : IDisposable
{
    readonly (Tensor Live, Tensor Copy)[] _pairs;

    /// <summary>Allocates copies of <paramref name="model"/>'s trainable parameters and buffers, and saves them.</summary>
    public ModelSnapshot(nn.Module model)
    {
        using var _ = no_grad();
        _pairs = model.parameters().Where(p => p.requires_grad).Select(p => (Tensor)p)
            .Concat(model.buffers())
            .Select(t => (t, t.detach().clone().DetachFromDisposeScope()))
            .ToArray();
    }

    /// <summary>Copies the live values into the snapshot.</summary>
    public void Save()
    {
        using var _ = no_grad();
        foreach (var (live, copy) in _pairs) copy.copy_(live);
    }

    /// <summary>Puts the saved values back into the model.</summary>
    public void Restore()
    {
        using var _ = no_grad();
        foreach (var (live, copy) in _pairs) live.copy_(copy);
    }

    /// <summary>True when every snapshotted live tensor is finite (one reduction each).</summary>
    public bool LiveIsFinite()
    {
        using var _ = no_grad();
        foreach (var (live, _) in _pairs)
        {
            if (!live.is_floating_point()) continue;
            using var finite = live.isfinite().all();
            if (!finite.item<bool>()) return false;
        }
        return true;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var (_, copy) in _pairs) copy.Dispose();
    }
}
