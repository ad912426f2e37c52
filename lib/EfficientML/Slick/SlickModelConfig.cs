using EfficientML.Core;

namespace EfficientML.Slick;

/// <summary>
/// The shape of a SLiCK model: the audio encoder (a strided convolution front end and a bidirectional GRU over log-mel
/// frames, with a CTC phoneme head), the text encoder (phoneme embeddings and a left-to-right GRU over the keyword padded
/// to <see cref="MaxKeywordLength"/>), and the matcher (multi-head cross-attention from each keyword position to the
/// audio, a left-to-right GRU over the matched positions, an utterance head over all L positions and a subsequence head
/// at each position).
/// </summary>
public sealed record SlickModelConfig
{
    /// <summary>Maximum keyword length L in phonemes (the phrase list's 99th percentile; see <see cref="SlickPhrases.MaxKeywordLength"/>).</summary>
    public int MaxKeywordLength { get; init; } = 21;

    /// <summary>Mel bands of the input features.</summary>
    public int Mels { get; init; } = 40;

    /// <summary>Width of the audio and text encodings and of the matcher.</summary>
    public int Width { get; init; } = 96;

    /// <summary>Layers of the audio encoder's bidirectional GRU.</summary>
    public int AudioLayers { get; init; } = 1;

    /// <summary>Stride of the audio front end in frames (4: one encoding per 40 ms).</summary>
    public int AudioStride { get; init; } = 4;

    /// <summary>Heads of the matcher's cross-attention.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Width of the utterance head's hidden layer (over the flattened L × width matched keyword).</summary>
    public int HeadHidden { get; init; } = 64;

    /// <summary>Throws one clear message for a shape that cannot work.</summary>
    public SlickModelConfig Validate()
    {
        if (MaxKeywordLength is < 1 or > 256) throw new InvalidSettingsException($"The maximum keyword length L is 1 to 256 phonemes (got {MaxKeywordLength}).");
        if (Mels is < 8 or > 256) throw new InvalidSettingsException($"Mels is 8 to 256 (got {Mels}).");
        if (Width is < 8 or > 1024 || Width % 2 != 0) throw new InvalidSettingsException($"Width is an even number from 8 to 1024 (got {Width}).");
        if (Heads < 1 || Width % Heads != 0) throw new InvalidSettingsException($"Heads must divide Width ({Width}); got {Heads}.");
        if (AudioLayers is < 1 or > 6) throw new InvalidSettingsException($"AudioLayers is 1 to 6 (got {AudioLayers}).");
        if (AudioStride is < 1 or > 4) throw new InvalidSettingsException($"AudioStride is 1 to 4 (got {AudioStride}).");
        if (HeadHidden is < 1 or > 4096) throw new InvalidSettingsException($"HeadHidden is 1 to 4096 (got {HeadHidden}).");
        return this;
    }
}
