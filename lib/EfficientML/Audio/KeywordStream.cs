using EfficientML.Core;
namespace EfficientML.Audio;

/// <summary>One word inside a long recording: what it is, who said it, and where it is (seconds).</summary>
public sealed record KeywordEvent(string Word, int Label, string Speaker, double Start, double End);

/// <summary>
/// A long noisy recording with words at known times (keywords and unknown words, by speakers of one split), for
/// streaming detectors: <see cref="Samples"/> at <see cref="SampleRate"/> and the <see cref="Events"/> in time order.
/// </summary>
public sealed record KeywordStream(float[] Samples, int SampleRate, IReadOnlyList<KeywordEvent> Events, IReadOnlyList<string> Labels)
{
    /// <summary>Length in seconds.</summary>
    public double Seconds => (double)Samples.Length / SampleRate;

    /// <summary>
    /// A long recording of <paramref name="seconds"/>: a continuous noise bed at <paramref name="snrDb"/> below the words,
    /// and words every <paramref name="minGapSeconds"/>…<paramref name="maxGapSeconds"/> apart, a share
    /// <paramref name="keywordShare"/> of them keywords and the rest unknown words, said by the speakers of
    /// <paramref name="split"/> (so a stream for testing uses voices the training split never had). Deterministic for
    /// <paramref name="seed"/> on a fresh espeak-ng.
    /// </summary>
    public static KeywordStream Build(KeywordDatasetOptions options, double seconds = 30, string split = "test", int seed = 0,
        double keywordShare = 0.7, double snrDb = 15, double minGapSeconds = 0.4, double maxGapSeconds = 2.0,
        string? espeakLibrary = null, NoiseLibrary? noise = null)
    {
        options.Validate();
        if (!(seconds >= 1 && seconds <= 3600)) throw new InvalidSettingsException($"A stream lasts 1 to 3600 seconds (got {seconds}).");
        if (!(keywordShare >= 0 && keywordShare <= 1)) throw new InvalidSettingsException($"The keyword share lies in 0…1 (got {keywordShare}).");
        if (!double.IsFinite(snrDb)) throw new InvalidSettingsException($"The SNR must be a number of decibels (got {snrDb}).");
        if (!(minGapSeconds >= 0 && maxGapSeconds >= minGapSeconds))
            throw new InvalidSettingsException("Gaps need 0 ≤ minGapSeconds ≤ maxGapSeconds.");
        var dealt = SpeakerCatalog.Deal(options.TrainSpeakers, options.ValidationSpeakers, options.TestSpeakers, options.Seed);
        var speakers = split.ToLowerInvariant() switch
        {
            "train" => dealt.Train,
            "validation" => dealt.Validation,
            "test" => dealt.Test,
            _ => throw new InvalidSettingsException($"There is no split '{split}'; use train, validation or test."),
        };
        noise ??= NoiseLibrary.Load();
        using var synthesizer = SpeechSynthesizer.OpenFresh(espeakLibrary);
        var renderer = new ClipRenderer(synthesizer, noise, options);
        var rng = new Random(seed);
        int rate = options.SampleRate, length = (int)Math.Round(seconds * rate);
        var speech = new float[length];
        var events = new List<KeywordEvent>();
        var unknown = options.EffectiveUnknownWords;
        double t = minGapSeconds + (maxGapSeconds - minGapSeconds) * rng.NextDouble();
        while (true)
        {
            bool keyword = unknown.Count == 0 || rng.NextDouble() < keywordShare;
            int label = keyword ? rng.Next(options.Keywords.Count) : options.Keywords.Count;
            var word = keyword ? KeywordDatasetOptions.Normalise(options.Keywords[label]) : unknown[rng.Next(unknown.Count)];
            if (!keyword && !options.IncludeUnknown) label = -1;
            var speaker = speakers[rng.Next(speakers.Count)];
            var audio = renderer.Speak(word, speaker, rng.Next(-options.RateJitter, options.RateJitter + 1),
                rng.Next(-options.PitchJitter, options.PitchJitter + 1), rng.Next(), options.ClipSamples, out _);
            int start = (int)Math.Round(t * rate);
            if (start + audio.Length > length) break;
            float gain = (float)(0.3 + 0.6 * rng.NextDouble()) / Math.Max((float)AudioMixing.Peak(audio), 1e-4f);
            for (int i = 0; i < audio.Length; i++) speech[start + i] = audio[i] * gain;
            events.Add(new KeywordEvent(word, label, speaker.Name, (double)start / rate, (double)(start + audio.Length) / rate));
            t = (double)(start + audio.Length) / rate + minGapSeconds + (maxGapSeconds - minGapSeconds) * rng.NextDouble();
        }
        // The noise bed's level is set against the words' average power, measured where words are.
        var bed = noise.Excerpt(rng, length);
        double speechPower = events.Count == 0 ? 1e-4
            : events.Average(e => AudioMixing.Rms(speech.AsSpan((int)(e.Start * rate), (int)((e.End - e.Start) * rate))) is var r ? r * r : 0);
        double noiseRms = AudioMixing.Rms(bed), noisePower = noiseRms * noiseRms;
        float scale = (float)Math.Sqrt(speechPower / Math.Max(noisePower, 1e-12) / Math.Pow(10, snrDb / 10));
        for (int i = 0; i < length; i++) speech[i] += bed[i] * scale;
        return new KeywordStream(speech, rate, events, options.Labels);
    }

    /// <summary>The label (class index) at time <paramref name="seconds"/>: the word's while it is said, otherwise −1.</summary>
    public int LabelAt(double seconds) => Events.FirstOrDefault(e => seconds >= e.Start && seconds < e.End)?.Label ?? -1;
}
