using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Speculative;
using static TorchSharp.torch;

namespace EfficientML.Interactive;

/// <summary>
/// M2R2 accelerators that <c>#!speculate</c> trained in this notebook, per model object and exit layer k, so a second run
/// with the same model and k drafts at once. Each remembers a fingerprint of the weights it was trained for: once the model
/// has been trained further (or changed in C#), they no longer match it and are trained again.
/// </summary>
sealed class TrainedAccelerators
{
    readonly ConditionalWeakTable<TinyGpt, Dictionary<int, Entry>> _byModel = new();

    /// <summary>Accelerators, the weights' fingerprint when they were trained, and their training run.</summary>
    public sealed record Entry(AcceleratorAdapters Adapters, double Fingerprint, TrainingRun Run);

    /// <summary>The accelerators for exits at <paramref name="k"/> of <paramref name="model"/> as its weights are now.</summary>
    public bool TryGet(TinyGpt model, int k, double fingerprint, [MaybeNullWhen(false)] out Entry entry)
    {
        lock (_byModel)
        {
            entry = null;
            if (!_byModel.TryGetValue(model, out var byExit) || !byExit.TryGetValue(k, out var found)) return false;
            if (found.Fingerprint != fingerprint)
            {
                // The weights changed since: these accelerators were trained for another function.
                byExit.Remove(k);
                return false;
            }
            entry = found;
            return true;
        }
    }

    public void Set(TinyGpt model, int k, Entry entry)
    {
        lock (_byModel) _byModel.GetOrCreateValue(model)[k] = entry;
    }

    /// <summary>A number that changes whenever any weight of <paramref name="model"/> does (sums of the weights and of their squares, in float64).</summary>
    public static double Fingerprint(TinyGpt model)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        double sum = 0;
        foreach (var p in model.parameters())
        {
            var w = p.detach().to(ScalarType.Float64);
            sum += w.sum().item<double>() + Math.PI * w.square().sum().item<double>();
        }
        return sum;
    }
}
