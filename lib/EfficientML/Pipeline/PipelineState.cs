using EfficientML.Clustering;
using EfficientML.Models;
using EfficientML.Routing;
using EfficientML.Speculative;

namespace EfficientML.Pipeline;

/// <summary>
/// The model as it stands between two steps: the dense target (for a routed model, the weights its routers index), and
/// what the steps added to it — a draft model, routers at a chosen θ, palettes, accelerators and the decoder picked, an
/// exported file. Keeps a copy of the starting model as the baseline every step is compared with. Owns every model it holds.
/// </summary>
public sealed class PipelineState : IDisposable
{
    readonly List<string> _done = [];

    internal PipelineState(TinyGpt start)
    {
        Start = start.Copy();
        Start.eval();
        Target = start.Copy();
        Target.eval();
    }

    /// <summary>A copy of the starting model: the baseline of quality, size and speed.</summary>
    public TinyGpt Start { get; }

    /// <summary>The dense model the steps work on (inside <see cref="Routed"/> once routed).</summary>
    public TinyGpt Target { get; private set; }

    /// <summary>The small separate draft model, once made.</summary>
    public TinyGpt? Draft { get; internal set; }

    /// <summary>Nested experts and routers around <see cref="Target"/>, once routed.</summary>
    public RoutedGpt? Routed { get; private set; }

    /// <summary>The sensitivity picked from the sweep, once routed.</summary>
    public double? Theta { get; internal set; }

    /// <summary>The palettes of the clustered target, once clustered.</summary>
    public PalettizedModel? Palettized { get; internal set; }

    /// <summary>The M2R2 accelerators, once trained.</summary>
    public AcceleratorAdapters? Adapters { get; internal set; }

    /// <summary>The exit layer of the accelerators.</summary>
    public int? ExitLayer { get; internal set; }

    /// <summary>How the model decodes: null for plain greedy decoding with the KV cache, else the lossless drafter picked by the decode step.</summary>
    public Drafter? Decoder { get; internal set; }

    /// <summary>The separate model behind <see cref="Decoder"/> when it drafts with one (the draft model or the starting model).</summary>
    public TinyGpt? DecoderModel { get; internal set; }

    /// <summary>The exported ONNX file, once written.</summary>
    public string? OnnxPath { get; internal set; }

    /// <summary>The steps applied, in order.</summary>
    public IReadOnlyList<string> Done => _done;

    /// <summary>Name of the decoder ("plain greedy" or the drafter's).</summary>
    public string DecoderName => Decoder?.Name ?? "plain greedy";

    internal void Completed(string step) => _done.Add(step);

    /// <summary>Replaces the dense target (the old one is disposed unless it is the routed model's).</summary>
    internal void ReplaceTarget(TinyGpt model)
    {
        if (!ReferenceEquals(model, Target) && (Routed is null || !ReferenceEquals(Target, Routed.model))) Target.Dispose();
        Target = model;
        Target.eval();
    }

    /// <summary>Wraps the target in <paramref name="routed"/>; its dense model becomes the target.</summary>
    internal void Route(RoutedGpt routed, double theta)
    {
        var old = Target;
        Routed = routed;
        Theta = theta;
        Target = routed.model;
        Target.eval();
        old.Dispose();
    }

    /// <summary>Disposes every model held.</summary>
    public void Dispose()
    {
        Start.Dispose();
        if (Routed is null) Target.Dispose();
        Routed?.Dispose();
        Draft?.Dispose();
        Palettized?.Dispose();
        Adapters?.Dispose();
    }
}
