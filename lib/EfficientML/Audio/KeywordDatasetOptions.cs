using EfficientML.Core;
using System.Globalization;

namespace EfficientML.Audio;

/// <summary>
/// What a keyword-spotting dataset holds and how its clips vary. Every clip is one second of 16 kHz audio: a word spoken
/// by a synthetic speaker (an espeak-ng accent and variant with its own pitch and rate), shifted in time, mixed with
/// recorded noise at a random SNR, and sometimes band-limited to 4 kHz like telephone audio. Speakers are dealt to the
/// train, validation and test splits, so no split hears a voice another one has.
/// </summary>
public sealed record KeywordDatasetOptions
{
    /// <summary>The ten digits and four command words, all of which the real-voice set in <c>datasets/real-voice</c> also has.</summary>
    public static readonly IReadOnlyList<string> DefaultKeywords =
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "hello", "goodbye", "pause", "record"];

    /// <summary>
    /// Words that are not keywords, spoken as the "unknown" class. The first ones are in the real-voice set too, so the
    /// real-voice test can check that they are rejected.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultUnknownWords =
    [
        "minus", "today", "tomorrow", "yesterday", "number", "sorry", "time", "star", "pound", "transfer", "seconds", "minutes",
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot",
        "house", "bird", "dog", "cat", "tree", "water", "happy", "learn", "follow", "visual", "forward", "backward",
        "left", "right", "up", "down", "yes", "no", "on", "off", "stop", "go", "bed", "wow", "marvin", "sheila", "often",
        "seventy", "ninety", "twenty", "hollow", "cord", "paws", "tone", "fine", "heaven", "sheep", "free", "fix", "nice",
    ];

    /// <summary>Label of clips that hold a word outside the keyword list.</summary>
    public const string UnknownLabel = "_unknown_";

    /// <summary>Label of clips that hold no speech, only noise.</summary>
    public const string SilenceLabel = "_silence_";

    /// <summary>The words to spot; each becomes one class.</summary>
    public IReadOnlyList<string> Keywords { get; init; } = DefaultKeywords;

    /// <summary>Words for the "unknown" class (words that are also keywords are skipped).</summary>
    public IReadOnlyList<string> UnknownWords { get; init; } = DefaultUnknownWords;

    /// <summary>Whether the dataset has the "unknown" class.</summary>
    public bool IncludeUnknown { get; init; } = true;

    /// <summary>Whether the dataset has the "silence" class.</summary>
    public bool IncludeSilence { get; init; } = true;

    /// <summary>
    /// Share of the training speakers made with Festival's voices instead of espeak-ng's (0 … 1; 0: espeak-ng only). Festival's
    /// three English voices (<see cref="FestivalSynthesizer.KnownVoices"/>) go to the training split only, each as several speakers
    /// with their own pitch and rate, so validation and test keep unseen espeak-ng voices and no split shares a voice.
    /// </summary>
    public double FestivalShare { get; init; }

    /// <summary>Speakers in the training split; each says every keyword <see cref="RepeatsPerSpeaker"/> times.</summary>
    public int TrainSpeakers { get; init; } = 240;

    /// <summary>Speakers in the validation split (voices not in train or test).</summary>
    public int ValidationSpeakers { get; init; } = 32;

    /// <summary>Speakers in the test split (voices not in train or validation).</summary>
    public int TestSpeakers { get; init; } = 40;

    /// <summary>How often each speaker says each keyword (with fresh rate, pitch, shift and noise each time).</summary>
    public int RepeatsPerSpeaker { get; init; } = 1;

    /// <summary>Unknown-word clips per speaker (drawn from <see cref="UnknownWords"/>).</summary>
    public int UnknownPerSpeaker { get; init; } = 4;

    /// <summary>Silence (noise-only) clips per speaker.</summary>
    public int SilencePerSpeaker { get; init; } = 1;

    /// <summary>Length of every clip in seconds.</summary>
    public double ClipSeconds { get; init; } = 1.0;

    /// <summary>Largest random shift of the word from the clip's centre, in seconds (the word always stays inside the clip).</summary>
    public double MaxShiftSeconds { get; init; } = 0.15;

    /// <summary>Lowest SNR of the mixed-in noise, in dB.</summary>
    public double MinSnrDb { get; init; } = 5;

    /// <summary>Highest SNR of the mixed-in noise, in dB.</summary>
    public double MaxSnrDb { get; init; } = 30;

    /// <summary>Share of clips that get noise at all (the rest are clean).</summary>
    public double NoiseShare { get; init; } = 0.8;

    /// <summary>Share of clips band-limited to 4 kHz, as telephone audio is, so the features also work on 8 kHz recordings.</summary>
    public double TelephoneShare { get; init; } = 0.6;

    /// <summary>Spread of a clip's speaking rate around its speaker's, in words per minute (±).</summary>
    public int RateJitter { get; init; } = 20;

    /// <summary>Spread of a clip's pitch around its speaker's (±, on espeak-ng's 0…99 scale).</summary>
    public int PitchJitter { get; init; } = 6;

    /// <summary>
    /// Largest change of a clip's playback speed (±, as a share): the word is resampled by a factor in 1 ± this, which
    /// moves pitch and formants together the way a longer or shorter vocal tract would, beyond what espeak-ng's voices span.
    /// </summary>
    public double SpeedPerturbation { get; init; } = 0.15;

    /// <summary>
    /// Largest vocal-tract-length perturbation (±, as a share; 0: off): every frequency of each word is scaled by a factor
    /// α in 1 ± this (<see cref="VoiceAugmentation.WarpVocalTract"/>), at the same tempo.
    /// </summary>
    public double VocalTractWarp { get; init; }

    /// <summary>
    /// Largest tempo change (±, as a share; 0: off): each word is said a factor in 1 ± this faster at the same pitch
    /// (<see cref="VoiceAugmentation.ChangeTempo"/>), about its own centre.
    /// </summary>
    public double TempoPerturbation { get; init; }

    /// <summary>
    /// Share of word clips played in a synthetic room (0: none): convolved with a <see cref="VoiceAugmentation.RoomImpulse"/>
    /// of RT60 <see cref="MinReverbSeconds"/> … <see cref="MaxReverbSeconds"/> and a direct-to-reverberant ratio of 0 … 12 dB.
    /// </summary>
    public double ReverbShare { get; init; }

    /// <summary>Shortest RT60 of a synthetic room, in seconds.</summary>
    public const double MinReverbSeconds = 0.1;

    /// <summary>Longest RT60 of a synthetic room, in seconds.</summary>
    public const double MaxReverbSeconds = 0.6;

    /// <summary>Whether any of the voice augmentations (<see cref="VocalTractWarp"/>, <see cref="TempoPerturbation"/>, <see cref="ReverbShare"/>) is on.</summary>
    public bool AugmentsVoices => VocalTractWarp > 0 || TempoPerturbation > 0 || ReverbShare > 0;

    /// <summary>The seed: the same options and seed give the same dataset, sample for sample.</summary>
    public int Seed { get; init; }

    /// <summary>Sample rate of every clip (that of <see cref="SpeechSynthesizer"/>).</summary>
    public int SampleRate => SpeechSynthesizer.SampleRate;

    /// <summary>Samples per clip.</summary>
    public int ClipSamples => (int)Math.Round(ClipSeconds * SampleRate);

    /// <summary>The class names in label order: the keywords, then "unknown" and "silence" when included.</summary>
    public IReadOnlyList<string> Labels =>
        [.. Keywords, .. IncludeUnknown ? new[] { UnknownLabel } : [], .. IncludeSilence ? new[] { SilenceLabel } : []];

    /// <summary>The unknown words actually used: <see cref="UnknownWords"/> without keywords and repeats.</summary>
    public IReadOnlyList<string> EffectiveUnknownWords =>
        UnknownWords.Select(Normalise).Distinct().Where(w => !Keywords.Select(Normalise).Contains(w)).ToList();

    /// <summary>A smaller set for quick runs and tests: fewer speakers, same variety.</summary>
    public KeywordDatasetOptions Quick() => this with { TrainSpeakers = 40, ValidationSpeakers = 8, TestSpeakers = 8 };

    /// <summary>Throws one clear message for a setting that cannot work; returns the options otherwise.</summary>
    public KeywordDatasetOptions Validate()
    {
        if (Keywords is null || Keywords.Count == 0)
            throw new InvalidSettingsException("The keyword list is empty: name at least one word to spot, e.g. Keywords = [\"yes\", \"no\"].");
        if (Keywords.Any(string.IsNullOrWhiteSpace))
            throw new InvalidSettingsException("The keyword list has an empty word; remove it.");
        var repeated = Keywords.Select(Normalise).GroupBy(w => w).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new InvalidSettingsException($"The keyword '{repeated.Key}' is listed twice; each keyword is one class.");
        if (Keywords.Any(k => k is UnknownLabel or SilenceLabel))
            throw new InvalidSettingsException($"'{UnknownLabel}' and '{SilenceLabel}' are the names of the extra classes, not keywords; use IncludeUnknown/IncludeSilence.");
        if (IncludeUnknown && EffectiveUnknownWords.Count == 0)
            throw new InvalidSettingsException("IncludeUnknown is set but every unknown word is also a keyword; give other words in UnknownWords.");
        Positive(TrainSpeakers, nameof(TrainSpeakers));
        Positive(ValidationSpeakers, nameof(ValidationSpeakers));
        Positive(TestSpeakers, nameof(TestSpeakers));
        Positive(RepeatsPerSpeaker, nameof(RepeatsPerSpeaker));
        if (UnknownPerSpeaker < 0 || SilencePerSpeaker < 0)
            throw new InvalidSettingsException("Unknown and silence clips per speaker cannot be negative.");
        if (!(ClipSeconds >= 0.25 && ClipSeconds <= 10))
            throw new InvalidSettingsException($"A clip lasts 0.25 to 10 seconds (got {ClipSeconds}).");
        if (!(MaxShiftSeconds >= 0 && MaxShiftSeconds < ClipSeconds / 2))
            throw new InvalidSettingsException($"The shift lies in 0 … half the clip length (got {MaxShiftSeconds}).");
        Finite(MinSnrDb, nameof(MinSnrDb));
        Finite(MaxSnrDb, nameof(MaxSnrDb));
        if (MinSnrDb > MaxSnrDb)
            throw new InvalidSettingsException($"MinSnrDb ({MinSnrDb}) is above MaxSnrDb ({MaxSnrDb}); swap them.");
        Share(NoiseShare, nameof(NoiseShare));
        Share(TelephoneShare, nameof(TelephoneShare));
        Share(FestivalShare, nameof(FestivalShare));
        if (!(SpeedPerturbation >= 0 && SpeedPerturbation <= 0.5))
            throw new InvalidSettingsException($"The speed perturbation is a share between 0 and 0.5 (got {SpeedPerturbation}).");
        if (!(VocalTractWarp >= 0 && VocalTractWarp <= 0.3))
            throw new InvalidSettingsException($"The vocal-tract warp is a share between 0 and 0.3 (got {VocalTractWarp}); 0.1 scales frequencies by 0.9 … 1.1.");
        if (!(TempoPerturbation >= 0 && TempoPerturbation <= 0.5))
            throw new InvalidSettingsException($"The tempo perturbation is a share between 0 and 0.5 (got {TempoPerturbation}); 0.15 says words 0.85 … 1.15 times as fast.");
        Share(ReverbShare, nameof(ReverbShare));
        if (RateJitter < 0 || PitchJitter < 0)
            throw new InvalidSettingsException("Rate and pitch jitter cannot be negative.");
        int speakers = TrainSpeakers + ValidationSpeakers + TestSpeakers;
        if (speakers > SpeakerCatalog.Voices.Count)
            throw new InvalidSettingsException($"{speakers} speakers asked for, but there are {SpeakerCatalog.Voices.Count} distinct voices (accent × variant); ask for fewer speakers or more RepeatsPerSpeaker.");
        return this;
    }

    /// <summary>A word as it is labelled: trimmed and lower-case.</summary>
    public static string Normalise(string word) => word.Trim().ToLowerInvariant();

    /// <summary>Parses an SNR range like "5..30" or one number, with one clear message for anything else.</summary>
    public static (double Min, double Max) ParseSnrRange(string text)
    {
        var parts = (text ?? "").Split("..", StringSplitOptions.TrimEntries);
        if (parts.Length is 1 or 2 && parts.All(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)))
        {
            var values = parts.Select(p => double.Parse(p, CultureInfo.InvariantCulture)).ToArray();
            return (values.Min(), values.Max());
        }
        throw new InvalidSettingsException($"The SNR '{text}' is not a number of decibels: write one number (e.g. 20) or a range (e.g. 5..30).");
    }

    static void Positive(int value, string name)
    {
        if (value < 1) throw new InvalidSettingsException($"{name} must be at least 1 (got {value}).");
    }

    static void Finite(double value, string name)
    {
        if (!double.IsFinite(value)) throw new InvalidSettingsException($"{name} must be a number of decibels, not {value}.");
    }

    static void Share(double value, string name)
    {
        if (!(value >= 0 && value <= 1)) throw new InvalidSettingsException($"{name} is a share between 0 and 1 (got {value}).");
    }
}
