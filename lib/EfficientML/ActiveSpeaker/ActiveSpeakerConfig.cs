using EfficientML.Core;
using EfficientML.Vision;

namespace EfficientML.ActiveSpeaker;

/// <summary>Which temporal model sits on top of the per-frame audio-visual embeddings.</summary>
public enum TemporalModel
{
    /// <summary>A transformer whose attention sees at most <see cref="ActiveSpeakerConfig.Past"/> past and <see cref="ActiveSpeakerConfig.Future"/> future frames.</summary>
    Transformer,

    /// <summary>A uni-directional GRU: every past frame (through its state), no future.</summary>
    Gru,
}

/// <summary>
/// Shape of an active speaker detector: per video frame, an audio embedding of the log-mel frames in that frame's 40 ms and
/// a visual embedding of one face's crop, fused; then a temporal model over frames; then a speaking logit per frame.
/// </summary>
public sealed record ActiveSpeakerConfig
{
    /// <summary>Log-mel bands.</summary>
    public int Mels { get; init; } = 40;

    /// <summary>Log-mel frames per video frame (10 ms hop, 25 video frames per second).</summary>
    public int MelsPerFrame { get; init; } = 4;

    /// <summary>Width of the fused embedding and of the temporal model.</summary>
    public int Width { get; init; } = 64;

    /// <summary>Width of the audio and of the visual embedding before fusion.</summary>
    public int EncoderWidth { get; init; } = 32;

    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Transformer blocks (each waits for <see cref="Future"/> frames, so a decision waits Layers × Future frames).</summary>
    public int Layers { get; init; } = 1;

    /// <summary>Past frames a frame's attention may see (P): the memory a stream keeps.</summary>
    public int Past { get; init; } = 16;

    /// <summary>Future frames a frame's attention may see (F): the latency of a decision.</summary>
    public int Future { get; init; }

    public TemporalModel Temporal { get; init; } = TemporalModel.Transformer;

    /// <summary>Pixels of a face crop's side.</summary>
    public int CropSize => FaceRenderer.Size;

    /// <summary>Audio features per video frame.</summary>
    public int AudioFeatures => Mels * MelsPerFrame;

    /// <summary>Frames a decision waits for: Layers × Future for the transformer, none for the GRU.</summary>
    public int LatencyFrames => Temporal == TemporalModel.Gru ? 0 : Layers * Future;

    /// <summary>Key/value frames each transformer block keeps per stream: P + F + 1.</summary>
    public int RingFrames => Past + Future + 1;

    /// <summary>A short name: "P16 F0" or "GRU".</summary>
    public string Name => Temporal == TemporalModel.Gru ? "GRU" : $"P{Past} F{Future}";

    /// <summary>Throws one clear message for a setting that cannot work.</summary>
    public ActiveSpeakerConfig Validate()
    {
        if (Past < 0 || Future < 0)
            throw new InvalidSettingsException($"Past and future context are counts of frames, 0 or more (got P = {Past}, F = {Future}); P = 0 and F = 0 means a frame sees only itself.");
        if (Past > 1000 || Future > 1000) throw new InvalidSettingsException($"Past and future context are at most 1000 frames (40 s) each (got P = {Past}, F = {Future}).");
        if (Mels < 1 || MelsPerFrame < 1) throw new InvalidSettingsException("Mels and MelsPerFrame must be positive.");
        if (Width < 4 || EncoderWidth < 1 || Width > 4096 || EncoderWidth > 4096) throw new InvalidSettingsException($"Width must be 4 to 4096 and EncoderWidth 1 to 4096 (got {Width}, {EncoderWidth}).");
        if (Heads < 1 || Width % Heads != 0) throw new InvalidSettingsException($"Width ({Width}) must be a multiple of Heads ({Heads}).");
        if (Layers < 1 || Layers > 12) throw new InvalidSettingsException($"Layers must be 1 to 12 (got {Layers}).");
        return this;
    }
}
