using System.Text.RegularExpressions;
using EfficientML.Core;
using EfficientML.Text;

namespace EfficientML.Slick;

/// <summary>A keyword phrase: its lower-case text, its words and its phoneme ids (no padding).</summary>
public sealed record SlickPhrase(string Text, int[] Phonemes)
{
    /// <summary>The words of the phrase.</summary>
    public string[] Words => Text.Split(' ');

    /// <summary>The phoneme names, space-separated (for display).</summary>
    public string PhonemeText => string.Join(" ", Phonemes.Select(Phonemizer.Name));
}

/// <summary>How the phrase sets are cut from the text.</summary>
public sealed record SlickPhraseOptions
{
    /// <summary>Seed of every random choice (which words are test words, where phrases are cut, which phrases are kept).</summary>
    public int Seed { get; init; }

    /// <summary>Longest phrase in words (LibriPhrase has 1 to 4).</summary>
    public int MaxWords { get; init; } = 4;

    /// <summary>Share of word types that only the test phrases use; dealt in blocks of the frequency ranking, so the test words have their share of common words too.</summary>
    public double TestWordShare { get; init; } = 0.2;

    /// <summary>Share of the training phrases held out as validation phrases (same word vocabulary as training, other phrases).</summary>
    public double ValidationPhraseShare { get; init; } = 0.1;

    /// <summary>Most phrases kept in the training split (before validation is held out); drawn at random from all candidates.</summary>
    public int MaxTrainPhrases { get; init; } = 6000;

    /// <summary>Most phrases kept in the test split.</summary>
    public int MaxTestPhrases { get; init; } = 1500;

    /// <summary>The quantile of phonemes per phrase that sets the maximum keyword length L (the paper pads to a maximum; 0.99 keeps 99 % of phrases).</summary>
    public double LengthQuantile { get; init; } = 0.99;

    /// <summary>Throws one clear message for a setting that cannot work.</summary>
    public SlickPhraseOptions Validate()
    {
        if (MaxWords is < 1 or > 8) throw new InvalidSettingsException($"A phrase has 1 to 8 words at most; MaxWords = {MaxWords}.");
        if (!(TestWordShare > 0 && TestWordShare < 1)) throw new InvalidSettingsException($"TestWordShare is a share strictly between 0 and 1 (got {TestWordShare}).");
        if (!(ValidationPhraseShare >= 0 && ValidationPhraseShare < 1)) throw new InvalidSettingsException($"ValidationPhraseShare is a share in 0 … 1 (got {ValidationPhraseShare}).");
        if (MaxTrainPhrases < 10 || MaxTestPhrases < 10) throw new InvalidSettingsException("Keep at least 10 phrases in each split (MaxTrainPhrases, MaxTestPhrases).");
        if (!(LengthQuantile > 0.5 && LengthQuantile <= 1)) throw new InvalidSettingsException($"LengthQuantile lies in 0.5 … 1, e.g. 0.99 (got {LengthQuantile}).");
        return this;
    }
}

/// <summary>
/// The keyword phrases of SLiCK's data: 1- to 4-word phrases cut from the sentences of Moby-Dick, in a training and a
/// test set whose word vocabularies are disjoint (so every test keyword is one the model never saw, as for a user's own
/// keyword), the measured distribution of phonemes per phrase, and the maximum keyword length L chosen from it.
/// <para>
/// How: the text is cut into sentences and clauses (at punctuation), each lower-cased into words (letters and
/// apostrophes). Word types are ranked by frequency and dealt in blocks: in each block of ranks, a seeded share goes
/// to test. Each clause is then split into runs of words of the same split, and every run is chunked left to right
/// into phrases of 1 … <see cref="SlickPhraseOptions.MaxWords"/> words (lengths drawn from the seed). Distinct phrases
/// are kept at random up to the split's maximum and phonemised; L is the
/// <see cref="SlickPhraseOptions.LengthQuantile"/> quantile of their phoneme counts, and phrases longer than L are dropped.
/// </para>
/// </summary>
public sealed class SlickPhrases
{
    SlickPhrases(SlickPhraseOptions options, IReadOnlyList<SlickPhrase> train, IReadOnlyList<SlickPhrase> validation, IReadOnlyList<SlickPhrase> test,
        IReadOnlySet<string> trainWords, IReadOnlySet<string> testWords, int[] lengthCounts, int maxLength, int dropped)
    {
        Options = options;
        Train = train;
        Validation = validation;
        Test = test;
        TrainWords = trainWords;
        TestWords = testWords;
        LengthCounts = lengthCounts;
        MaxKeywordLength = maxLength;
        DroppedLonger = dropped;
    }

    /// <summary>The options the sets were made with.</summary>
    public SlickPhraseOptions Options { get; }

    /// <summary>Training phrases (all words in <see cref="TrainWords"/>).</summary>
    public IReadOnlyList<SlickPhrase> Train { get; }

    /// <summary>Validation phrases: training words, phrases not in <see cref="Train"/>.</summary>
    public IReadOnlyList<SlickPhrase> Validation { get; }

    /// <summary>Test phrases (all words in <see cref="TestWords"/>, none of which a training or validation phrase uses).</summary>
    public IReadOnlyList<SlickPhrase> Test { get; }

    /// <summary>The word types dealt to training (and validation).</summary>
    public IReadOnlySet<string> TrainWords { get; }

    /// <summary>The word types dealt to test.</summary>
    public IReadOnlySet<string> TestWords { get; }

    /// <summary>How many kept phrases (all splits, before phrases longer than L were dropped) have n phonemes, at index n.</summary>
    public IReadOnlyList<int> LengthCounts { get; }

    /// <summary>The maximum keyword length L in phonemes: every phrase here has at most L; keywords are padded to it.</summary>
    public int MaxKeywordLength { get; }

