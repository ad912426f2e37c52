using EfficientML.Core;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;

namespace EfficientML.Tests;

public class KeywordDatasetTests : IDisposable
{
    readonly string _cache = Path.Combine(Path.GetTempPath(), $"kws-test-{Guid.NewGuid():N}");

    static readonly KeywordDatasetOptions Small = new()
    {
        Keywords = ["zero", "one", "seven"],
        TrainSpeakers = 4, ValidationSpeakers = 2, TestSpeakers = 2,
        UnknownPerSpeaker = 1, SilencePerSpeaker = 1, Seed = 5,
    };

    public void Dispose()
    {
        if (Directory.Exists(_cache)) Directory.Delete(_cache, recursive: true);
    }

    static void AssertSameSamples(KeywordDataset a, KeywordDataset b)
    {
        foreach (var (x, y) in a.Splits.Zip(b.Splits))
        {
            Assert.Equal(x.Clips, y.Clips);
            Assert.True(x.RawSamples.SequenceEqual(y.RawSamples), $"split {x.Name} differs");
        }
    }

    [Fact]
    public void TheSameSeedGivesTheSameDataset()
    {
        var a = KeywordDatasetBuilder.Build(Small, useCache: false);
        var b = KeywordDatasetBuilder.Build(Small, useCache: false);
        AssertSameSamples(a, b);
        var other = KeywordDatasetBuilder.Build(Small with { Seed = 6 }, useCache: false);
        Assert.False(a.Train.RawSamples.SequenceEqual(other.Train.RawSamples), "another seed should give other audio");
    }

    [Fact]
    public void SplitsShareNoVoiceAndHoldEveryClass()
    {
        var data = KeywordDatasetBuilder.Build(Small, useCache: false);
        Assert.Equal(["zero", "one", "seven", "_unknown_", "_silence_"], data.Labels);
        Assert.Equal(4, data.Train.Speakers.Count);
        Assert.Empty(data.Train.Speakers.Intersect(data.Validation.Speakers));
        Assert.Empty(data.Train.Speakers.Intersect(data.Test.Speakers));
        Assert.Empty(data.Validation.Speakers.Intersect(data.Test.Speakers));
        foreach (var split in data.Splits)
        {
            int speakers = split.Speakers.Count;
            Assert.Equal(speakers * 5, split.Count);
            for (int label = 0; label < 5; label++) Assert.Equal(speakers, split.Clips.Count(c => c.Label == label));
        }
        Assert.All(data.Splits.SelectMany(s => s.Clips).Where(c => c.Label == 4), c => Assert.Equal(("", ""), (c.Word, c.Speaker)));
        Assert.All(data.Splits.SelectMany(s => s.Clips).Where(c => c.Noisy), c => Assert.InRange(c.SnrDb, Small.MinSnrDb, Small.MaxSnrDb));
    }

    [Fact]
    public void TheCacheGivesBackExactlyWhatWasBuilt()
    {
        var built = KeywordDatasetBuilder.Build(Small, cacheFolder: _cache);
        Assert.False(built.FromCache);
        var loaded = KeywordDatasetBuilder.Build(Small, cacheFolder: _cache);
        Assert.True(loaded.FromCache);
        AssertSameSamples(built, loaded);
        var path = new KeywordDatasetCache(_cache).PathFor(Small);
        File.WriteAllBytes(path, [1, 2, 3]);                                            // a damaged file is rebuilt
        Assert.False(KeywordDatasetBuilder.Build(Small, cacheFolder: _cache).FromCache);
    }

    [Fact]
    public void TensorsHaveOneRowPerClip()
    {
        var data = KeywordDatasetBuilder.Build(Small, useCache: false);
        using var audio = data.Test.AudioTensor();
        Assert.Equal(new long[] { data.Test.Count, 16000 }, audio.shape);
        Assert.Equal(data.Test.Audio(3), audio[3].data<float>().ToArray());
        using var labels = data.Test.LabelTensor();
        Assert.Equal(data.Test.Labels.Select(l => (long)l), labels.data<long>().ToArray());
    }

    [Fact]
    public void AStreamPlacesWordsAtKnownTimes()
    {
        var stream = KeywordStream.Build(Small, seconds: 12, seed: 3);
        Assert.Equal(12 * 16000, stream.Samples.Length);
        Assert.True(stream.Events.Count >= 4, $"only {stream.Events.Count} words in 12 s");
        Assert.True(stream.Events.Zip(stream.Events.Skip(1)).All(p => p.First.End <= p.Second.Start), "words should not overlap");
        var first = stream.Events[0];
        Assert.Equal(first.Label, stream.LabelAt((first.Start + first.End) / 2));
        Assert.Equal(-1, stream.LabelAt(first.Start - 0.01));
        double during = Rms(stream.Samples.AsSpan((int)(first.Start * 16000), (int)((first.End - first.Start) * 16000)).ToArray());
        double before = Rms(stream.Samples.AsSpan(0, (int)(first.Start * 16000)).ToArray());
        Assert.True(during > 2 * before, $"the word ({during:0.000}) should stand out of the noise bed ({before:0.000})");
        Assert.Equal(stream.Samples, KeywordStream.Build(Small, seconds: 12, seed: 3).Samples);
    }

    [Fact]
    public void BadOptionsGetOneMessage()
    {
        Assert.Contains("keyword list is empty", Assert.Throws<InvalidSettingsException>(() => (Small with { Keywords = [] }).Validate()).Message);
        Assert.Contains("twice", Assert.Throws<InvalidSettingsException>(() => (Small with { Keywords = ["one", "One"] }).Validate()).Message);
        Assert.Contains("swap", Assert.Throws<InvalidSettingsException>(() => (Small with { MinSnrDb = 30, MaxSnrDb = 5 }).Validate()).Message);
        Assert.Contains("number of decibels", Assert.Throws<InvalidSettingsException>(() => KeywordDatasetOptions.ParseSnrRange("loud")).Message);
        Assert.Equal((5.0, 30.0), KeywordDatasetOptions.ParseSnrRange("5..30"));
        Assert.Contains("voices", Assert.Throws<InvalidSettingsException>(() => (Small with { TrainSpeakers = 10_000 }).Validate()).Message);
    }

    [Fact]
    public void AMissingEspeakStopsTheBuildWithTheFix()
    {
        var e = Assert.Throws<EspeakNotFoundException>(() => KeywordDatasetBuilder.Build(Small, useCache: false, espeakLibrary: "/nonexistent/libespeak-ng.so.1"));
        Assert.Contains("apt-get install espeak-ng", e.Message);
    }

    static double Rms(float[] x) => Math.Sqrt(x.Average(v => (double)v * v));
}
