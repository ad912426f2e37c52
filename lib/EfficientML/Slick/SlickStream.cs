using EfficientML.Audio;
using EfficientML.Core;

namespace EfficientML.Slick;

/// <summary>
/// Long recordings for scanning with an enrolled keyword: the speech stack's streaming mode (<see cref="KeywordStream"/>)
/// with the keyword phrase said now and then among other phrases of the same split — the phrases within
/// <see cref="SlickPairs.HardDistance"/> phonemes of it first, so near misses are heard too — by that split's voices
/// (the same voices <see cref="SlickDataset"/> deals it, so a test stream has no training voice), over a noise bed.
/// </summary>
public static class SlickStream
{
    /// <summary>
    /// A recording of <paramref name="seconds"/> in which <paramref name="keyword"/> makes up about
    /// <paramref name="keywordShare"/> of the phrases said, and phrases of <paramref name="split"/> the rest; noise
    /// <paramref name="snrDb"/> below the speech. Deterministic for the options and <paramref name="seed"/>.
    /// </summary>
    public static KeywordStream Build(SlickDatasetOptions options, SlickPhrases phrases, string keyword, double seconds = 60,
        string split = "test", int seed = 0, double keywordShare = 0.3, double snrDb = 15, int distractors = 40, NoiseLibrary? noise = null)
    {
        options.Validate();
        ArgumentNullException.ThrowIfNull(phrases);
        var text = Phonemizer.Normalise(keyword);
        var pool = phrases.Split(split);
        var target = pool.FirstOrDefault(p => p.Text == text) ?? new SlickPhrase(text, Phonemizer.Shared.Phonemize(text));
        var near = SlickPairs.Neighbours(target, pool).Select(n => pool[n.Index].Text);
        var rng = new Random(seed);
        var others = pool.Select(p => p.Text).Where(t => t != text).OrderBy(_ => rng.Next());
        var unknown = near.Concat(others).Where(t => t != text).Distinct().Take(distractors).ToList();
        var streamOptions = new KeywordDatasetOptions
        {
            Keywords = [text],
            UnknownWords = unknown,
            IncludeUnknown = true,
            ClipSeconds = options.ClipSeconds,
            TrainSpeakers = options.TrainSpeakers,
            ValidationSpeakers = options.ValidationSpeakers,
            TestSpeakers = options.TestSpeakers,
            Seed = options.Seed,
        };
        return KeywordStream.Build(streamOptions, seconds, split, seed, keywordShare, snrDb, minGapSeconds: 0.5, maxGapSeconds: 2.5, noise: noise);
    }
}
