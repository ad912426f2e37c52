using System.Diagnostics;
using EfficientML.Audio;
using EfficientML.Core;
using EfficientML.Vision;
using static TorchSharp.torch;

namespace EfficientML.ActiveSpeaker;

/// <summary>
/// One scene streamed through a detector frame by frame, as a camera and microphone would deliver it: each face's speaking
/// probability per frame (decided <see cref="LatencyFrames"/> frames late), the truth, the scores, and what the stream cost.
/// </summary>
/// <param name="Model">The detector's name.</param>
/// <param name="Config">Its shape.</param>
/// <param name="Scene">The rendered scene.</param>
/// <param name="Probabilities">Per face, the speaking probability of each frame.</param>
/// <param name="Score">Scores on this scene.</param>
/// <param name="MsPerFrame">Mean milliseconds to push one frame of every face (encoder and temporal model).</param>
/// <param name="StateBytes">Bytes the stream kept between frames.</param>
public sealed record SpeakerRun(string Model, ActiveSpeakerConfig Config, SpeakerScene Scene, IReadOnlyList<float[]> Probabilities,
    SpeakerScores Score, double MsPerFrame, long StateBytes)
{
    /// <summary>Frames each decision waited for.</summary>
    public int LatencyFrames => Config.LatencyFrames;

    /// <summary>
    /// Renders a new scene whose voices come from the test voices of <paramref name="voices"/>' deal (voices no model trained
    /// on), streams it through <paramref name="model"/>, and scores it.
    /// </summary>
    public static SpeakerRun OnNewScene(ActiveSpeakerModel model, string name, SceneOptions? scene = null, SpeakerDataOptions? voices = null,
        string? espeakLibrary = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var sceneOptions = (scene ?? new SceneOptions()).Validate();
        var v = (voices ?? new SpeakerDataOptions()).Validate();
        var (_, _, test) = SpeakerCatalog.Deal(v.TrainVoices, v.ValidationVoices, v.TestVoices, v.Seed);
        var rng = new Random(sceneOptions.Seed);
        var (speaker, offScreen) = SpeakerDataset.PickVoices(rng, test);
        SpeakerScene rendered;
        using (var synthesizer = SpeechSynthesizer.OpenFresh(espeakLibrary))
            rendered = SpeakerScene.Build(synthesizer, speaker, offScreen, sceneOptions);
        return Stream(model, name, rendered);
    }

    /// <summary>Streams a rendered scene through <paramref name="model"/> frame by frame and scores it.</summary>
    public static SpeakerRun Stream(ActiveSpeakerModel model, string name, SpeakerScene scene)
    {
        using var logMel = new LogMel(SpeakerDataset.Features);
        using var mel = SpeakerDataset.MelFrames(logMel, scene);
        using var example = SceneExample.Of(scene, mel);
        using var eval = new EvalMode(model);
        var clock = Stopwatch.StartNew();
        var logits = ActiveSpeakerStream.Run(model, example.Audio, example.Crops);
        double ms = clock.Elapsed.TotalMilliseconds / example.Frames;
        var probabilities = Enumerable.Range(0, example.Faces)
            .Select(f => Enumerable.Range(0, example.Frames).Select(t => 1f / (1f + MathF.Exp(-logits[f, t]))).ToArray()).ToList();
        var score = SpeakerTraining.Score([example], _ => probabilities.SelectMany(p => p).ToArray());
        return new SpeakerRun(name, model.Config, scene, probabilities, score, ms, ActiveSpeakerStream.StateBytesOf(model, example.Faces));
    }
}
