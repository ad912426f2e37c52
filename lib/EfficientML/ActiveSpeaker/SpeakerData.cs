using EfficientML.Audio;
using EfficientML.Core;
using EfficientML.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.ActiveSpeaker;

/// <summary>How many rendered scenes each split holds, from how many voices, and how each scene is made.</summary>
public sealed record SpeakerDataOptions
{
    /// <summary>The settings of every scene (its seed is replaced per scene).</summary>
    public SceneOptions Scene { get; init; } = new() { Seconds = 8, Faces = 3 };

    public int TrainScenes { get; init; } = 48;
    public int ValidationScenes { get; init; } = 8;
    public int TestScenes { get; init; } = 16;

    /// <summary>espeak-ng voices dealt to each split; a scene's speaker and off-screen voice come from its split's voices only.</summary>
    public int TrainVoices { get; init; } = 24;
    public int ValidationVoices { get; init; } = 6;
    public int TestVoices { get; init; } = 8;

    /// <summary>Seed of the voice deal and of every scene.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>A few short scenes, for tests and quick notebook runs.</summary>
    public SpeakerDataOptions Quick() => this with
    {
        Scene = Scene with { Seconds = Math.Min(Scene.Seconds, 6) }, TrainScenes = Math.Min(TrainScenes, 8), ValidationScenes = Math.Min(ValidationScenes, 2),
        TestScenes = Math.Min(TestScenes, 3), TrainVoices = Math.Min(TrainVoices, 6), ValidationVoices = Math.Min(ValidationVoices, 2), TestVoices = Math.Min(TestVoices, 3),
    };

    public SpeakerDataOptions Validate()
    {
        Scene.Validate();
        foreach (var (name, value, least) in new[] { (nameof(TrainScenes), TrainScenes, 1), (nameof(ValidationScenes), ValidationScenes, 0), (nameof(TestScenes), TestScenes, 1) })
            if (value < least || value > 5000) throw new InvalidSettingsException($"{name} must be {least} to 5000 (got {value}).");
        foreach (var (name, value) in new[] { (nameof(TrainVoices), TrainVoices), (nameof(ValidationVoices), ValidationVoices), (nameof(TestVoices), TestVoices) })
            if (value < 2) throw new InvalidSettingsException($"{name} must be at least 2: each scene has a speaker and a different off-screen voice (got {value}).");
        if (TrainVoices + ValidationVoices + TestVoices > SpeakerCatalog.Voices.Count)
            throw new InvalidSettingsException($"There are {SpeakerCatalog.Voices.Count} voices; {TrainVoices + ValidationVoices + TestVoices} asked for.");
        return this;
    }
}

/// <summary>
/// One scene as tensors: per video frame the log-mel frames of its 40 ms (<see cref="Audio"/>, (T, mels × 4)),
/// per face its crops (<see cref="Crops"/>, (faces, T, S, S)) and labels (<see cref="Labels"/>, (faces, T), 1 = speaking).
/// </summary>
public sealed class SceneExample : IDisposable
{
    internal SceneExample(SpeakerScene scene, Tensor audio)
    {
        Scene = scene;
        Audio = audio;
        int faces = scene.Options.Faces, frames = scene.FrameCount;
        Crops = cat(scene.Frames.Select(f => tensor(f).view(1, frames, FaceRenderer.Size, FaceRenderer.Size)).ToList(), 0).DetachFromDisposeScope();
        Labels = tensor(scene.Speaking.SelectMany(s => s.Select(b => b ? 1f : 0f)).ToArray()).view(faces, frames).DetachFromDisposeScope();
    }

    /// <summary>A scene with its log-mel frames (mels, 4T) (<see cref="SpeakerDataset.MelFrames"/>).</summary>
    public static SceneExample Of(SpeakerScene scene, Tensor mel)
    {
        using var scope = NewDisposeScope();
        var perFrame = mel.T.reshape(scene.FrameCount, -1).contiguous();   // (T, 4 × mels): video frame f's four log-mel frames
        return new SceneExample(scene, perFrame.DetachFromDisposeScope());
    }

    /// <summary>The rendered scene (its sentences, faces, distractor kinds and voices).</summary>
    public SpeakerScene Scene { get; }
    public Tensor Audio { get; }
    public Tensor Crops { get; }
    public Tensor Labels { get; }
    public int Faces => (int)Crops.shape[0];
    public int Frames => (int)Crops.shape[1];

    public void Dispose()
    {
        Audio.Dispose();
        Crops.Dispose();
        Labels.Dispose();
    }
}

/// <summary>The scenes of one split and the voices they were spoken with.</summary>
public sealed record SpeakerSplit(string Name, IReadOnlyList<SceneExample> Scenes, IReadOnlyList<string> Voices)
{
    /// <summary>Face tracks (faces × scenes).</summary>
    public int Tracks => Scenes.Sum(s => s.Faces);

    /// <summary>Share of face-frames labelled speaking.</summary>
    public double SpeakingShare => Scenes.Sum(s => s.Labels.sum().item<float>()) / Math.Max(1, Scenes.Sum(s => s.Labels.NumberOfElements));
}

