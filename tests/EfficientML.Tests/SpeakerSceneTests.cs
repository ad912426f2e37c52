using EfficientML.Audio;
using EfficientML.Core;
using EfficientML.Vision;

namespace EfficientML.Tests;

public class SpeakerSceneTests
{
    static readonly Speaker Voice = new("en-us", "m3", 50, 170), OffScreen = new("en", "f2", 60, 160);

    static double Correlation(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        double ma = a.Average(), mb = b.Average(), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.Count; i++)
        {
            sab += (a[i] - ma) * (b[i] - mb);
            saa += (a[i] - ma) * (a[i] - ma);
            sbb += (b[i] - mb) * (b[i] - mb);
        }
        return sab / Math.Sqrt(saa * sbb);
    }

    [Fact]
    public void Lips_close_for_p_b_m_open_wide_for_a_and_shut_in_pauses()
    {
        Assert.True(Visemes.Opening("m") < 0.05 && Visemes.Opening("b") < 0.05 && Visemes.Opening("p") < 0.05);
        Assert.True(Visemes.Opening("a") > 0.9 && Visemes.Opening("'aI") > 0.9 && Visemes.Opening("0") > 0.9);
        Assert.True(Visemes.Opening("i:") < Visemes.Opening("E") && Visemes.Opening("f") < Visemes.Opening("s"));
        Assert.Equal(0, Visemes.Opening("_"));
        // The synthesizer reports IPA: the same classes.
        Assert.True(Visemes.Opening("m") < Visemes.Opening("ð") && Visemes.Opening("ð") < Visemes.Opening("ɛ") && Visemes.Opening("ɛ") < Visemes.Opening("æ"));
        Assert.True(Visemes.Opening("aɪ") > 0.9 && Visemes.Opening("ˈɑː") > 0.9 && Visemes.Opening("ʊ") < Visemes.Opening("ə"));
        Assert.Equal(0.3, Visemes.Opening("tS"));
    }

    [Fact]
    public void The_rendered_mouth_follows_the_phoneme_timing_of_the_spoken_sentence()
    {
        var speech = SpeechSynthesizer.Open().Synthesize("yellow basket by the mountain", Voice.Voice(), seed: 3);
        var (start, end) = Visemes.SpeechSpan(speech.Samples, speech.SampleRate);
        int frames = (int)(speech.Seconds * Visemes.FramesPerSecond);
        var curve = Visemes.Curve(speech.Phonemes, start, end, frames);
        var look = new FaceLook(0.8, 0.85, 0.65, 0.38, 0.32);
        var rng = new Random(5);
        var measured = new List<double>();
        for (int f = 0; f < frames; f++)
        {
            var state = new FaceState(curve[f], OffsetX: rng.NextDouble() - 0.5, OffsetY: rng.NextDouble() - 0.5, Gain: 0.9, Bias: 0.03);
            measured.Add(FaceRenderer.MeasureMouth(FaceRenderer.Render(look, state, rng, 0.02), look, state));
        }
        // The pixels say what the curve says, in time: 120 ms or more early or late fits far worse.
        var target = curve.Select(c => (double)c).ToList();
        double inTime = Correlation(target, measured);
        Assert.True(inTime > 0.95, $"{inTime}");
        foreach (int lag in new[] { -6, -3, 3, 6 })
        {
            var shifted = Enumerable.Range(0, frames).Select(f => measured[Math.Clamp(f + lag, 0, frames - 1)]).ToList();
            Assert.True(Correlation(target, shifted) < inTime - 0.2, $"lag {lag}: {Correlation(target, shifted)} vs {inTime}");
        }
        // … and the curve moves with the voice: open while it sounds, closed before and after.
        var loudness = Enumerable.Range(0, frames).Select(f =>
        {
            int from = (int)(f / Visemes.FramesPerSecond * speech.SampleRate), to = Math.Min(speech.Samples.Length, (int)((f + 1) / Visemes.FramesPerSecond * speech.SampleRate));
            return Math.Sqrt(speech.Samples[from..to].Average(s => (double)s * s));
        }).ToList();
        Assert.True(Correlation(curve.Select(c => (double)c).ToList(), loudness) > 0.3);     // vowels are loud and open, p, b, m quiet and shut
        Assert.All(Enumerable.Range(0, frames).Where(f => (f + 0.5) / Visemes.FramesPerSecond < start - 0.05 || (f + 0.5) / Visemes.FramesPerSecond > end + 0.05),
            f => Assert.Equal(0, curve[f]));
        Assert.True(curve.Max() > 0.6);
    }

    [Fact]
    public void A_scene_labels_only_its_speaker_and_only_while_its_voice_is_heard()
    {
        var options = new SceneOptions { Faces = 3, Seconds = 10, Seed = 4, OffScreenShare = 0.3 };
        var scene = SpeakerScene.Build(SpeechSynthesizer.Open(), Voice, OffScreen, options);
        int frames = (int)(10 * Visemes.FramesPerSecond), speaker = scene.SpeakerFace;
        Assert.Equal(frames, scene.FrameCount);
        Assert.Equal(10 * SpeakerScene.SampleRate, scene.Audio.Length);
        Assert.Single(scene.Kinds, k => k is null);
        Assert.All(Enumerable.Range(0, 3).Where(f => f != speaker), f => Assert.DoesNotContain(true, scene.Speaking[f]));
        Assert.Contains(scene.Sentences, s => s.Face == speaker);
        for (int f = 0; f < frames; f++)
        {
            double t = (f + 0.5) / Visemes.FramesPerSecond;
            bool heard = scene.Sentences.Any(s => s.Face == speaker && t >= s.SpeechStart && t < s.SpeechEnd);
            Assert.Equal(heard, scene.Speaking[speaker][f]);
            if (scene.Sentences.Any(s => s.Face < 0 && t >= s.SpeechStart && t < s.SpeechEnd) && !heard)
                Assert.All(scene.Speaking, labels => Assert.False(labels[f]));            // an off-screen voice: no face speaks
        }
        // Every face's pixels say what its mouth curve says.
        foreach (int face in Enumerable.Range(0, 3))
        {
            var measured = Enumerable.Range(0, frames).Select(f => FaceRenderer.MeasureMouth(scene.Crop(face, f), scene.Looks[face], scene.States[face][f])).ToList();
            if (scene.Kinds[face] != DistractorKind.Still)
                Assert.True(Correlation(scene.Mouths[face].Select(m => (double)m).ToList(), measured) > 0.9, $"face {face} ({scene.Kinds[face]})");
        }
    }

    [Fact]
    public void A_shifted_distractor_mouths_the_heard_sentences_late_or_early()
    {
        var scene = Enumerable.Range(1, 20).Select(seed => SpeakerScene.Build(SpeechSynthesizer.Open(), Voice, OffScreen,
            new SceneOptions { Faces = 4, Seconds = 8, Seed = seed, OffScreenShare = 0 })).First(s => s.Kinds.Contains(DistractorKind.Shifted));
        int shifted = scene.Kinds.ToList().IndexOf(DistractorKind.Shifted);
        var own = scene.Mouths[scene.SpeakerFace].Select(m => (double)m).ToList();
        var other = scene.Mouths[shifted].Select(m => (double)m).ToList();
        double Lagged(int lag) => Correlation(own.Skip(Math.Max(0, -lag)).Take(own.Count - Math.Abs(lag)).ToList(),
            other.Skip(Math.Max(0, lag)).Take(own.Count - Math.Abs(lag)).ToList());
        var best = Enumerable.Range(-25, 51).Where(l => Math.Abs(l) >= 10).MaxBy(Lagged);
        Assert.True(Lagged(best) > 0.9, $"best lag {best}: {Lagged(best)}");                 // the same mouth movements, 0.4–1 s apart
        Assert.True(Lagged(0) < Lagged(best) - 0.3);
    }

    [Fact]
    public void A_scene_is_the_same_for_the_same_seed_and_bad_settings_name_the_fix()
    {
        SpeakerScene Build(int seed)
        {
            using var synthesizer = SpeechSynthesizer.OpenFresh();
            return SpeakerScene.Build(synthesizer, Voice, OffScreen, new SceneOptions { Seconds = 4, Seed = seed });
        }
        var (a, b, c) = (Build(7), Build(7), Build(8));
        Assert.Equal(a.Audio, b.Audio);
        Assert.Equal(a.Frames[0], b.Frames[0]);
        Assert.NotEqual(a.Audio, c.Audio);
        Assert.Contains("no one to watch", Assert.Throws<InvalidSettingsException>(() => new SceneOptions { Faces = 0 }.Validate()).Message);
        Assert.Contains("off-screen voice must differ", Assert.Throws<InvalidSettingsException>(() =>
            SpeakerScene.Build(SpeechSynthesizer.Open(), Voice, Voice, new SceneOptions { Seconds = 4 })).Message);
    }
}
