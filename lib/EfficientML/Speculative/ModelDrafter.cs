using EfficientML.Core;
using EfficientML.Models;
using static TorchSharp.torch;

namespace EfficientML.Speculative;

/// <summary>
/// Two-model speculative decoding: a separate, smaller model with the same tokenizer drafts, with a KV cache of its own
/// that is rolled back together with the target's.
/// </summary>
public sealed class ModelDrafter : Drafter
{
    KvCache? _cache;

    /// <summary>Drafts with <paramref name="draft"/> (same vocabulary as the target, a context at least as long).</summary>
    public ModelDrafter(TinyGpt draft, string? name = null)
    {
        Model = draft ?? throw new ArgumentNullException(nameof(draft));
        Name = name ?? $"draft model ({draft.Config.Layers}×{draft.Config.Dim})";
    }

    /// <summary>The draft model.</summary>
    public TinyGpt Model { get; }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override void Check(TinyGpt target)
    {
        if (Model.Config.VocabSize != target.Config.VocabSize)
            throw new InvalidSettingsException($"The draft model's vocabulary ({Model.Config.VocabSize}) differs from the target's ({target.Config.VocabSize}); both must use the same tokenizer.");
        if (Model.Config.ContextLength < target.Config.ContextLength)
            throw new InvalidSettingsException($"The draft model's context ({Model.Config.ContextLength}) is shorter than the target's ({target.Config.ContextLength}); use a draft model that reads at least as far.");
        if (Model.Device.type != target.Device.type)
            throw new InvalidSettingsException($"The draft model is on {Model.Device.type} but the target on {target.Device.type}; move both to the same device.");
    }

    internal override void Begin(TinyGpt target)
    {
        base.Begin(target);
        Model.eval();                                                       // once per decoding, not per draft token
    }

    internal override Tensor Next(TinyGpt target, KvCache cache, IReadOnlyList<int> window)
    {
        _cache ??= Model.CreateCache(1, target.Config.ContextLength);
        var feed = Feed(window, _cache.Length, Model.Device);
        return Model.Logits(Model.Hidden(feed, _cache).select(1, -1))[0];  // the head reads only the newest position
    }

    internal override void Rollback(int length)
    {
        if (_cache != null) _cache.Rollback(Math.Min(length, _cache.Length));
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _cache?.Dispose();
        _cache = null;
        base.Dispose();
    }
}
