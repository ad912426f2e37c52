using EfficientML.Core;
using EfficientML.Audio;
namespace EfficientML.KeywordSpotting;

/// <summary>
/// Sizes of a <see cref="BcResNet"/> (Kim et al. 2021, "Broadcasted Residual Learning for Efficient Keyword Spotting").
/// BC-ResNet-τ has base width 8τ: a 5×5 head conv with 16τ channels (stride 2 over frequency), four stages of
/// BC-ResBlocks with 8τ, 12τ, 16τ, 20τ channels (2, 2, 4, 4 blocks; frequency stride 2 entering stages 2 and 3;
/// temporal dilation 1, 2, 4, 8), a depthwise 5×5 conv, a 1×1 conv to 32τ channels, average pooling and a linear classifier.
/// </summary>
public sealed record BcResNetConfig
{
    /// <summary>Log-mel bands of the input features.</summary>
    public int Mels { get; init; } = 40;

    /// <summary>Output classes.</summary>
    public int Classes { get; init; } = 12;

    /// <summary>Width multiplier τ: BC-ResNet-1 (8 base channels) … BC-ResNet-8 (64).</summary>
    public double Width { get; init; } = 1;

    /// <summary>Sub-bands of the sub-spectral norm (5 in the paper); a stage whose bins it does not divide uses the largest divisor below it.</summary>
    public int SubBands { get; init; } = 5;

    /// <summary>Dropout after each block's temporal branch (0.1 in the paper).</summary>
    public double Dropout { get; init; } = 0.1;

    /// <summary>The BC-ResNet-τ configuration for <paramref name="width"/> τ (1, 1.5, 2, 3, 6, 8 in the paper).</summary>
    public static BcResNetConfig Scaled(double width, int classes = 12, int mels = 40) =>
        new BcResNetConfig { Width = width, Classes = classes, Mels = mels }.Validate();

    /// <summary>Blocks per stage.</summary>
    public static IReadOnlyList<int> StageBlocks { get; } = [2, 2, 4, 4];

    /// <summary>Frequency stride of each stage's first block.</summary>
    public static IReadOnlyList<int> StageStrides { get; } = [1, 2, 2, 1];

    /// <summary>Temporal dilation of each stage.</summary>
    public static IReadOnlyList<int> StageDilations { get; } = [1, 2, 4, 8];

    /// <summary>Base width 8τ.</summary>
    public int BaseChannels => Channels(8);

    /// <summary>Channels of the head conv (16τ).</summary>
    public int HeadChannels => Channels(16);

    /// <summary>Channels of each stage (8τ, 12τ, 16τ, 20τ).</summary>
    public int[] StageChannels => [Channels(8), Channels(12), Channels(16), Channels(20)];

    /// <summary>Channels of the last 1×1 conv before pooling (32τ).</summary>
    public int ClassifierChannels => Channels(32);

    int Channels(int perUnitWidth) => Math.Max(1, (int)Math.Round(perUnitWidth * Width));

    /// <summary>Frequency bins after the head conv (5×5, stride 2, padding 2).</summary>
    public int HeadBins => (Mels - 1) / 2 + 1;

    /// <summary>Frequency bins inside each stage (after its first block's stride).</summary>
    public int[] StageBins
    {
        get
        {
            var bins = new int[StageBlocks.Count];
            int f = HeadBins;
            for (int s = 0; s < bins.Length; s++) bins[s] = f = (f - 1) / StageStrides[s] + 1;
            return bins;
        }
    }

    /// <summary>Frequency extent of the classifier's depthwise kernel: 5 (no frequency padding), or all bins when fewer remain.</summary>
    public int ClassifierFrequencyKernel => Math.Min(5, StageBins[^1]);

    /// <summary>Sub-bands the sub-spectral norm uses on <paramref name="bins"/> frequency bins: the largest divisor of the bins ≤ <see cref="SubBands"/>.</summary>
    public int SubBandsFor(int bins) => Enumerable.Range(1, Math.Min(SubBands, bins)).Last(s => bins % s == 0);

    /// <summary>Throws one clear message for the first thing that cannot work; returns the configuration.</summary>
    public BcResNetConfig Validate()
    {
        void Need(bool ok, string message) { if (!ok) throw new InvalidSettingsException($"Invalid BcResNet configuration: {message}"); }
        Need(Mels >= 8, $"Mels must be at least 8 (got {Mels}): the network halves frequency three times.");
        Need(Classes > 1, $"Classes must be at least 2 (got {Classes}).");
        Need(Width > 0 && Width <= 16, $"Width τ must be in (0, 16] (got {Width}).");
        Need(SubBands >= 1, $"SubBands must be at least 1 (got {SubBands}).");
        Need(Dropout is >= 0 and < 1, $"Dropout must be in [0, 1) (got {Dropout}).");
        return this;
    }
}
