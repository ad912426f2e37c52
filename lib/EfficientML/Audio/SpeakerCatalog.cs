using EfficientML.Core;
namespace EfficientML.Audio;

/// <summary>The speech engine a synthetic speaker is made with.</summary>
public enum SpeechEngine
{
    /// <summary>espeak-ng (formant synthesis), in-process.</summary>
    Espeak,

    /// <summary>Festival (diphone and HTS voices), as a subprocess (<see cref="FestivalSynthesizer"/>).</summary>
    Festival,
}

/// <summary>
/// A synthetic speaker: an espeak-ng accent and variant (or, for <see cref="SpeechEngine.Festival"/>, "festival" and a
/// Festival voice), with its own base pitch (0 … 99) and speaking rate (words per minute).
/// </summary>
public sealed record Speaker(string Accent, string Variant, int Pitch, int Rate, SpeechEngine Engine = SpeechEngine.Espeak)
{
    /// <summary>The voice identity (accent+variant, or festival+voice); splits never share one.</summary>
    public string Name => $"{Accent}+{Variant}";

    /// <summary>A Festival speaker: <paramref name="voice"/> (one of <see cref="FestivalSynthesizer.KnownVoices"/>) at its own pitch and rate.</summary>
    public static Speaker Festival(string voice, int pitch, int rate) => new("festival", voice, pitch, rate, SpeechEngine.Festival);

    /// <summary>
    /// For a Festival speaker, the duration stretch and mean pitch of a clip with these offsets: 175 words per minute is
    /// Festival's own pace; pitch 0 … 99 maps to 80 … 238 Hz (the diphone voices follow it; the HTS voice keeps its own).
    /// </summary>
    public (double Stretch, double PitchHz) FestivalProsody(int rateOffset = 0, int pitchOffset = 0) =>
        (175.0 / Math.Clamp(Rate + rateOffset, 80, 450), 80 + 1.6 * Math.Clamp(Pitch + pitchOffset, 0, 99));

    /// <summary>This speaker's voice with a clip's rate and pitch offsets applied (clamped to espeak-ng's ranges).</summary>
    public SynthesisVoice Voice(int rateOffset = 0, int pitchOffset = 0) => new()
    {
        Voice = Accent,
        Variant = Variant,
        Rate = Math.Clamp(Rate + rateOffset, 80, 450),
        Pitch = Math.Clamp(Pitch + pitchOffset, 0, 99),
    };
}

/// <summary>
/// The English voices espeak-ng ships (accents × variants) that keyword datasets draw their speakers from, and the
/// seeded deal of voices to splits.
/// </summary>
public static class SpeakerCatalog
{
    /// <summary>espeak-ng's English accents (Debian's espeak-ng-data has all of them; "en" is British English).</summary>
    public static readonly IReadOnlyList<string> Accents =
        ["en-us", "en", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc"];

    /// <summary>
    /// Speaker variants (voice character: formants, breathiness, pitch shape). The novelty and robot variants
    /// (e.g. "Demonic", "UniRobot", "whisper") are left out.
    /// </summary>
    public static readonly IReadOnlyList<string> Variants =
    [
        "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3",
        "Alex", "Alicia", "Andrea", "Andy", "Annie", "Denis", "Diogo", "Gene", "Hugo", "Jacky", "Lee", "Marco", "Mario", "Michael",
        "Mike", "Nguyen", "Storm", "adam", "anika", "announcer", "antonio", "aunty", "belinda", "benjamin", "boris", "caleb",
        "david", "ed", "edward", "grandma", "grandpa", "iven", "john", "linda", "max", "michel", "miguel", "norbert", "pablo",
        "paul", "pedro", "quincy", "rob", "robert", "sandro", "shelby", "steph", "travis", "victor", "zac",
    ];

    /// <summary>Every voice identity: each accent with each variant.</summary>
    public static readonly IReadOnlyList<(string Accent, string Variant)> Voices =
        Accents.SelectMany(a => Variants.Select(v => (a, v))).ToList();

    /// <summary>
    /// <paramref name="speakers"/> with a <paramref name="share"/> of them (rounded) replaced, at seeded places, by Festival
    /// speakers: the Festival voices in turn, each with its own base pitch in 25 … 75 and rate in 140 … 210. Festival has
    /// three voices, so they go to one split only (the training split, in the dataset builder), and the splits still share no voice.
    /// </summary>
    public static IReadOnlyList<Speaker> WithFestival(IReadOnlyList<Speaker> speakers, double share, int seed)
    {
        if (!(share >= 0 && share <= 1)) throw new InvalidSettingsException($"The Festival share lies in 0 … 1 (got {share}).");
        int count = (int)Math.Round(share * speakers.Count);
        if (count == 0) return speakers;
        var rng = new Random(unchecked(seed * 31 + 7));
        var places = Enumerable.Range(0, speakers.Count).OrderBy(_ => rng.Next()).Take(count).Order().ToList();
        var result = speakers.ToArray();
        for (int i = 0; i < places.Count; i++)
            result[places[i]] = Speaker.Festival(FestivalSynthesizer.KnownVoices[i % FestivalSynthesizer.KnownVoices.Count].Voice, rng.Next(25, 76), rng.Next(140, 211));
        return result;
    }

    /// <summary>
    /// Deals distinct voices to the three splits (seeded), giving each speaker a base pitch in 25…75 and a base rate in
    /// 140…210 words per minute.
    /// </summary>
    public static (IReadOnlyList<Speaker> Train, IReadOnlyList<Speaker> Validation, IReadOnlyList<Speaker> Test) Deal(
        int train, int validation, int test, int seed)
    {
        if (train + validation + test > Voices.Count)
            throw new InvalidSettingsException($"There are {Voices.Count} voices; {train + validation + test} asked for.");
        var rng = new Random(seed);
        var order = Voices.ToArray();
        rng.Shuffle(order);
        var speakers = order.Take(train + validation + test)
            .Select(v => new Speaker(v.Accent, v.Variant, rng.Next(25, 76), rng.Next(140, 211))).ToList();
        return (speakers.Take(train).ToList(), speakers.Skip(train).Take(validation).ToList(), speakers.Skip(train + validation).ToList());
    }
}
