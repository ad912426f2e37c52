using EfficientML.Core;
using static TorchSharp.torch;

namespace EfficientML.ActiveSpeaker;

/// <summary>
/// Streaming inference: frames arrive one at a time; each transformer block keeps a ring buffer of P + F + 1 keys and values
/// per face and gives a frame's output F frames later, so a decision comes <see cref="ActiveSpeakerConfig.LatencyFrames"/>
/// frames after its frame; the GRU keeps its state and decides at once. The decisions equal those of the whole-sequence
/// masked computation (<see cref="ActiveSpeakerModel.Forward"/>).
/// </summary>
public sealed class ActiveSpeakerStream : IDisposable
{
    readonly ActiveSpeakerModel _model;
    readonly ContextState[] _states;
    readonly Device _device;
    Tensor? _hidden;
    long _pushed, _decided;

    internal ActiveSpeakerStream(ActiveSpeakerModel model, int faces)
    {
        if (faces < 1) throw new InvalidSettingsException($"A stream needs at least one face to watch (got {faces}).");
        _model = model;
        Faces = faces;
        _device = model.head.weight!.device;
        _states = model.blocks.Select(b => b.NewState(faces, _device)).ToArray();
        if (model.gru is not null) _hidden = zeros(1, faces, model.Config.Width, device: _device).DetachFromDisposeScope();
    }

    public int Faces { get; }

    /// <summary>Frames pushed so far.</summary>
    public long Frames => _pushed;

    /// <summary>Bytes the stream keeps between frames: every block's ring buffer and waiting frames, or the GRU's state.</summary>
    public long StateBytes => _states.Sum(s => s.Bytes) + (_hidden is null ? 0 : _hidden.NumberOfElements * _hidden.ElementSize);

    /// <summary>
    /// One video frame: audio (mels × mels per frame, raw log-mel values), crops (faces, S, S). Returns the frames decided by it, each as
    /// (frame index, speaking logits per face): none while the first decision still waits for its future.
    /// </summary>
    public IReadOnlyList<(long Frame, float[] Logits)> Push(Tensor audio, Tensor crops)
    {
        var cfg = _model.Config;
        if (audio.NumberOfElements != cfg.AudioFeatures)
            throw new InvalidSettingsException($"Push one video frame of audio: {cfg.AudioFeatures} log-mel values ({cfg.MelsPerFrame} frames of {cfg.Mels} bands), not {audio.NumberOfElements}.");
        if (crops.dim() != 3 || crops.shape[0] != Faces || crops.shape[1] != cfg.CropSize || crops.shape[2] != cfg.CropSize)
            throw new InvalidSettingsException($"Push one crop per face, ({Faces}, {cfg.CropSize}, {cfg.CropSize}), not [{string.Join(", ", crops.shape)}].");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return PushEmbedding(_model.EmbedFrames(audio.reshape(1, -1).to(_device).expand(Faces, -1), crops.to(_device)));
    }

    /// <summary>One frame already embedded by the frame encoder, (faces, Width): only the temporal model and the head run.</summary>
    public IReadOnlyList<(long Frame, float[] Logits)> PushEmbedding(Tensor x)
    {
        if (x.dim() != 2 || x.shape[0] != Faces || x.shape[1] != _model.Config.Width)
            throw new InvalidSettingsException($"Push one embedding per face, ({Faces}, {_model.Config.Width}), not [{string.Join(", ", x.shape)}].");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        _pushed++;
        if (_hidden is not null)
        {
            var (output, hidden) = _model.gru!.forward(x.unsqueeze(1), _hidden);
            _hidden.Dispose();
            _hidden = hidden.DetachFromDisposeScope();
            return [Decide(output.squeeze(1))];
        }
        return Through(0, x);
    }

    /// <summary>The decisions still waiting when the stream ends (the last <see cref="ActiveSpeakerConfig.LatencyFrames"/> frames).</summary>
    public IReadOnlyList<(long Frame, float[] Logits)> Finish()
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var decided = new List<(long, float[])>();
        for (int i = 0; i < _states.Length; i++)
            foreach (var y in _model.blocks[i].Flush(_states[i]).ToList())
                decided.AddRange(Through(i + 1, y));
        return decided;
    }

    /// <summary>Runs <paramref name="x"/> (one frame's output of block <paramref name="from"/> − 1) through the blocks from <paramref name="from"/> on.</summary>
    List<(long, float[])> Through(int from, Tensor x)
    {
        var decided = new List<(long, float[])>();
        if (from == _states.Length) { decided.Add(Decide(x)); return decided; }
        var y = _model.blocks[from].Push(_states[from], x);
        if (y is not null) decided.AddRange(Through(from + 1, y));
        return decided;
    }

    (long, float[]) Decide(Tensor x) => (_decided++, _model.Head(x).to(CPU).data<float>().ToArray());

    /// <summary>Bytes a stream of <paramref name="model"/> over <paramref name="faces"/> faces keeps between frames.</summary>
    public static long StateBytesOf(ActiveSpeakerModel model, int faces)
    {
        using var stream = model.NewStream(faces);
        return stream.StateBytes;
    }

    /// <summary>Streams a whole scene: audio (T, features), crops (faces, T, S, S) → logits (faces, T).</summary>
    public static float[,] Run(ActiveSpeakerModel model, Tensor audio, Tensor crops)
    {
        int faces = (int)crops.shape[0], frames = (int)crops.shape[1];
        if (audio.shape[0] != frames)
            throw new InvalidSettingsException($"The audio covers {audio.shape[0]} video frames but the faces {frames}: give both the same length.");
        using var stream = model.NewStream(faces);
        var logits = new float[faces, frames];
        void Keep(IEnumerable<(long Frame, float[] Logits)> decided)
        {
            foreach (var (frame, values) in decided)
                for (int f = 0; f < faces; f++) logits[f, frame] = values[f];
        }
        for (int t = 0; t < frames; t++)
        {
            using var scope = NewDisposeScope();      // the frame's views of audio and crops
            Keep(stream.Push(audio[t], crops[.., t]));
        }
        Keep(stream.Finish());
        return logits;
    }

    public void Dispose()
    {
        foreach (var s in _states) s.Dispose();
        _hidden?.Dispose();
    }
}
