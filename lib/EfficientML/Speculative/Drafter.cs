using EfficientML.Models;
using static TorchSharp.torch;

namespace EfficientML.Speculative;

/// <summary>
/// Where draft tokens come from: the first layers of the target itself (early exit, with or without M2R2 accelerator
/// adapters) or a separate small model. A drafter only proposes; the target decides, so any drafter gives the target's
/// output and differs only in how many proposals the target accepts and what they cost.
/// </summary>
public abstract class Drafter : IDisposable
{
    /// <summary>Short name for tables and charts.</summary>
    public abstract string Name { get; }

    /// <summary>Blocks of the target the draft runs per token (0 for a separate model).</summary>
    public virtual int TargetLayers => 0;

    /// <summary>Checks that this drafter can draft for <paramref name="target"/>; throws one clear message otherwise.</summary>
    public abstract void Check(TinyGpt target);

    /// <summary>
    /// Draft logits (V) for the token after <paramref name="window"/> (the tokens the target's cache is counted from).
    /// The drafter feeds whatever of the window it has not seen yet.
    /// </summary>
    internal abstract Tensor Next(TinyGpt target, KvCache cache, IReadOnlyList<int> window);

    /// <summary>
    /// The target's logits (n+1, V) for the window's last n+1 tokens (the last committed token and n drafts), run as one
    /// pass over the cache, which holds everything before them in all of its layers.
    /// </summary>
    internal virtual Tensor Verify(TinyGpt target, KvCache cache, IReadOnlyList<int> window, int drafted)
    {
        var feed = Feed(window, cache.Length, target.Device);
        return target.Forward(feed, cache)[0];
    }

    /// <summary>Starts a decoding with <paramref name="target"/>: forgets everything and takes what it needs from the current weights.</summary>
    internal virtual void Begin(TinyGpt target) => Rollback(0);

    /// <summary>Forgets everything from window position <paramref name="length"/> on (the target's cache is rolled back by the decoder).</summary>
    internal abstract void Rollback(int length);

    /// <summary>Tokens window[from..] as a (1, T) tensor.</summary>
    internal static Tensor Feed(IReadOnlyList<int> window, int from, Device device)
    {
        var ids = new long[window.Count - from];
        for (int i = 0; i < ids.Length; i++) ids[i] = window[from + i];
        return tensor(ids, device: device).unsqueeze(0);
    }

    /// <inheritdoc />
    public virtual void Dispose() => GC.SuppressFinalize(this);
}
