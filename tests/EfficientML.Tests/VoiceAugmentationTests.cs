using EfficientML.Audio;
using EfficientML.Core;

namespace EfficientML.Tests;

public class VoiceAugmentationTests
{
    const int Rate = 16000;

    /// <summary>The real speaker's "seven", centred in one second.</summary>
    static float[] Seven()
    {
        var speech = ClipRenderer.TrimSilence(RealVoiceSet.Load().Clip("seven").Samples, Rate);
        var clip = new float[Rate];
        speech.CopyTo(clip, (Rate - speech.Length) / 2);
        return clip;
    }

    /// <summary>A 440 Hz tone from 0.25 s to 0.75 s of one second of silence.</summary>
    static float[] Tone(double hz = 440)
    {
        var clip = new float[Rate];
        for (int i = Rate / 4; i < 3 * Rate / 4; i++) clip[i] = (float)(0.5 * Math.Sin(2 * Math.PI * hz * i / Rate));
        return clip;
    }

    /// <summary>The strongest frequency (1 Hz steps, 100 … 1000 Hz) of the 0.1 s around the clip's middle.</summary>
    static int Frequency(float[] x)
    {
        int best = 0, from = Rate / 2 - 800;
        double bestPower = 0;
        for (int f = 100; f <= 1000; f++)
        {
            double re = 0, im = 0;
            for (int i = from; i < from + 1600; i++)
            {
                re += x[i] * Math.Cos(2 * Math.PI * f * i / Rate);
                im += x[i] * Math.Sin(2 * Math.PI * f * i / Rate);
            }
            if (re * re + im * im > bestPower) (bestPower, best) = (re * re + im * im, f);
        }
        return best;
    }

    /// <summary>Time of the clip's energy centre, in samples.</summary>
    static double Centroid(float[] x)
    {
        double sum = 0, weighted = 0;
        for (int i = 0; i < x.Length; i++) { sum += x[i] * (double)x[i]; weighted += i * (x[i] * (double)x[i]); }
        return weighted / sum;
    }

    [Theory]
    [InlineData(0.9)]
    [InlineData(1.1)]
    public void The_vocal_tract_warp_scales_every_frequency_and_keeps_length_level_and_timing(double alpha)
    {
        var tone = Tone();
        var warped = VoiceAugmentation.WarpVocalTract(tone, Rate, alpha);
        Assert.Equal(tone.Length, warped.Length);
        Assert.InRange(Frequency(warped), 440 * alpha - 3, 440 * alpha + 3);
        Assert.Equal(AudioMixing.Peak(tone), AudioMixing.Peak(warped), 4);

        var seven = Seven();
        var voice = VoiceAugmentation.WarpVocalTract(seven, Rate, alpha);
        Assert.Equal(seven.Length, voice.Length);
        Assert.InRange(Centroid(voice) - Centroid(seven), -0.015 * Rate, 0.015 * Rate);          // the word stays where it was
        var (start, end) = AudioMixing.ActiveSpan(seven);
        var (warpedStart, warpedEnd) = AudioMixing.ActiveSpan(voice);
        Assert.InRange(warpedStart - start, -0.02 * Rate, 0.02 * Rate);
        Assert.InRange(warpedEnd - end, -0.02 * Rate, 0.02 * Rate);
        Assert.NotEqual(seven, voice);
    }

    [Theory]
    [InlineData(0.85)]
    [InlineData(1.15)]
    public void A_tempo_change_stretches_the_word_about_its_centre_at_the_same_pitch(double tempo)
    {
        var tone = Tone();
        var faster = VoiceAugmentation.ChangeTempo(tone, Rate, tempo);
        Assert.Equal(tone.Length, faster.Length);
        Assert.InRange(Frequency(faster), 437, 443);
        var (start, end) = AudioMixing.ActiveSpan(tone);
        var (newStart, newEnd) = AudioMixing.ActiveSpan(faster);
        Assert.InRange((newEnd - newStart) / (double)(end - start), 1 / tempo - 0.06, 1 / tempo + 0.06);
        Assert.InRange((newStart + newEnd) / 2.0 - (start + end) / 2.0, -0.01 * Rate, 0.01 * Rate);

        var seven = Seven();
        var said = VoiceAugmentation.ChangeTempo(seven, Rate, tempo);
        Assert.Equal(seven.Length, said.Length);
        Assert.InRange(Centroid(said) - Centroid(seven), -0.03 * Rate, 0.03 * Rate);
    }

