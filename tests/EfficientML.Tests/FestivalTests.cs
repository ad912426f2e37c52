using EfficientML.Audio;

namespace EfficientML.Tests;

public class FestivalTests
{
    static readonly KeywordDatasetOptions Mixed = new()
    {
        Keywords = ["zero", "one", "seven"],
        TrainSpeakers = 6, ValidationSpeakers = 2, TestSpeakers = 2,
        UnknownPerSpeaker = 1, SilencePerSpeaker = 1, Seed = 5, FestivalShare = 0.5,
    };

    /// <summary>Pitch of the loudest 100 ms by autocorrelation (60 … 400 Hz).</summary>
    static double Pitch(float[] s)
    {
        int n = 1600, best = 0;
        double bestEnergy = 0, bestCorrelation = 0;
        for (int i = 0; i + n < s.Length; i += 160)
        {
            double e = 0;
            for (int j = 0; j < n; j++) e += s[i + j] * s[i + j];
            if (e > bestEnergy) (bestEnergy, best) = (e, i);
        }
        int lagOfBest = 0;
        for (int lag = 40; lag <= 266; lag++)
        {
            double c = 0;
            for (int j = 0; j < n - lag; j++) c += s[best + j] * s[best + j + lag];
            if (c > bestCorrelation) (bestCorrelation, lagOfBest) = (c, lag);
        }
        return 16000.0 / lagOfBest;
    }

    [Fact]
    public void Festival_speaks_every_voice_at_16_kHz_the_same_way_twice_and_follows_the_asked_pace_and_pitch()
    {
        using var festival = FestivalSynthesizer.Open();
        Assert.Equal(FestivalSynthesizer.KnownVoices.Select(v => v.Voice), festival.Voices);
        foreach (var voice in festival.Voices)
        {
            var a = festival.Synthesize("seven", voice);
            Assert.True(a.Length > 0.3 * FestivalSynthesizer.SampleRate && a.Length < 2 * FestivalSynthesizer.SampleRate, $"{voice}: {a.Length} samples");
            Assert.True(a.Max(Math.Abs) is > 0.01f and <= 1f, voice);
            Assert.Equal(a, festival.Synthesize("seven", voice));
        }
        var slow = festival.Synthesize("seven", "kal_diphone", stretch: 1.4);
        var fast = festival.Synthesize("seven", "kal_diphone", stretch: 0.8);
        Assert.True(slow.Length > 1.5 * fast.Length, $"{slow.Length} vs {fast.Length}");
        double low = Pitch(festival.Synthesize("seven", "ked_diphone", pitchHz: 100)), high = Pitch(festival.Synthesize("seven", "ked_diphone", pitchHz: 200));
        Assert.True(high > 1.6 * low, $"{low:0} Hz vs {high:0} Hz");
        Assert.Throws<Core.InvalidSettingsException>(() => festival.Synthesize("seven", "klingon"));
    }

    [Fact]
    public void A_missing_Festival_gives_one_message_naming_the_packages()
    {
        var error = Assert.Throws<FestivalNotFoundException>(() => FestivalSynthesizer.Open("/nonexistent/festival"));
        Assert.Contains("apt-get install festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts", error.Message);
    }

    [Fact]
    public void Mixing_engines_is_deterministic_and_Festival_voices_stay_in_the_training_split()
    {
        var a = KeywordDatasetBuilder.Build(Mixed, useCache: false);
        var b = KeywordDatasetBuilder.Build(Mixed, useCache: false);
        foreach (var (x, y) in a.Splits.Zip(b.Splits))
        {
            Assert.Equal(x.Clips, y.Clips);
            Assert.True(x.RawSamples.SequenceEqual(y.RawSamples), $"split {x.Name} differs");
        }
        var festivalVoices = a.Train.Speakers.Where(s => s.StartsWith("festival+", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, festivalVoices.Count);                                   // half of six speakers: one per Festival voice
        Assert.Equal(3, a.Train.Speakers.Count(s => !s.StartsWith("festival+", StringComparison.Ordinal)));
        foreach (var split in new[] { a.Validation, a.Test })
            Assert.DoesNotContain(split.Speakers, s => s.StartsWith("festival+", StringComparison.Ordinal));
        Assert.Empty(a.Train.Speakers.Intersect(a.Validation.Speakers));
        Assert.Empty(a.Train.Speakers.Intersect(a.Test.Speakers));
        Assert.Empty(a.Validation.Speakers.Intersect(a.Test.Speakers));
        // The share decides the cache key; a dataset without Festival keeps the key it had before Festival joined.
        Assert.NotEqual(KeywordDatasetCache.Key(Mixed), KeywordDatasetCache.Key(Mixed with { FestivalShare = 0 }));
        Assert.Throws<Core.InvalidSettingsException>(() => (Mixed with { FestivalShare = 1.5 }).Validate());
    }
}
