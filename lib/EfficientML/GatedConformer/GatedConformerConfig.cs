using EfficientML.Core;

namespace EfficientML.GatedConformer;

/// <summary>
/// Sizes of a <see cref="ConformerSpotter"/>: log-mel frames are stacked <see cref="StackFrames"/> at a time into steps
/// (4 × 10 ms = 40 ms), each step is a <see cref="Width"/>-wide vector, and <see cref="Blocks"/> conformer blocks of four
/// modules each (half feed-forward, self-attention over <see cref="AttentionContext"/> past steps, causal depthwise
/// convolution of <see cref="ConvKernel"/> steps, half feed-forward) turn them into per-step keyword posteriors. With
/// <see cref="Gated"/>, a gate before every module decides, for each run of <see cref="GateSteps"/> steps, whether the
/// module runs.
/// </summary>
public sealed record GatedConformerConfig
{
    /// <summary>Log-mel bands per frame.</summary>
    public int Mels { get; init; } = 40;

    /// <summary>10 ms frames per step.</summary>
    public int StackFrames { get; init; } = 4;

    /// <summary>Model width (d).</summary>
    public int Width { get; init; } = 64;

    /// <summary>Attention heads (must divide <see cref="Width"/>).</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Conformer blocks.</summary>
    public int Blocks { get; init; } = 4;

    /// <summary>Hidden width of the feed-forward modules.</summary>
    public int FeedForwardWidth { get; init; } = 128;

    /// <summary>How many past steps each step attends to (besides itself): the attention cache a stream carries.</summary>
    public int AttentionContext { get; init; } = 16;

    /// <summary>Taps of the causal depthwise convolution (the step itself and <c>ConvKernel − 1</c> past steps).</summary>
    public int ConvKernel { get; init; } = 8;

    /// <summary>Steps per gate decision: a gate reads its module's input averaged over these steps.</summary>
    public int GateSteps { get; init; } = 4;

    /// <summary>
    /// Earlier gate blocks a gate reads besides its own: each gate sees its module's input pooled over the current block
    /// and over the <see cref="GateContext"/> blocks before it (zeros before the stream began), so it can tell a word's
    /// onset from noise that has gone on for a while. 0: the current block only.
    /// </summary>
    public int GateContext { get; init; } = 2;

    /// <summary>Hidden width of each gate's two-layer network.</summary>
    public int GateHidden { get; init; } = 16;

    /// <summary>Number of keywords; the classifier has one more class, "none" (no keyword, another word, noise).</summary>
    public int Keywords { get; init; } = 14;

    /// <summary>Gates before every module (false: the plain conformer, every module always runs).</summary>
    public bool Gated { get; init; } = true;

    /// <summary>Classes of the per-step classifier: the keywords, then "none".</summary>
    public int Classes => Keywords + 1;

    /// <summary>Index of the "none" class.</summary>
    public int NoneClass => Keywords;

    /// <summary>10 ms frames per gate decision.</summary>
    public int FramesPerGate => StackFrames * GateSteps;

    /// <summary>Gated modules: four per block.</summary>
    public int Modules => 4 * Blocks;

    /// <summary>Throws <see cref="InvalidSettingsException"/> for sizes that cannot make a model.</summary>
    public GatedConformerConfig Validate()
    {
        static void Range(string name, int value, int min, int max)
        {
            if (value < min || value > max) throw new InvalidSettingsException($"{name} must be {min} to {max} (got {value}).");
        }
        Range(nameof(Mels), Mels, 1, 512);
        Range(nameof(StackFrames), StackFrames, 1, 32);
        Range(nameof(Width), Width, 4, 2048);
        Range(nameof(Heads), Heads, 1, 64);
        if (Width % Heads != 0) throw new InvalidSettingsException($"Width {Width} must be a multiple of Heads {Heads}.");
        Range(nameof(Blocks), Blocks, 1, 64);
        Range(nameof(FeedForwardWidth), FeedForwardWidth, 1, 16384);
        Range(nameof(AttentionContext), AttentionContext, 0, 4096);
        Range(nameof(ConvKernel), ConvKernel, 1, 256);
        Range(nameof(GateSteps), GateSteps, 1, 1024);
        Range(nameof(GateHidden), GateHidden, 1, 1024);
        Range(nameof(GateContext), GateContext, 0, 64);
        Range(nameof(Keywords), Keywords, 1, 1000);
        return this;
    }
}

/// <summary>What the gates do.</summary>
public enum GateMode
{
    /// <summary>The gates decide (hard decisions; in training, straight-through Gumbel samples).</summary>
    Learned,

    /// <summary>Every module runs (the gates are ignored).</summary>
    Keep,

    /// <summary>No gated module runs.</summary>
    Skip,
}

/// <summary>The four modules of a conformer block, in order.</summary>
public enum ConformerModuleKind
{
    /// <summary>First half-step feed-forward.</summary>
    FeedForwardIn,

    /// <summary>Multi-head self-attention over a bounded past.</summary>
    Attention,

    /// <summary>Causal depthwise convolution module.</summary>
    Convolution,

    /// <summary>Second half-step feed-forward.</summary>
    FeedForwardOut,
}
