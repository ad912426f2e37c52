using EfficientML.Audio;
using EfficientML.Core;

namespace EfficientML.Slick;

/// <summary>What a SLiCK dataset holds: pairs per split, speakers per split, and how utterances vary.</summary>
public sealed record SlickDatasetOptions
{
    /// <summary>How the keyword phrases are cut (and with them L).</summary>
    public SlickPhraseOptions Phrases { get; init; } = new();

    /// <summary>Pairs in the training split (positives, easy and hard negatives in turn).</summary>
    public int TrainPairs { get; init; } = 600;

    /// <summary>Pairs in the validation split.</summary>
    public int ValidationPairs { get; init; } = 150;

    /// <summary>Pairs in the test split.</summary>
    public int TestPairs { get; init; } = 300;

    /// <summary>Training speakers (voices no other split has).</summary>
    public int TrainSpeakers { get; init; } = 40;

    /// <summary>Validation speakers.</summary>
    public int ValidationSpeakers { get; init; } = 8;

    /// <summary>Test speakers.</summary>
    public int TestSpeakers { get; init; } = 12;

    /// <summary>Length of every utterance in seconds (a 4-word phrase takes about 1.5 s at espeak-ng's rates; longer ones are said faster).</summary>
    public double ClipSeconds { get; init; } = 2.5;

    /// <summary>Share of utterances mixed with recorded noise.</summary>
    public double NoiseShare { get; init; } = 0.8;

    /// <summary>Lowest SNR of the noise, dB.</summary>
    public double MinSnrDb { get; init; } = 5;

    /// <summary>Highest SNR of the noise, dB.</summary>
    public double MaxSnrDb { get; init; } = 30;

    /// <summary>Share of utterances band-limited to 4 kHz (telephone).</summary>
    public double TelephoneShare { get; init; } = 0.3;

    /// <summary>Seed of the pairs, the speakers and the augmentation (the phrases have their own, in <see cref="Phrases"/>).</summary>
    public int Seed { get; init; }

    /// <summary>Throws one clear message for a setting that cannot work.</summary>
    public SlickDatasetOptions Validate()
    {
        Phrases.Validate();
        if (TrainPairs < 0 || ValidationPairs < 0 || TestPairs < 0) throw new InvalidSettingsException("The number of pairs per split cannot be negative.");
        if (TrainSpeakers < 1 || ValidationSpeakers < 1 || TestSpeakers < 1) throw new InvalidSettingsException("Each split needs at least one speaker.");
        if (TrainSpeakers + ValidationSpeakers + TestSpeakers > SpeakerCatalog.Voices.Count)
            throw new InvalidSettingsException($"There are {SpeakerCatalog.Voices.Count} distinct voices; ask for fewer speakers than {TrainSpeakers + ValidationSpeakers + TestSpeakers}.");
        if (ClipSeconds is < 0.5 or > 10) throw new InvalidSettingsException($"An utterance lasts 0.5 to 10 seconds (got {ClipSeconds}).");
        if (!(NoiseShare is >= 0 and <= 1) || !(TelephoneShare is >= 0 and <= 1)) throw new InvalidSettingsException("NoiseShare and TelephoneShare are shares between 0 and 1.");
        if (MinSnrDb > MaxSnrDb) throw new InvalidSettingsException($"MinSnrDb ({MinSnrDb}) is above MaxSnrDb ({MaxSnrDb}); swap them.");
        return this;
    }

    /// <summary>The keyword-stack options that render the utterances (shift, gain, noise, band limit as there).</summary>
    internal KeywordDatasetOptions Rendering => new()
    {
        ClipSeconds = ClipSeconds,
        NoiseShare = NoiseShare,
        MinSnrDb = MinSnrDb,
        MaxSnrDb = MaxSnrDb,
        TelephoneShare = TelephoneShare,
        MaxShiftSeconds = 0.1,
        SpeedPerturbation = 0.1,
        Seed = Seed,
    };
}

/// <summary>
/// One example: <see cref="Samples"/> (16 kHz, <see cref="SlickDatasetOptions.ClipSeconds"/> long) in which
/// <see cref="Speaker"/> says the pair's anchor phrase, the keyword's phoneme ids padded to L, and the label (1 when the
/// keyword is what is said).
/// </summary>
public sealed record SlickExample(float[] Samples, int[] Keyword, int Label, SlickPairKind Kind, SlickPair Pair, string Speaker, double SnrDb)
{
    /// <summary>The utterance's log-mel features, [mel band, frame], from <paramref name="logMel"/> (e.g. <c>new LogMel()</c>: 40 mels, 25 ms windows, 10 ms hops).</summary>
    public float[,] Features(LogMel logMel)
    {
        ArgumentNullException.ThrowIfNull(logMel);
        return logMel.ComputeArray(Samples);
    }
}

