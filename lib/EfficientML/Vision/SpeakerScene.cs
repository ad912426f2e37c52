using EfficientML.Audio;
using EfficientML.Core;

namespace EfficientML.Vision;

/// <summary>How a distractor face moves its mouth.</summary>
public enum DistractorKind
{
    /// <summary>To other sentences, never heard in the audio.</summary>
    OtherSpeech,

    /// <summary>To the heard sentences, shifted in time (0.4 … 1 s early or late).</summary>
    Shifted,

    /// <summary>Not at all (the mouth stays closed, with a little twitching).</summary>
    Still,
}

/// <summary>Settings of one rendered scene (<see cref="SpeakerScene.Build"/>).</summary>
public sealed record SceneOptions
{
    /// <summary>Faces on screen (one is the speaker; the rest are distractors).</summary>
    public int Faces { get; init; } = 3;

    /// <summary>Length of the scene.</summary>
    public double Seconds { get; init; } = 8;

    /// <summary>Chance that a stretch between sentences is a silence of 0.5 … 1.5 s.</summary>
    public double SilenceShare { get; init; } = 0.3;

    /// <summary>Chance that a sentence is said by an off-screen voice, so no face on screen speaks it.</summary>
    public double OffScreenShare { get; init; } = 0.2;

    /// <summary>Head jitter: standard deviation of each frame's step of the head's random walk, in pixels.</summary>
    public double Jitter { get; init; } = 0.4;

    /// <summary>Pixel noise (standard deviation).</summary>
    public double PixelNoise { get; init; } = 0.03;

    /// <summary>Background noise of the audio (standard deviation of white noise, full scale 1).</summary>
    public double AudioNoise { get; init; } = 0.003;

    /// <summary>Seed of everything random in the scene.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Throws one clear message for a setting that cannot work.</summary>
    public SceneOptions Validate()
    {
        if (Faces < 1 || Faces > 8) throw new InvalidSettingsException($"A scene has 1 to 8 faces, not {Faces}: a scene with no faces has no one to watch.");
        if (!(Seconds >= 2 && Seconds <= 120)) throw new InvalidSettingsException($"A scene lasts 2 to 120 seconds, not {Seconds}.");
        if (!(SilenceShare >= 0 && SilenceShare < 1) || !(OffScreenShare >= 0 && OffScreenShare < 1))
            throw new InvalidSettingsException("SilenceShare and OffScreenShare are chances from 0 to below 1.");
        if (!(Jitter >= 0 && Jitter <= 3) || !(PixelNoise >= 0 && PixelNoise <= 0.5) || !(AudioNoise >= 0 && AudioNoise <= 0.1))
            throw new InvalidSettingsException("Jitter is 0 … 3 pixels, PixelNoise 0 … 0.5 and AudioNoise 0 … 0.1.");
        return this;
    }
}

/// <summary>One sentence of a scene: where it sits in the audio, who says it, and when the voice is heard.</summary>
/// <param name="Text">What is said.</param>
/// <param name="Face">The face that says it, or −1 for the off-screen voice.</param>
/// <param name="Offset">Where its audio starts in the scene, in seconds.</param>
/// <param name="SpeechStart">When the voice starts, in seconds into the scene.</param>
/// <param name="SpeechEnd">When it ends.</param>
/// <param name="Phonemes">Its phonemes, timed from <paramref name="Offset"/>.</param>
public sealed record SceneSentence(string Text, int Face, double Offset, double SpeechStart, double SpeechEnd, IReadOnlyList<PhonemeTiming> Phonemes)
{
    /// <summary>Whether the voice is heard at <paramref name="seconds"/> into the scene.</summary>
    public bool Heard(double seconds) => seconds >= SpeechStart && seconds < SpeechEnd;

    /// <summary>The mouth opening that says this sentence, over a scene of <paramref name="frames"/> frames (<see cref="Visemes.Curve"/>).</summary>
    public float[] Curve(int frames) => Visemes.Curve(Phonemes, SpeechStart - Offset, SpeechEnd - Offset, frames, Offset);
}