    [Fact]
    public void A_room_keeps_the_onset_and_length_and_its_impulse_has_the_asked_decay_and_direct_to_reverberant_ratio()
    {
        var impulse = VoiceAugmentation.RoomImpulse(new Random(3), Rate, rt60: 0.4, directToReverberantDb: 6);
        Assert.Equal(1f, impulse[0]);
        double tail = impulse.Skip(1).Sum(v => (double)v * v);
        Assert.Equal(6, 10 * Math.Log10(1 / tail), 6);
        // Energy of the first and second 0.1 s of the tail: an exponential decay of 60 dB per 0.4 s falls 15 dB per 0.1 s.
        int tenth = Rate / 10, delay = Array.FindIndex(impulse, 1, v => v != 0);
        double first = impulse.Skip(delay).Take(tenth).Sum(v => (double)v * v), second = impulse.Skip(delay + tenth).Take(tenth).Sum(v => (double)v * v);
        Assert.InRange(10 * Math.Log10(first / second), 13, 17);

        var seven = Seven();
        var room = VoiceAugmentation.Reverberate(seven, impulse);
        Assert.Equal(seven.Length, room.Length);
        Assert.Equal(AudioMixing.Peak(seven), AudioMixing.Peak(room), 4);
        Assert.InRange(AudioMixing.ActiveSpan(room).Start - AudioMixing.ActiveSpan(seven).Start, -0.005 * Rate, 0.005 * Rate);
        // Causal, so nothing comes before the word; the room's colouring moves the energy centre by a few ms, its tail later.
        Assert.InRange(Centroid(room) - Centroid(seven), -0.02 * Rate, 0.06 * Rate);
        Assert.Equal(room, VoiceAugmentation.Reverberate(seven, VoiceAugmentation.RoomImpulse(new Random(3), Rate, 0.4, 6)));
    }

    [Fact]
    public void Bad_augmentation_settings_get_one_clear_message()
    {
        var tone = Tone();
        Assert.Contains("0.5 … 2", Assert.Throws<InvalidSettingsException>(() => VoiceAugmentation.WarpVocalTract(tone, Rate, 3)).Message);
        Assert.Contains("tempo", Assert.Throws<InvalidSettingsException>(() => VoiceAugmentation.ChangeTempo(tone, Rate, 0)).Message);
        Assert.Contains("RT60", Assert.Throws<InvalidSettingsException>(() => VoiceAugmentation.RoomImpulse(new Random(1), Rate, 0.01, 6)).Message);
        Assert.Contains("decibels", Assert.Throws<InvalidSettingsException>(() => VoiceAugmentation.RoomImpulse(new Random(1), Rate, 0.3, double.NaN)).Message);
        Assert.Contains("empty", Assert.Throws<InvalidSettingsException>(() => VoiceAugmentation.Reverberate(tone, [])).Message);
        var options = new KeywordDatasetOptions();
        Assert.Contains("vocal-tract warp", Assert.Throws<InvalidSettingsException>(() => (options with { VocalTractWarp = 0.5 }).Validate()).Message);
        Assert.Contains("tempo", Assert.Throws<InvalidSettingsException>(() => (options with { TempoPerturbation = -0.1 }).Validate()).Message);
        Assert.Contains("ReverbShare", Assert.Throws<InvalidSettingsException>(() => (options with { ReverbShare = 2 }).Validate()).Message);
    }

