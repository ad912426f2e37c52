using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientML.ActiveSpeaker;

/// <summary>
/// An active speaker detector (<see cref="ActiveSpeakerConfig"/>): per frame the fused audio-visual embedding of one face,
/// then transformer blocks with a (P, F) band of attention, or a uni-directional GRU, then a speaking logit per frame.
/// </summary>
public sealed class ActiveSpeakerModel : nn.Module
{
    public readonly FrameEncoder encoder;
    public readonly ModuleList<ContextBlock> blocks;
    public readonly GRU? gru;
    public readonly LayerNorm norm;
    public readonly Linear head;
    /// <summary>Per audio feature, the training data's mean and spread, which <see cref="Embed"/> normalises with.</summary>
    public readonly Tensor audioMean, audioStd;

    public ActiveSpeakerModel(ActiveSpeakerConfig config) : base(nameof(ActiveSpeakerModel))
    {
        Config = config.Validate();
        encoder = new FrameEncoder(config);
        blocks = nn.ModuleList<ContextBlock>();
        if (config.Temporal == TemporalModel.Gru) gru = nn.GRU(config.Width, config.Width, batchFirst: true);
        else
            for (int i = 0; i < config.Layers; i++) blocks.Add(new ContextBlock(config.Width, config.Heads, config.Past, config.Future));
        norm = nn.LayerNorm(config.Width);
        head = nn.Linear(config.Width, 1);
        audioMean = zeros(config.AudioFeatures);
        audioStd = ones(config.AudioFeatures);
        RegisterComponents();
    }

    public ActiveSpeakerConfig Config { get; }

    /// <summary>Trainable parameters.</summary>
    public long ParameterCount => parameters().Sum(p => p.NumberOfElements);

    /// <summary>
    /// Speaking logits of whole sequences: audio (B, T, mels × mels per frame), crops (B, T, S, S) → (B, T). Frame t sees
    /// frames t − P … t + F through every block (the GRU: frames 0 … t).
    /// </summary>
    public Tensor Forward(Tensor audio, Tensor crops)
    {
        CheckShapes(audio, crops);
        return Temporal(Embed(audio, crops));
    }

    /// <summary>
    /// The per-frame embeddings, frame by frame: audio (B or 1, T, features) as raw log-mel values, normalised here with
    /// <see cref="audioMean"/> and <see cref="audioStd"/>; crops (B, T, S, S) → (B, T, Width).
    /// </summary>
    public Tensor Embed(Tensor audio, Tensor crops)
    {
        long b = crops.shape[0], t = crops.shape[1];
        if (audio.shape[0] != b) audio = audio.expand(b, -1, -1);
        return EmbedFrames(audio.reshape(b * t, -1), crops.reshape(b * t, Config.CropSize, Config.CropSize)).view(b, t, -1);
    }

    /// <summary>Embeddings of single frames: audio (N, features) raw, crops (N, S, S) → (N, Width).</summary>
    internal Tensor EmbedFrames(Tensor audio, Tensor crops) => encoder.forward((audio - audioMean) / audioStd, crops);

    /// <summary>
    /// Sets the audio normalisation from log-mel frames of the training data, (mels, frames): each band's mean and spread,
    /// repeated for the <see cref="ActiveSpeakerConfig.MelsPerFrame"/> frames of a video frame.
    /// </summary>
    public void SetAudioStatistics(Tensor mel)
    {
        if (mel.dim() != 2 || mel.shape[0] != Config.Mels)
            throw new Core.InvalidSettingsException($"Give log-mel frames as ({Config.Mels} bands, frames), not [{string.Join(", ", mel.shape)}].");
        using var _ = no_grad();
        audioMean.copy_(mel.mean([1]).repeat(Config.MelsPerFrame));
        audioStd.copy_(mel.std(1).clamp_min(1e-3).repeat(Config.MelsPerFrame));
    }

    /// <summary>The temporal model and the head on per-frame embeddings: (B, T, Width) → logits (B, T).</summary>
    public Tensor Temporal(Tensor x)
    {
        if (gru is not null) x = gru.forward(x).Item1;
        else foreach (var block in blocks) x = block.Forward(x);
        return Head(x);
    }

    /// <summary>Freezes (or unfreezes) the frame encoder, so training moves only the temporal model and the head.</summary>
    public void FreezeEncoder(bool frozen = true)
    {
        foreach (var p in encoder.parameters()) p.requires_grad = !frozen;
    }

    /// <summary>Whether the frame encoder is frozen.</summary>
    public bool EncoderFrozen => !encoder.parameters().Any(p => p.requires_grad);

    internal Tensor Head(Tensor x) => head.forward(norm.forward(x)).squeeze(-1);

    void CheckShapes(Tensor audio, Tensor crops)
    {
        if (crops.dim() != 4 || crops.shape[2] != Config.CropSize || crops.shape[3] != Config.CropSize)
            throw new Core.InvalidSettingsException($"Give face crops as (faces, frames, {Config.CropSize}, {Config.CropSize}), not [{string.Join(", ", crops.shape)}].");
        if (audio.dim() != 3 || audio.shape[2] != Config.AudioFeatures)
            throw new Core.InvalidSettingsException($"Give audio as (faces, frames, {Config.AudioFeatures}) log-mel values, not [{string.Join(", ", audio.shape)}].");
        if (audio.shape[1] != crops.shape[1])
            throw new Core.InvalidSettingsException(
                $"The audio covers {audio.shape[1]} video frames but the faces {crops.shape[1]}: cut both to the same length (25 frames and {Config.MelsPerFrame * 25} log-mel frames per second).");
        if (audio.shape[0] != crops.shape[0] && audio.shape[0] != 1)
            throw new Core.InvalidSettingsException($"Give one audio track for all faces or one per face ({crops.shape[0]}), not {audio.shape[0]}.");
    }

    /// <summary>A stream over <paramref name="faces"/> faces of one scene, frame by frame (inference only).</summary>
    public ActiveSpeakerStream NewStream(int faces) => new(this, faces);
}
