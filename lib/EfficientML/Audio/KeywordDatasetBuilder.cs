using System.Diagnostics;

namespace EfficientML.Audio;

/// <summary>
/// Makes keyword-spotting datasets offline: every clip is synthesised by espeak-ng in-process (or, for a share of the
/// training speakers, by Festival: <see cref="KeywordDatasetOptions.FestivalShare"/>), placed in a fixed-length
/// window with a random shift, mixed with recorded noise from <c>datasets/noise</c> at a random SNR, and sometimes
/// band-limited to 4 kHz. A build is deterministic: it runs on a fresh espeak-ng (see
/// <see cref="SpeechSynthesizer.OpenFresh"/>) and draws every random choice from the options' seed. Finished datasets are
/// cached on disk by their options (see <see cref="KeywordDatasetCache"/>).
/// </summary>
public static class KeywordDatasetBuilder
{
    /// <summary>
    /// The dataset for <paramref name="options"/>: read from the cache in <paramref name="cacheFolder"/> (default
    /// <see cref="KeywordDatasetCache.DefaultFolder"/>) when it was made before, otherwise synthesised and cached.
    /// <paramref name="progress"/> is called with the share done (0…1) on the building thread; <paramref name="espeakLibrary"/> overrides where
    /// libespeak-ng.so.1 is loaded from. <paramref name="cancellation"/> is checked between clips.
    /// </summary>
    public static KeywordDataset Build(KeywordDatasetOptions options, Action<double>? progress = null, bool useCache = true,
        string? cacheFolder = null, string? espeakLibrary = null, NoiseLibrary? noise = null, CancellationToken cancellation = default)
    {
        options.Validate();
        var cache = new KeywordDatasetCache(cacheFolder);
        if (useCache && cache.TryLoad(options) is { } cached)
        {
            progress?.Invoke(1);
            return cached;
        }
        var watch = Stopwatch.StartNew();
        noise ??= NoiseLibrary.Load();
        using var synthesizer = SpeechSynthesizer.OpenFresh(espeakLibrary);
        using var festival = options.FestivalShare > 0 ? FestivalSynthesizer.Open() : null;
        var (trainSpeakers, validationSpeakers, testSpeakers) =
            SpeakerCatalog.Deal(options.TrainSpeakers, options.ValidationSpeakers, options.TestSpeakers, options.Seed);
        trainSpeakers = SpeakerCatalog.WithFestival(trainSpeakers, options.FestivalShare, options.Seed);
        var plan = new (string Name, IReadOnlyList<Speaker> Speakers)[] { ("train", trainSpeakers), ("validation", validationSpeakers), ("test", testSpeakers) };
        int total = plan.Sum(p => p.Speakers.Count) * ClipsPerSpeaker(options), done = 0;
        var renderer = new ClipRenderer(synthesizer, noise, options, festival);
        var splits = new KeywordSplit[3];
        for (int s = 0; s < plan.Length; s++)
        {
            var clips = new List<KeywordClip>();
            var samples = new short[(long)plan[s].Speakers.Count * ClipsPerSpeaker(options) * options.ClipSamples];
            for (int p = 0; p < plan[s].Speakers.Count; p++)
            {
                var rng = new Random(DerivedSeed(options.Seed, s, p));
                foreach (var (label, word) in Script(options, rng))
                {
                    cancellation.ThrowIfCancellationRequested();
                    var (audio, clip) = word.Length == 0
                        ? renderer.Silence(rng, label)
                        : renderer.Word(word, label, plan[s].Speakers[p], rng);
                    Quantise(audio, samples.AsSpan(clips.Count * options.ClipSamples, options.ClipSamples));
                    clips.Add(clip);
                    if (++done % 64 == 0) progress?.Invoke((double)done / total);
                }
            }
            splits[s] = new KeywordSplit(plan[s].Name, options.ClipSamples, options.SampleRate, samples, clips);
        }
        var dataset = new KeywordDataset(options, splits[0], splits[1], splits[2], fromCache: false, watch.Elapsed);
        if (useCache) cache.Save(dataset);
        progress?.Invoke(1);
        return dataset;
    }

    /// <summary>Clips each speaker records: every keyword <see cref="KeywordDatasetOptions.RepeatsPerSpeaker"/> times, plus unknown and silence clips.</summary>
    public static int ClipsPerSpeaker(KeywordDatasetOptions options) =>
        options.Keywords.Count * options.RepeatsPerSpeaker
        + (options.IncludeUnknown ? options.UnknownPerSpeaker : 0)
        + (options.IncludeSilence ? options.SilencePerSpeaker : 0);

    /// <summary>What one speaker says, in order: (label, word), with an empty word for silence.</summary>
    static IEnumerable<(int Label, string Word)> Script(KeywordDatasetOptions options, Random rng)
    {
        for (int r = 0; r < options.RepeatsPerSpeaker; r++)
            for (int k = 0; k < options.Keywords.Count; k++)
                yield return (k, KeywordDatasetOptions.Normalise(options.Keywords[k]));
        var unknown = options.EffectiveUnknownWords;
        if (options.IncludeUnknown)
            for (int u = 0; u < options.UnknownPerSpeaker; u++)
                yield return (options.Keywords.Count, unknown[rng.Next(unknown.Count)]);
        if (options.IncludeSilence)
            for (int z = 0; z < options.SilencePerSpeaker; z++)
                yield return (options.Labels.Count - 1, "");
    }

    internal static int DerivedSeed(int seed, int split, int speaker) =>
        unchecked((int)((uint)seed * 2654435761u ^ (uint)(split + 1) * 40503u ^ (uint)(speaker + 1) * 2246822519u));

    static void Quantise(float[] audio, Span<short> target)
    {
        for (int i = 0; i < target.Length; i++)
            target[i] = (short)Math.Clamp(MathF.Round(audio[i] * 32768f), short.MinValue, short.MaxValue);
    }
}