    static readonly KeywordDatasetOptions Small = new()
    {
        Keywords = ["zero", "seven"], TrainSpeakers = 4, ValidationSpeakers = 1, TestSpeakers = 1,
        UnknownPerSpeaker = 1, SilencePerSpeaker = 1, Seed = 9,
    };

    [Fact]
    public void A_dataset_with_the_voice_augmentations_is_deterministic_keeps_its_clips_shape_and_records_each_draw()
    {
        var augmented = Small with { VocalTractWarp = 0.1, TempoPerturbation = 0.15, ReverbShare = 0.5 };
        var a = KeywordDatasetBuilder.Build(augmented, useCache: false);
        var b = KeywordDatasetBuilder.Build(augmented, useCache: false);
        var plain = KeywordDatasetBuilder.Build(Small, useCache: false);
        Assert.Equal(a.Train.Audio(0), b.Train.Audio(0));
        Assert.Equal(Enumerable.Range(0, a.Train.Count).Select(i => a.Train.Audio(i)), Enumerable.Range(0, b.Train.Count).Select(i => b.Train.Audio(i)));
        Assert.Equal(plain.Train.Count, a.Train.Count);
        Assert.All(a.Splits, s => Assert.Equal(16000, s.SampleRate));
        Assert.All(Enumerable.Range(0, a.Train.Count), i => Assert.Equal(plain.Train.Audio(i).Length, a.Train.Audio(i).Length));
        var words = a.Splits.SelectMany(s => s.Clips).Where(c => c.Word.Length > 0).ToList();
        Assert.All(words, c => Assert.InRange(c.Warp, 0.9, 1.1));
        Assert.All(words, c => Assert.InRange(c.Tempo, 0.85, 1.15));
        Assert.All(words.Where(c => c.ReverbSeconds > 0), c => Assert.InRange(c.ReverbSeconds, KeywordDatasetOptions.MinReverbSeconds, KeywordDatasetOptions.MaxReverbSeconds));
        Assert.Contains(words, c => c.ReverbSeconds > 0);
        Assert.Contains(words, c => c.ReverbSeconds == 0);
        Assert.All(plain.Splits.SelectMany(s => s.Clips), c => Assert.True(c.Warp == 1 && c.Tempo == 1 && c.ReverbSeconds == 0));
        Assert.NotEqual(plain.Train.Audio(0), a.Train.Audio(0));
    }

    [Fact]
    public void The_cache_key_changes_with_the_augmentations_and_stays_as_it_was_without_them()
    {
        // The keys of the default and quick options as they were before the augmentations existed: datasets cached then are still found.
        Assert.Equal("a0e15095e1ec6db7", KeywordDatasetCache.Key(new KeywordDatasetOptions()));
        Assert.Equal("af561c27bf77dda9", KeywordDatasetCache.Key(new KeywordDatasetOptions().Quick()));
        var keys = new[]
        {
            Small, Small with { VocalTractWarp = 0.1 }, Small with { TempoPerturbation = 0.1 }, Small with { ReverbShare = 0.1 },
            Small with { VocalTractWarp = 0.1, TempoPerturbation = 0.1 },
        }.Select(KeywordDatasetCache.Key).ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public void The_ablation_has_the_earlier_and_the_full_recipe_and_leaves_out_one_part_at_a_time()
    {
        var baseline = new KeywordDatasetOptions();
        var recipes = KeywordSpotting.VoiceRecipes.Ablation(baseline);
        Assert.Equal(baseline, recipes[0].Options);
        Assert.Equal(KeywordSpotting.VoiceRecipes.Full, recipes[1].Name);
        Assert.True(recipes[1].Options.AugmentsVoices && recipes[1].Options.FestivalShare > 0);
        Assert.All(recipes, r => r.Options.Validate());
        Assert.Equal(recipes.Count, recipes.Select(r => KeywordDatasetCache.Key(r.Options)).Distinct().Count());
        Assert.Equal(2, KeywordSpotting.VoiceRecipes.Ablation(baseline, quick: true).Count);
    }
}