    /// <summary>Phrases dropped for having more than L phonemes.</summary>
    public int DroppedLonger { get; }

    /// <summary>Share of the measured phrases with at most L phonemes.</summary>
    public double Coverage => (double)LengthCounts.Take(MaxKeywordLength + 1).Sum() / LengthCounts.Sum();

    /// <summary>The q-quantile of phonemes per phrase (the smallest n such that a share of at least q has n phonemes or fewer).</summary>
    public int LengthQuantile(double q) => Quantile(LengthCounts, q);

    /// <summary>Mean phonemes per phrase.</summary>
    public double MeanLength => LengthCounts.Select((c, n) => (double)c * n).Sum() / LengthCounts.Sum();

    /// <summary>The phrases of the split called <paramref name="name"/> ("train", "validation" or "test").</summary>
    public IReadOnlyList<SlickPhrase> Split(string name) => name switch
    {
        "train" => Train,
        "validation" => Validation,
        "test" => Test,
        _ => throw new InvalidSettingsException($"There is no phrase split '{name}'; the splits are train, validation and test."),
    };

    static readonly Regex Clause = new(@"[^a-z'\s-]+|--+|\s-|-\s", RegexOptions.Compiled);
    static readonly Regex Word = new(@"[a-z]+(?:'[a-z]+)*", RegexOptions.Compiled);

    /// <summary>
    /// The phrase sets for <paramref name="options"/>, cut from <paramref name="text"/> (default Moby-Dick from
    /// <c>datasets/text</c>) and phonemised by <paramref name="phonemizer"/> (default <see cref="Phonemizer.Shared"/>).
    /// </summary>
    public static SlickPhrases Build(SlickPhraseOptions? options = null, Phonemizer? phonemizer = null, string? text = null)
    {
        options = (options ?? new SlickPhraseOptions()).Validate();
        phonemizer ??= Phonemizer.Shared;
        text ??= TextCorpus.ReadMobyDick();
        var clauses = Clause.Split(text.ToLowerInvariant().Replace('\u2019', '\'').Replace('\u2018', '\''))
            .Select(c => Word.Matches(c).Select(m => m.Value).ToArray())
            .Where(c => c.Length > 0)
            .ToList();
        if (clauses.Count == 0) throw new InvalidSettingsException("The text has no English words to cut phrases from.");

        var rng = new Random(options.Seed);
        var testWords = DealTestWords(clauses, options.TestWordShare, rng);
        var candidates = new[] { new List<string>(), new List<string>() };       // train, test; in order of first appearance
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var clause in clauses)
            for (int start = 0; start < clause.Length;)
            {
                bool test = testWords.Contains(clause[start]);
                int end = start;
                while (end < clause.Length && testWords.Contains(clause[end]) == test) end++;
                for (int i = start; i < end;)
                {
                    int n = Math.Min(rng.Next(1, options.MaxWords + 1), end - i);
                    var phrase = string.Join(' ', clause, i, n);
                    if (seen.Add(phrase)) candidates[test ? 1 : 0].Add(phrase);
                    i += n;
                }
                start = end;
            }
        if (candidates[0].Count < 10 || candidates[1].Count < 10)
            throw new InvalidSettingsException("The text is too short to cut at least 10 training and 10 test phrases from; give a longer text.");

        var kept = new List<SlickPhrase>[2];
        int[] limits = [options.MaxTrainPhrases, options.MaxTestPhrases];
        for (int s = 0; s < 2; s++)
        {
            var order = candidates[s].ToArray();
            rng.Shuffle(order);
            kept[s] = order.Take(limits[s]).Select(p => new SlickPhrase(p, phonemizer.Phonemize(p))).ToList();
        }
        int longest = kept.SelectMany(k => k).Max(p => p.Phonemes.Length);
        var counts = new int[longest + 1];
        foreach (var p in kept.SelectMany(k => k)) counts[p.Phonemes.Length]++;
        int maxLength = Quantile(counts, options.LengthQuantile);
        int dropped = kept.Sum(k => k.RemoveAll(p => p.Phonemes.Length > maxLength));
        int validationCount = (int)Math.Round(kept[0].Count * options.ValidationPhraseShare);
        var validation = kept[0].Take(validationCount).ToList();
        var train = kept[0].Skip(validationCount).ToList();
        var trainWords = clauses.SelectMany(c => c).Where(w => !testWords.Contains(w)).ToHashSet(StringComparer.Ordinal);
        return new SlickPhrases(options, train, validation, kept[1], trainWords, testWords, counts, maxLength, dropped);
    }

    /// <summary>Word types ranked by frequency, dealt in blocks of ranks so that test gets its share of every frequency band.</summary>
    static HashSet<string> DealTestWords(List<string[]> clauses, double share, Random rng)
    {
        var ranked = clauses.SelectMany(c => c).GroupBy(w => w, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => g.Key).ToArray();
        int block = Math.Max(2, (int)Math.Round(1 / share) * 5), perBlock = Math.Max(1, (int)Math.Round(block * share));
        var test = new HashSet<string>(StringComparer.Ordinal);
        for (int b = 0; b < ranked.Length; b += block)
        {
            var members = ranked.Skip(b).Take(block).ToArray();
            rng.Shuffle(members);
            foreach (var w in members.Take(Math.Min(perBlock, members.Length - (members.Length > 1 ? 1 : 0)))) test.Add(w);
        }
        return test;
    }

    static int Quantile(IReadOnlyList<int> counts, double q)
    {
        long total = counts.Sum(), running = 0;
        for (int n = 0; n < counts.Count; n++)
        {
            running += counts[n];
            if (running >= q * total - 1e-9) return n;
        }
        return counts.Count - 1;
    }
}