/// <summary>
/// A rendered scene: the audio (16 kHz), and per face the crops at 25 frames per second, the mouth opening each frame was
/// drawn with, and whether that face is speaking (the label). Deterministic from its options and voices.
/// </summary>
/// <param name="Options">The settings it was built with.</param>
/// <param name="Audio">The sound track.</param>
/// <param name="Frames">Per face, every crop one after another.</param>
/// <param name="Mouths">Per face, the mouth opening each frame was drawn with.</param>
/// <param name="Speaking">Per face, the label of each frame: this face is speaking.</param>
/// <param name="Kinds">Per face, null for the speaker, or how the distractor moves its mouth.</param>
/// <param name="Looks">Per face, its proportions and tone.</param>
/// <param name="States">Per face, each frame's mouth, eyes, head position and lighting.</param>
/// <param name="Sentences">Every sentence heard, in order.</param>
/// <param name="Voice">The on-screen speaker's voice.</param>
/// <param name="OffScreenVoice">The off-screen voice.</param>
public sealed record SpeakerScene(SceneOptions Options, float[] Audio, IReadOnlyList<float[]> Frames, IReadOnlyList<float[]> Mouths,
    IReadOnlyList<bool[]> Speaking, IReadOnlyList<DistractorKind?> Kinds, IReadOnlyList<FaceLook> Looks, IReadOnlyList<FaceState[]> States,
    IReadOnlyList<SceneSentence> Sentences, string Voice, string OffScreenVoice)
{
    /// <summary>Audio sample rate.</summary>
    public const int SampleRate = SpeechSynthesizer.SampleRate;

    /// <summary>Video frames.</summary>
    public int FrameCount => Mouths[0].Length;

    /// <summary>The speaking face (the others are distractors).</summary>
    public int SpeakerFace => Kinds.Select((k, i) => (k, i)).First(x => x.k is null).i;

    /// <summary>The crop of <paramref name="face"/> at <paramref name="frame"/> (<see cref="FaceRenderer.Size"/>², row by row).</summary>
    public ReadOnlySpan<float> Crop(int face, int frame) =>
        Frames[face].AsSpan(frame * FaceRenderer.Size * FaceRenderer.Size, FaceRenderer.Size * FaceRenderer.Size);

    /// <summary>Short sentences the scenes are made of (two to four words of everyday English).</summary>
    public static readonly IReadOnlyList<string> Words =
    [
        "morning", "coffee", "window", "garden", "yellow", "seven", "river", "paper", "music", "table", "open", "later",
        "happy", "orange", "little", "water", "number", "people", "summer", "winter", "quickly", "station", "maybe", "really",
        "tomorrow", "bottle", "pocket", "market", "animal", "basket", "sister", "doctor", "village", "mountain", "pepper", "lemon",
    ];

    /// <summary>
    /// Renders a scene: sentences by <paramref name="voice"/> (said by one face) and <paramref name="offScreen"/> (heard,
    /// with no face speaking), with silences between; every other face a distractor of a random <see cref="DistractorKind"/>.
    /// </summary>
    public static SpeakerScene Build(SpeechSynthesizer synthesizer, Speaker voice, Speaker offScreen, SceneOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(synthesizer);
        ArgumentNullException.ThrowIfNull(voice);
        ArgumentNullException.ThrowIfNull(offScreen);
        var o = (options ?? new SceneOptions()).Validate();
        if (voice.Name == offScreen.Name) throw new InvalidSettingsException("The off-screen voice must differ from the speaker's.");
        var rng = new Random(o.Seed);
        int samples = (int)Math.Round(o.Seconds * SampleRate), frames = (int)Math.Round(o.Seconds * Visemes.FramesPerSecond);
        var audio = new float[samples];
        int speaker = rng.Next(o.Faces);
        var sentences = new List<SceneSentence>();
        double cursor = 0.2 + 0.6 * rng.NextDouble();
        while (cursor < o.Seconds - 1)
        {
            if (rng.NextDouble() < o.SilenceShare) { cursor += 0.5 + rng.NextDouble(); continue; }
            bool heardOffScreen = rng.NextDouble() < o.OffScreenShare;
            var sentence = Say(synthesizer, heardOffScreen ? offScreen : voice, Sentence(rng), rng, heardOffScreen ? -1 : speaker, cursor);
            int start = (int)Math.Round(cursor * SampleRate);
            for (int i = 0; i < sentence.Samples.Length && start + i < samples; i++) audio[start + i] += sentence.Samples[i];
            if (sentence.Line.SpeechStart < o.Seconds) sentences.Add(sentence.Line with { SpeechEnd = Math.Min(sentence.Line.SpeechEnd, o.Seconds) });
            cursor += sentence.Samples.Length / (double)SampleRate + 0.2 + 0.4 * rng.NextDouble();
        }
        for (int i = 0; i < samples; i++) audio[i] += (float)(o.AudioNoise * FaceRenderer.Gaussian(rng));

        var kinds = Enumerable.Range(0, o.Faces).Select(f => f == speaker ? (DistractorKind?)null : (DistractorKind)rng.Next(3)).ToList();
        var mouths = new List<float[]>();
        var speaking = new List<bool[]>();
        var crops = new List<float[]>();
        var looks = new List<FaceLook>();
        var states = new List<FaceState[]>();
        foreach (var (kind, face) in kinds.Select((k, f) => (k, f)))
        {
            var mouth = kind switch
            {
                null => Sum(sentences.Where(s => s.Face == face).Select(s => s.Curve(frames)), frames),
                DistractorKind.Shifted => Shift(Sum(sentences.Where(s => s.Face >= 0).Select(s => s.Curve(frames)), frames),
                    (int)Math.Round((rng.Next(2) == 0 ? -1 : 1) * (0.4 + 0.6 * rng.NextDouble()) * Visemes.FramesPerSecond)),
                DistractorKind.OtherSpeech => OtherSpeech(synthesizer, voice, rng, frames, o.Seconds),
                _ => Twitch(rng, frames),
            };
            mouths.Add(mouth);
            speaking.Add(Enumerable.Range(0, frames).Select(f => kind is null && sentences.Any(s => s.Face == face && s.Heard((f + 0.5) / Visemes.FramesPerSecond))).ToArray());
            var look = FaceLook.Random(rng);
            var (pixels, frameStates) = RenderFace(look, mouth, o, rng);
            crops.Add(pixels);
            looks.Add(look);
            states.Add(frameStates);
        }
        return new SpeakerScene(o, audio, crops, mouths, speaking, kinds, looks, states, sentences, voice.Name, offScreen.Name);
    }

    static string Sentence(Random rng) => string.Join(' ', Enumerable.Range(0, 2 + rng.Next(3)).Select(_ => Words[rng.Next(Words.Count)]));

    static (float[] Samples, SceneSentence Line) Say(SpeechSynthesizer synthesizer, Speaker speaker, string text, Random rng, int face, double offset)
    {
        var speech = synthesizer.Synthesize(text, speaker.Voice(rng.Next(-15, 16), rng.Next(-8, 9)), seed: rng.Next());
        var (start, end) = Visemes.SpeechSpan(speech.Samples, speech.SampleRate);
        return (speech.Samples, new SceneSentence(text, face, offset, offset + start, offset + end, speech.Phonemes));
    }

    /// <summary>A distractor mouthing sentences of the same voice that the audio never contains, at its own times.</summary>
    static float[] OtherSpeech(SpeechSynthesizer synthesizer, Speaker voice, Random rng, int frames, double seconds)
    {
        var curves = new List<float[]>();
        for (double t = 0.3 * rng.NextDouble(); t < seconds - 1;)
        {
            var (samples, line) = Say(synthesizer, voice, Sentence(rng), rng, -1, t);
            curves.Add(line.Curve(frames));
            t += samples.Length / (double)SampleRate + 0.3 + 1.2 * rng.NextDouble();
        }
        return Sum(curves, frames);
    }

    static float[] Twitch(Random rng, int frames)
    {
        var mouth = new float[frames];
        for (int f = 0; f < frames; f++) mouth[f] = (float)(0.04 * rng.NextDouble());
        return mouth;
    }

    static float[] Sum(IEnumerable<float[]> curves, int frames)
    {
        var sum = new float[frames];
        foreach (var c in curves)
            for (int f = 0; f < frames; f++) sum[f] = Math.Min(1, sum[f] + c[f]);
        return sum;
    }

    static float[] Shift(float[] curve, int frames)
    {
        var shifted = new float[curve.Length];
        for (int f = 0; f < curve.Length; f++)
        {
            int from = f - frames;
            if (from >= 0 && from < curve.Length) shifted[f] = curve[from];
        }
        return shifted;
    }

    /// <summary>All frames of one face: blinks every 2–5 s, a random walk of the head, a slow drift of the lighting.</summary>
    static (float[] Pixels, FaceState[] States) RenderFace(FaceLook look, float[] mouth, SceneOptions o, Random rng)
    {
        int size = FaceRenderer.Size * FaceRenderer.Size;
        var pixels = new float[mouth.Length * size];
        var states = new FaceState[mouth.Length];
        double x = 0, y = 0, gain = 0.85 + 0.3 * rng.NextDouble(), bias = -0.05 + 0.1 * rng.NextDouble();
        int nextBlink = rng.Next(10, 60);
        for (int f = 0; f < mouth.Length; f++)
        {
            x = Math.Clamp(0.9 * x + o.Jitter * FaceRenderer.Gaussian(rng), -3, 3);
            y = Math.Clamp(0.9 * y + o.Jitter * FaceRenderer.Gaussian(rng), -3, 3);
            gain = Math.Clamp(gain + 0.005 * FaceRenderer.Gaussian(rng), 0.7, 1.3);
            double eyes = f >= nextBlink && f < nextBlink + 3 ? 0.1 : 1;
            if (f == nextBlink + 3) nextBlink = f + rng.Next(50, 125);
            states[f] = new FaceState(mouth[f], eyes, x, y, gain, bias);
            FaceRenderer.Render(look, states[f], pixels.AsSpan(f * size, size), rng, o.PixelNoise);
        }
        return (pixels, states);
    }
}