/// <summary>
/// Rendered scenes for active speaker detection in three splits that share no voice (<see cref="SpeakerCatalog.Deal"/>):
/// deterministic from <see cref="SpeakerDataOptions.Seed"/>. The log-mel features are kept raw; a model normalises them with
/// the training split's statistics (<see cref="ActiveSpeakerModel.SetAudioStatistics"/>, which training calls).
/// </summary>
public sealed class SpeakerDataset : IDisposable
{
    SpeakerDataset(SpeakerDataOptions options, SpeakerSplit train, SpeakerSplit validation, SpeakerSplit test, Tensor trainMel, TimeSpan buildTime)
    {
        (Options, Train, Validation, Test, TrainLogMel, BuildTime) = (options, train, validation, test, trainMel, buildTime);
    }

    /// <summary>Every log-mel frame of the training scenes, (mels, frames): what a model's audio normalisation is set from.</summary>
    public Tensor TrainLogMel { get; }

    public SpeakerDataOptions Options { get; }
    public SpeakerSplit Train { get; }
    public SpeakerSplit Validation { get; }
    public SpeakerSplit Test { get; }
    public IReadOnlyList<SpeakerSplit> Splits => [Train, Validation, Test];
    public TimeSpan BuildTime { get; }

    /// <summary>Log-mel settings of the audio features (10 ms hop: four frames per video frame).</summary>
    public static readonly LogMelOptions Features = new() { Mels = 40, HopMs = 10, WindowMs = 25 };

    /// <summary>Renders every scene (espeak-ng speaks the sentences) and computes its features.</summary>
    public static SpeakerDataset Build(SpeakerDataOptions? options = null, string? espeakLibrary = null)
    {
        var o = (options ?? new SpeakerDataOptions()).Validate();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (trainVoices, validationVoices, testVoices) = SpeakerCatalog.Deal(o.TrainVoices, o.ValidationVoices, o.TestVoices, o.Seed);
        using var synthesizer = SpeechSynthesizer.OpenFresh(espeakLibrary);
        using var logMel = new LogMel(Features);
        var plan = new[] { ("train", o.TrainScenes, trainVoices, 0), ("validation", o.ValidationScenes, validationVoices, 1), ("test", o.TestScenes, testVoices, 2) };
        var raw = plan.Select(p => (p.Item1, p.Item3, Scenes: Enumerable.Range(0, p.Item2).Select(i =>
        {
            var rng = new Random(SceneSeed(o.Seed, p.Item4, i));
            var (speaker, offScreen) = PickVoices(rng, p.Item3);
            var scene = SpeakerScene.Build(synthesizer, speaker, offScreen, o.Scene with { Seed = rng.Next() });
            return (scene, Mel: MelFrames(logMel, scene));
        }).ToList())).ToList();

        var splits = raw.Select(r => new SpeakerSplit(r.Item1, r.Scenes.Select(s => SceneExample.Of(s.scene, s.Mel)).ToList(), r.Item2.Select(v => v.Name).ToList())).ToList();
        var trainMel = cat(raw[0].Scenes.Select(s => s.Mel).ToList(), 1).DetachFromDisposeScope();
        foreach (var s in raw.SelectMany(r => r.Scenes)) s.Mel.Dispose();
        return new SpeakerDataset(o, splits[0], splits[1], splits[2], trainMel, clock.Elapsed);
    }

    /// <summary>A scene's on-screen speaker and a different off-screen voice, drawn from <paramref name="voices"/>.</summary>
    internal static (Speaker Speaker, Speaker OffScreen) PickVoices(Random rng, IReadOnlyList<Speaker> voices)
    {
        int speaker = rng.Next(voices.Count), other = (speaker + 1 + rng.Next(voices.Count - 1)) % voices.Count;
        return (voices[speaker], voices[other]);
    }

    /// <summary>
    /// The seed of scene <paramref name="index"/> of split <paramref name="split"/> (0 train, 1 validation, 2 test): plain
    /// arithmetic on the dataset's seed, the same in every process (unlike <see cref="HashCode"/>, which is salted per process).
    /// </summary>
    public static int SceneSeed(int seed, int split, int index) => KeywordDatasetBuilder.DerivedSeed(seed, split, index);

    /// <summary>
    /// The log-mel frames of a scene, four per video frame: (mels, 4T). Frame 4f + i starts at sample 640 f + 160 i, so video
    /// frame f's four cover its own 40 ms (the last window reaches 15 ms past it); the audio is padded at the end to fit.
    /// </summary>
    public static Tensor MelFrames(LogMel logMel, SpeakerScene scene)
    {
        var o = logMel.Options;
        int perFrame = (int)Math.Round(o.SampleRate / Visemes.FramesPerSecond / o.HopSamples), needed = perFrame * scene.FrameCount;
        int samples = (needed - 1) * o.HopSamples + o.WindowSamples;
        var audio = new float[samples];
        Array.Copy(scene.Audio, audio, Math.Min(samples, scene.Audio.Length));
        using var mel = logMel.Compute(audio);
        return mel.narrow(1, 0, needed).contiguous();
    }

    public void Dispose()
    {
        TrainLogMel.Dispose();
        foreach (var split in Splits)
            foreach (var scene in split.Scenes) scene.Dispose();
    }
}
