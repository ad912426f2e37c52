using EfficientML.Core;
using EfficientML.Models;
using static TorchSharp.torch;

namespace EfficientML.Speculative;

/// <summary>
/// Self-speculative drafting: the target's own first <see cref="ExitLayer"/> blocks and its shared head draft each token.
/// Without adapters this is distance-based early exit (LayerSkip-style); with <see cref="AcceleratorAdapters"/> the draft
/// reads M2R2's fast residual stream instead. The first blocks write the target's own KV cache, and verification starts
/// from the draft's layer-k states, so no layer runs twice for a token.
/// </summary>
public sealed class SelfDrafter : Drafter
{
    readonly List<Tensor> _states = new();   // slow layer-k states (1, T, C) of window positions from the deep layers' length on
    StackedAccelerators? _stacked;           // the accelerators batched for this decoding (taken in Begin)

    /// <summary>Drafts with the first <paramref name="exitLayer"/> blocks; <paramref name="adapters"/> (optional) accelerate the residual.</summary>
    public SelfDrafter(int exitLayer, AcceleratorAdapters? adapters = null)
    {
        ExitLayer = exitLayer;
        Adapters = adapters;
    }

    /// <summary>Blocks the draft runs (k).</summary>
    public int ExitLayer { get; }

    /// <summary>The M2R2 accelerator adapters, or null for plain early exit.</summary>
    public AcceleratorAdapters? Adapters { get; }

    /// <inheritdoc />
    public override string Name => Adapters is null ? $"early exit (k={ExitLayer})" : $"M2R2 (k={ExitLayer})";

    /// <inheritdoc />
    public override int TargetLayers => ExitLayer;

    /// <inheritdoc />
    public override void Check(TinyGpt target)
    {
        int layers = target.Config.Layers;
        if (ExitLayer < 1 || ExitLayer > layers - 1)
            throw new InvalidSettingsException($"The exit layer k must lie in 1..{layers - 1} for a model of {layers} layers, not {ExitLayer}.");
        Adapters?.CheckFor(target.Config, ExitLayer);
    }

    internal override void Begin(TinyGpt target)
    {
        base.Begin(target);
        _stacked?.Dispose();
        _stacked = Adapters?.Stack(ExitLayer);
    }

    internal override Tensor Next(TinyGpt target, KvCache cache, IReadOnlyList<int> window)
    {
        var fast = Shallow(target, cache, window);
        return target.Logits(fast.select(1, -1))[0];                    // the head reads only the newest position
    }

    internal override Tensor Verify(TinyGpt target, KvCache cache, IReadOnlyList<int> window, int drafted)
    {
        Shallow(target, cache, window);                                   // the last draft has not been through the first blocks yet
        int start = cache.LayerLength(ExitLayer);
        var states = _states.Count == 1 ? _states[0] : cat(_states, 1);   // (1, drafted + 1, C)
        if (states.shape[1] != window.Count - start)
            throw new InvalidOperationException($"The draft holds {states.shape[1]} layer-{ExitLayer} states but {window.Count - start} positions await verification.");
        var hidden = target.RunLayers(states, cache, ExitLayer, target.Config.Layers, start);
        return target.Logits(hidden)[0];
    }

    /// <summary>Runs the unseen window tokens through the first k blocks, keeps their slow states and returns the draft's state (fast with adapters).</summary>
    Tensor Shallow(TinyGpt target, KvCache cache, IReadOnlyList<int> window)
    {
        var feed = Feed(window, cache.Length, target.Device);
        if (Adapters is null)
        {
            var h = target.Hidden(feed, cache, ExitLayer);
            _states.Add(h);
            return h;
        }
        var taps = new Tensor[ExitLayer + 1];
        var slow = target.Hidden(feed, cache, ExitLayer, (i, s) => taps[i] = s);
        _states.Add(slow);
        return _stacked is not null && !is_grad_enabled() ? _stacked.Fast(taps) : Adapters.Fast(taps, ExitLayer);
    }

    internal override void Rollback(int length) => _states.Clear();

    /// <inheritdoc />
    public override void Dispose()
    {
        _stacked?.Dispose();
        _stacked = null;
        base.Dispose();
    }
}
