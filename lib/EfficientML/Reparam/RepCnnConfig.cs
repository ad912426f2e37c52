using EfficientML.Core;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EfficientML.Reparam;

/// <summary>
/// Sizes of a <see cref="RepCnn"/> keyword spotter: one <see cref="RepBlock"/> per entry of <see cref="Channels"/>, each with
/// its own stride and dilation over time. The defaults (76 k parameters in the multi-branch training form, 62 k folded;
/// 3.0 M / 2.5 M multiply-accumulates per second of audio) train an epoch of 4,000 clips in seconds on two CPU cores.
/// </summary>
public sealed record RepCnnConfig
{
    /// <summary>Log-mel bands of the input features (the first block's input channels).</summary>
    public int Mels { get; init; } = 40;

    /// <summary>Output classes (keywords plus, typically, "unknown" and "silence").</summary>
    public int Classes { get; init; } = 12;

    /// <summary>Output channels of each block, in order.</summary>
    public int[] Channels { get; init; } = [32, 48, 48, 64, 64];

    /// <summary>Odd kernel width over time, k, of every block.</summary>
    public int KernelSize { get; init; } = 5;

    /// <summary>Stride over time of each block; null: 2 at the second and fourth block (98 frames → 49 → 25), 1 elsewhere.</summary>
    public int[]? Strides { get; init; }

    /// <summary>Dilation of each block's k-wide kernel; null: 1 everywhere.</summary>
    public int[]? Dilations { get; init; }

    /// <summary>Training form of the blocks: multi-branch (RepCNN) or the single-branch baseline.</summary>
    public BranchSet Branches { get; init; } = BranchSet.MultiBranch;

    /// <summary>Dropout before the classifier (training only).</summary>
    public double Dropout { get; init; } = 0.1;

    /// <summary>Number of blocks.</summary>
    [JsonIgnore] public int Blocks => Channels.Length;

    /// <summary>Each block's stride (<see cref="Strides"/> or the default).</summary>
    [JsonIgnore] public int[] BlockStrides => Strides ?? Enumerable.Range(0, Blocks).Select(i => i is 1 or 3 ? 2 : 1).ToArray();

    /// <summary>Each block's dilation (<see cref="Dilations"/> or 1).</summary>
    [JsonIgnore] public int[] BlockDilations => Dilations ?? Enumerable.Repeat(1, Blocks).ToArray();

    /// <summary>Input channels of block <paramref name="i"/>: the mel bands, then the previous block's output.</summary>
    public int BlockInput(int i) => i == 0 ? Mels : Channels[i - 1];

    /// <summary>Throws one clear message for the first thing that cannot work; returns the configuration.</summary>
    public RepCnnConfig Validate()
    {
        void Need(bool ok, string message) { if (!ok) throw new InvalidSettingsException($"Invalid RepCnn configuration: {message}"); }
        Need(Mels > 0, $"Mels must be positive (got {Mels}).");
        Need(Classes > 1, $"Classes must be at least 2 (got {Classes}).");
        Need(Channels is { Length: > 0 } && Channels.All(c => c > 0), "Channels needs at least one block, every width positive.");
        Need(KernelSize > 0 && KernelSize % 2 == 1, $"KernelSize must be odd (got {KernelSize}): the 1-wide and identity kernels sit at its centre.");
        Need(Strides is null || Strides.Length == Blocks, $"Strides has {Strides?.Length} entries but Channels has {Blocks}: give one per block, or null for the default.");
        Need(Dilations is null || Dilations.Length == Blocks, $"Dilations has {Dilations?.Length} entries but Channels has {Blocks}: give one per block, or null for 1.");
        Need(BlockStrides.All(s => s is >= 1 and <= 4), "every stride must be 1..4.");
        Need(BlockDilations.All(d => d >= 1), "every dilation must be at least 1.");
        Need(Dropout is >= 0 and < 1, $"Dropout must be in [0, 1) (got {Dropout}).");
        return this;
    }

    /// <summary>Value equality, arrays compared element by element (defaults resolved).</summary>
    public bool Equals(RepCnnConfig? other) =>
        other is not null && Mels == other.Mels && Classes == other.Classes && KernelSize == other.KernelSize &&
        Branches == other.Branches && Dropout.Equals(other.Dropout) && Channels.SequenceEqual(other.Channels) &&
        BlockStrides.SequenceEqual(other.BlockStrides) && BlockDilations.SequenceEqual(other.BlockDilations);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Mels, Classes, KernelSize, Branches, Blocks, Channels.Sum());

    static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    /// <summary>JSON form (stored in the ONNX file's metadata).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads the JSON form.</summary>
    public static RepCnnConfig FromJson(string json)
    {
        RepCnnConfig? config;
        try { config = JsonSerializer.Deserialize<RepCnnConfig>(json, Json); }
        catch (JsonException e) { throw new InvalidSettingsException($"The RepCnn configuration is not valid JSON: it has {JsonProblems.Describe(e)}."); }
        return (config ?? throw new InvalidSettingsException("Empty RepCnn configuration JSON.")).Validate();
    }
}
