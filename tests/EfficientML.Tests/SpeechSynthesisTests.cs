using EfficientML.Core;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;

namespace EfficientML.Tests;

public class SpeechSynthesisTests
{
    static readonly SynthesisVoice Voice = new() { Variant = "m3", Rate = 160, Pitch = 40 };

    [Fact]
    public void SpeaksAWordAt16KilohertzWithItsPhonemes()
    {
        var speech = SpeechSynthesizer.Open().Synthesize("seven", Voice, seed: 1);
        Assert.Equal(16000, speech.SampleRate);
        Assert.InRange(speech.Seconds, 0.2, 1.5);
        Assert.True(speech.Samples.Max(Math.Abs) > 0.05f, "the word should be audible");
        Assert.Equal("s ɛ v ə n", string.Join(" ", speech.Phonemes.Select(p => p.Phoneme).Where(p => p.Any(char.IsLetter)).Select(p => p.Trim('ˈ', 'ˌ'))));
        Assert.True(speech.Phonemes.Zip(speech.Phonemes.Skip(1)).All(p => p.First.Start <= p.Second.Start), "phoneme times should not go backwards");
    }

    [Fact]
    public void PhonemesComeInAsciiAndIpa()
    {
        var synthesizer = SpeechSynthesizer.Open();
        Assert.Equal("kˈɔːl mˌiː ˈɪʃmeɪl", synthesizer.Phonemes("Call me Ishmael", ipa: true));
        Assert.Contains("s", synthesizer.Phonemes("seven"));
    }

    [Fact]
    public void FreshSynthesizersGivenTheSameCallsGiveTheSameSamples()
    {
        float[] Run()
        {
            using var synthesizer = SpeechSynthesizer.OpenFresh();
            var first = synthesizer.Synthesize("seven", Voice, seed: 1).Samples;
            var second = synthesizer.Synthesize("three", Voice with { Variant = "f2", Rate = 220 }, seed: 2).Samples;
            return [.. first, .. second];
        }
        SpeechSynthesizer.Open().Synthesize("something else in between", Voice, seed: 9);
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void ADifferentSeedOrVoiceChangesTheAudio()
    {
        using var synthesizer = SpeechSynthesizer.OpenFresh();
        var a = synthesizer.Synthesize("seven", Voice, seed: 1).Samples;
        var b = synthesizer.Synthesize("seven", Voice with { Pitch = 70 }, seed: 1).Samples;
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void AMissingLibraryNamesThePackageToInstall()
    {
        var fresh = Assert.Throws<EspeakNotFoundException>(() => SpeechSynthesizer.OpenFresh("/nonexistent/libespeak-ng.so.1"));
        Assert.Contains("apt-get install espeak-ng", fresh.Message);
        var shared = Assert.Throws<EspeakNotFoundException>(() => SpeechSynthesizer.Open("/nonexistent/libespeak-ng.so.1"));
        Assert.Contains("espeak-ng", shared.Message);
    }

    [Fact]
    public void BadVoiceSettingsGetOneMessage()
    {
        var synthesizer = SpeechSynthesizer.Open();
        Assert.Contains("80..450", Assert.Throws<InvalidSettingsException>(() => synthesizer.Synthesize("x", Voice with { Rate = 20 })).Message);
        Assert.Contains("no voice", Assert.Throws<InvalidSettingsException>(() => synthesizer.Synthesize("x", new SynthesisVoice { Voice = "xx-nowhere" })).Message);
    }

    [Fact]
    public void ADisposedSynthesizerSaysSo()
    {
        var synthesizer = SpeechSynthesizer.OpenFresh();
        synthesizer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => synthesizer.Synthesize("seven"));
    }
}