/// <summary>The examples of one split; its speakers are heard in no other split.</summary>
public sealed record SlickSplit(string Name, IReadOnlyList<SlickExample> Examples, IReadOnlyList<Speaker> Speakers);

/// <summary>
/// SLiCK's audio-text pairs: LibriPhrase-style pairs (<see cref="SlickPairs"/>) over word-disjoint phrase sets
/// (<see cref="SlickPhrases"/>), each anchor phrase spoken by espeak-ng with a voice of its split (voices dealt by
/// <see cref="SpeakerCatalog.Deal"/>, so no split hears another's voices) and augmented as the keyword datasets are:
/// jittered rate and pitch, a random gain and shift, sometimes a 4 kHz band limit, recorded noise at a random SNR.
/// Validation uses training words (other phrases) with its own voices; test uses the test words. A build is
/// deterministic (a fresh espeak-ng, every choice drawn from the seeds); nothing is cached.
/// </summary>
public sealed class SlickDataset
{
    SlickDataset(SlickDatasetOptions options, SlickPhrases phrases, SlickSplit train, SlickSplit validation, SlickSplit test)
    {
        Options = options;
        Phrases = phrases;
        Train = train;
        Validation = validation;
        Test = test;
    }

    /// <summary>The options it was built with.</summary>
    public SlickDatasetOptions Options { get; }

    /// <summary>The phrase sets, their length distribution and L.</summary>
    public SlickPhrases Phrases { get; }

    /// <summary>The maximum keyword length L every keyword is padded to.</summary>
    public int MaxKeywordLength => Phrases.MaxKeywordLength;

    /// <summary>Training examples.</summary>
    public SlickSplit Train { get; }

    /// <summary>Validation examples.</summary>
    public SlickSplit Validation { get; }

    /// <summary>Test examples.</summary>
    public SlickSplit Test { get; }

    /// <summary>The three splits in order.</summary>
    public IReadOnlyList<SlickSplit> Splits => [Train, Validation, Test];

    /// <summary>
    /// Builds the dataset: the phrases (from <paramref name="phrases"/> when given, made with the same options), the
    /// pairs and the audio. <paramref name="noise"/> defaults to <c>datasets/noise</c>; <paramref name="espeakLibrary"/>
    /// overrides where libespeak-ng.so.1 is loaded from.
    /// </summary>
    public static SlickDataset Build(SlickDatasetOptions? options = null, SlickPhrases? phrases = null, NoiseLibrary? noise = null,
        string? espeakLibrary = null, CancellationToken cancellation = default)
    {
        options = (options ?? new SlickDatasetOptions()).Validate();
        if (phrases is not null && phrases.Options != options.Phrases)
            throw new InvalidSettingsException("The phrases given were made with other phrase options than these dataset options; pass options with Phrases = phrases.Options.");
        phrases ??= SlickPhrases.Build(options.Phrases);
        noise ??= NoiseLibrary.Load();
        var (trainSpeakers, validationSpeakers, testSpeakers) =
            SpeakerCatalog.Deal(options.TrainSpeakers, options.ValidationSpeakers, options.TestSpeakers, options.Seed);
        var plan = new (string Name, IReadOnlyList<SlickPhrase> Phrases, int Pairs, IReadOnlyList<Speaker> Speakers)[]
        {
            ("train", phrases.Train, options.TrainPairs, trainSpeakers),
            ("validation", phrases.Validation, options.ValidationPairs, validationSpeakers),
            ("test", phrases.Test, options.TestPairs, testSpeakers),
        };
        using var synthesizer = SpeechSynthesizer.OpenFresh(espeakLibrary);
        var renderer = new ClipRenderer(synthesizer, noise, options.Rendering);
        var splits = new SlickSplit[3];
        for (int s = 0; s < plan.Length; s++)
        {
            var pairs = plan[s].Pairs == 0 ? [] : SlickPairs.Make(plan[s].Phrases, plan[s].Pairs, KeywordDatasetBuilder.DerivedSeed(options.Seed, s, -1));
            var examples = new List<SlickExample>(pairs.Count);
            for (int i = 0; i < pairs.Count; i++)
            {
                cancellation.ThrowIfCancellationRequested();
                var rng = new Random(KeywordDatasetBuilder.DerivedSeed(options.Seed, s, i));
                var speaker = plan[s].Speakers[rng.Next(plan[s].Speakers.Count)];
                var (audio, clip) = renderer.Word(pairs[i].Anchor.Text, pairs[i].Label, speaker, rng);
                examples.Add(new SlickExample(audio, Phonemizer.Pad(pairs[i].Keyword, phrases.MaxKeywordLength), pairs[i].Label, pairs[i].Kind, pairs[i], speaker.Name, clip.SnrDb));
            }
            splits[s] = new SlickSplit(plan[s].Name, examples, plan[s].Speakers);
        }
        return new SlickDataset(options, phrases, splits[0], splits[1], splits[2]);
    }
}
