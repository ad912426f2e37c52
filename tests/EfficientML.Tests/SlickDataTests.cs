using EfficientML.Core;
using EfficientML.Slick;
using EfficientML.Text;
using System.Text.RegularExpressions;

namespace EfficientML.Tests;

public class SlickDataTests
{
    static readonly SlickPhraseOptions SmallPhrases = new() { MaxTrainPhrases = 2000, MaxTestPhrases = 600, Seed = 3 };
    static readonly Lazy<SlickPhrases> Phrases = new(() => SlickPhrases.Build(SmallPhrases));

    static string[] OddWords =>
    [
        "xylophone", "qwrtz", "don't", "a", "i", "x", "zzz", "rhythm", "psst", "hmm", "aaaaaaa", "bcdfghjklmnpqrstvwxz", "o'clock",
        "ishmael", "queequeg", "y'all", "nth", "mr", "hey computer", "ok google", "2024", "r2d2", "well-known", "HELLO", "  spaced   out ",
        "tsktsk", "llama", "ngozi", "mbappe", "pterodactyl", "gnocchi", "tsunami", "phthisis", "iwxyz", "uuu", "eau", "aeiou",
    ];

    /// <summary>Odd words, a sample of Moby-Dick's vocabulary and seeded random letter strings.</summary>
    static List<string> ManyWords()
    {
        var words = new List<string>(OddWords);
        var text = TextCorpus.ReadMobyDick().ToLowerInvariant().Replace('\u2019', '\'');
        words.AddRange(Regex.Matches(text, "[a-z]+(?:'[a-z]+)*").Select(m => m.Value).Distinct().Where((_, i) => i % 25 == 0));
        var rng = new Random(7);
        for (int i = 0; i < 300; i++)
            words.Add(new string(Enumerable.Range(0, rng.Next(1, 13)).Select(_ => (char)('a' + rng.Next(26))).ToArray()));
        return words;
    }

    [Fact]
    public void EveryAsciiWordHasPhonemesAndTheSameOnesEveryTime()
    {
        var words = ManyWords();
        var first = new Phonemizer();
        var again = new Phonemizer();                  // its own cache: espeak-ng is asked again
        var results = words.Select(first.Phonemize).ToList();
        for (int i = 0; i < words.Count; i++)
        {
            Assert.True(results[i].Length > 0, $"'{words[i]}' has no phonemes");
            Assert.All(results[i], id => Assert.InRange(id, 1, Phonemizer.Count - 1));
        }
        foreach (var i in Enumerable.Range(0, words.Count).Reverse().Where(i => i % 3 == 0))
            Assert.Equal(results[i], again.Phonemize(words[i]));
        Assert.Equal(first.Phonemize("Hello   World"), first.Phonemize("hello world"));
    }

    [Fact]
    public void MultiCharacterPhonemesAreOneTokenEach()
    {
        var p = Phonemizer.Shared;
        Assert.Equal(new[] { "d", "oU", "n", "t" }, p.Names("don't"));
        Assert.Equal(new[] { "tS", "3:", "tS" }, p.Names("church"));
        Assert.Equal(new[] { "dZ", "V", "dZ" }, p.Names("judge"));
        Assert.Equal(new[] { "eI" }, p.Names("a"));
        Assert.Equal(new[] { "b", "r", "eI", "v" }, p.Names("brave"));
        Assert.Equal(new[] { "k", "A:", "r" }, p.Names("car"));                 // espeak's r-coloured "A@" is split
        Assert.Equal(41, Phonemizer.Count);
        Assert.Equal("<pad>", Phonemizer.Name(Phonemizer.Padding));
        Assert.Equal(2, SlickPairs.EditDistance(p.Phonemize("bravo"), p.Phonemize("brave")));
    }

    [Fact]
    public void SeparatedPhonemeNamesAreThePlainOnesSplit()
    {
        var synthesizer = EfficientML.Audio.SpeechSynthesizer.Open();
        foreach (var text in new[] { "hello world", "the end of it all", "twenty-four whales", "i'm here", "qwrtz" })
        {
            var separated = synthesizer.PhonemeNames(text, '+');
            Assert.Equal(synthesizer.Phonemes(text), separated.Replace("+", ""));
            Assert.Contains('+', separated);
        }
        Assert.Equal("tS+'3:+tS", synthesizer.PhonemeNames("church", '+'));                // "tS" stays one name
        Assert.Contains("separator", Assert.Throws<InvalidSettingsException>(() => synthesizer.PhonemeNames("x", '\'')).Message);
        Assert.Contains("separator", Assert.Throws<InvalidSettingsException>(() => synthesizer.PhonemeNames("x", ' ')).Message);
    }

    [Fact]
    public void BadKeywordsGetOneClearMessage()
    {
        var p = Phonemizer.Shared;
        Assert.Contains("empty", Assert.Throws<InvalidSettingsException>(() => p.Phonemize("")).Message);
        Assert.Contains("empty", Assert.Throws<InvalidSettingsException>(() => p.Phonemize("   ")).Message);
        Assert.Contains("'@'", Assert.Throws<InvalidSettingsException>(() => p.Phonemize("@@@")).Message);
        Assert.Contains("letters a to z", Assert.Throws<InvalidSettingsException>(() => p.Phonemize("中文")).Message);
        Assert.Contains("'é'", Assert.Throws<InvalidSettingsException>(() => p.Phonemize("héllo")).Message);
        Assert.Contains("no letters", Assert.Throws<InvalidSettingsException>(() => p.Phonemize("'-'")).Message);
        var tooLong = Assert.Throws<InvalidSettingsException>(() => p.Keyword("the white whale of the great sea", 8));
        Assert.Contains("more than the 8", tooLong.Message);
        Assert.Contains("shorter keyword", tooLong.Message);
        var padded = p.Keyword("whale", 8);
        Assert.Equal(8, padded.Length);
        Assert.Equal(p.Phonemize("whale"), padded.TakeWhile(id => id != Phonemizer.Padding).ToArray());
        Assert.All(padded.SkipWhile(id => id != Phonemizer.Padding), id => Assert.Equal(Phonemizer.Padding, id));
    }

    [Fact]
    public void TrainAndTestPhrasesShareNoWord()
    {
        var phrases = Phrases.Value;
        Assert.True(phrases.Train.Count > 1000 && phrases.Validation.Count > 100 && phrases.Test.Count > 500,
            $"{phrases.Train.Count}/{phrases.Validation.Count}/{phrases.Test.Count} phrases");
        Assert.Empty(phrases.TrainWords.Intersect(phrases.TestWords));
        var trainSide = phrases.Train.Concat(phrases.Validation).SelectMany(p => p.Words).ToHashSet();
        var testSide = phrases.Test.SelectMany(p => p.Words).ToHashSet();
        Assert.Empty(trainSide.Intersect(testSide));
        Assert.Subset(phrases.TestWords.ToHashSet(), testSide);
        Assert.Empty(phrases.Train.Select(p => p.Text).Intersect(phrases.Validation.Select(p => p.Text)));
        Assert.All(phrases.Train.Concat(phrases.Validation).Concat(phrases.Test), p => Assert.InRange(p.Words.Length, 1, 4));
        Assert.Contains(phrases.Test, p => p.Words.Length >= 3);           // test phrases are not all single words
    }

    [Fact]
    public void TheMaximumKeywordLengthCoversNinetyNinePercentOfPhrases()
    {
        var phrases = Phrases.Value;
        int measured = phrases.LengthCounts.Sum();
        Assert.Equal(phrases.Train.Count + phrases.Validation.Count + phrases.Test.Count + phrases.DroppedLonger, measured);
        Assert.True(phrases.Coverage >= 0.99, $"L = {phrases.MaxKeywordLength} covers {phrases.Coverage:P2}");
        Assert.True(phrases.DroppedLonger <= 0.01 * measured);
        Assert.Equal(phrases.LengthQuantile(0.99), phrases.MaxKeywordLength);
        Assert.InRange(phrases.MaxKeywordLength, 12, 40);
        Assert.All(phrases.Train.Concat(phrases.Validation).Concat(phrases.Test), p => Assert.InRange(p.Phonemes.Length, 1, phrases.MaxKeywordLength));
    }

    [Fact]
    public void PhrasesArePickedFromTheSeed()
    {
        var options = SmallPhrases with { MaxTrainPhrases = 200, MaxTestPhrases = 100 };
        var a = SlickPhrases.Build(options);
        var b = SlickPhrases.Build(options);
        Assert.Equal(a.Train.Select(p => p.Text), b.Train.Select(p => p.Text));
        Assert.Equal(a.Test.Select(p => p.Text), b.Test.Select(p => p.Text));
        var other = SlickPhrases.Build(options with { Seed = 4 });
        Assert.NotEqual(a.Test.Select(p => p.Text), other.Test.Select(p => p.Text));
    }

    [Fact]
    public void HardNegativesAreCloseButNeverTheKeyword()
    {
        var phrases = Phrases.Value;
        foreach (var split in new[] { phrases.Train, phrases.Test })
        {
            var pairs = SlickPairs.Make(split, 300, seed: 11);
            Assert.Equal(pairs.Select(p => (p.Anchor.Text, p.Kind, p.KeywordText, p.EditDistance)),
                SlickPairs.Make(split, 300, seed: 11).Select(p => (p.Anchor.Text, p.Kind, p.KeywordText, p.EditDistance)));
            Assert.Equal(100, pairs.Count(p => p.Kind == SlickPairKind.HardNegative));
            foreach (var pair in pairs)
            {
                Assert.Equal(SlickPairs.EditDistance(pair.Anchor.Phonemes, pair.Keyword), pair.EditDistance);
                Assert.Contains(pair.Anchor, split);
                switch (pair.Kind)
                {
                    case SlickPairKind.Positive:
                        Assert.Equal(pair.Anchor.Phonemes, pair.Keyword);
                        Assert.Equal(1, pair.Label);
                        break;
                    case SlickPairKind.HardNegative:
                        Assert.InRange(pair.EditDistance, 1, SlickPairs.HardDistance);
                        Assert.NotEqual(pair.Anchor.Phonemes, pair.Keyword);
                        Assert.True(pair.Anchor.Phonemes.Length == pair.Keyword.Length || pair.KeywordText is not null, "a substitution keeps the length");
                        if (pair.KeywordText is not null) Assert.Contains(split, p => p.Text == pair.KeywordText);
                        Assert.Equal(0, pair.Label);
                        break;
                    default:
                        Assert.NotEqual(pair.Anchor.Phonemes, pair.Keyword);
                        Assert.Equal(0, pair.Label);
                        break;
                }
            }
            Assert.Contains(pairs, p => p.Kind == SlickPairKind.HardNegative && p.KeywordText is not null);      // real near phrases are used
            Assert.Contains(pairs, p => p.Kind == SlickPairKind.HardNegative && p.KeywordText is null);          // and substitutions otherwise
        }
    }

    [Fact]
    public void SubstitutionsNeverGiveBackTheKeyword()
    {
        var rng = new Random(2);
        int h = Phonemizer.Id("h");
        for (int trial = 0; trial < 2000; trial++)
        {
            var source = trial % 10 == 0
                ? Enumerable.Repeat(h, rng.Next(1, 4)).ToArray()            // nothing similar to "h": falls back to another consonant
                : Enumerable.Range(0, rng.Next(1, 20)).Select(_ => rng.Next(1, Phonemizer.Count)).ToArray();
            var changed = SlickPairs.Substitute(source, rng.Next(1, 3), rng);
            Assert.Equal(source.Length, changed.Length);
            Assert.InRange(SlickPairs.EditDistance(source, changed), 1, 2);
            Assert.All(changed, id => Assert.InRange(id, 1, Phonemizer.Count - 1));
        }
        var vowel = Phonemizer.Id("eI");
        Assert.All(Enumerable.Range(0, 50).Select(_ => SlickPairs.Substitute([vowel], 1, rng)[0]), id => Assert.True(Phonemizer.IsVowel(id)));
        Assert.Equal(Phonemizer.Id("b"), SlickPairs.Substitute([Phonemizer.Id("p")], 1, rng)[0]);
    }

    [Fact]
    public void EditDistanceIsLevenshtein()
    {
        Assert.Equal(0, SlickPairs.EditDistance([1, 2, 3], [1, 2, 3]));
        Assert.Equal(1, SlickPairs.EditDistance([1, 2, 3], [1, 3]));
        Assert.Equal(1, SlickPairs.EditDistance([1, 2, 3], [1, 4, 3]));
        Assert.Equal(3, SlickPairs.EditDistance([1, 2, 3], []));
        Assert.Equal(2, SlickPairs.EditDistance([1, 2, 3, 4], [2, 1, 3, 4]));
        Assert.True(SlickPairs.EditDistance([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], 2) > 2);
    }

    [Fact]
    public void TheDatasetSpeaksPairsWithVoicesOfItsOwnSplit()
    {
        var phrases = Phrases.Value;
        var options = new SlickDatasetOptions
        {
            Phrases = SmallPhrases, TrainPairs = 3, ValidationPairs = 3, TestPairs = 3,
            TrainSpeakers = 3, ValidationSpeakers = 2, TestSpeakers = 2, ClipSeconds = 2.5, Seed = 9,
        };
        var a = SlickDataset.Build(options, phrases);
        var b = SlickDataset.Build(options, phrases);
        var voices = a.Splits.Select(s => s.Speakers.Select(v => v.Name).ToHashSet()).ToArray();
        Assert.Empty(voices[0].Intersect(voices[1]));
        Assert.Empty(voices[0].Intersect(voices[2]));
        Assert.Empty(voices[1].Intersect(voices[2]));
        for (int s = 0; s < 3; s++)
        {
            var split = a.Splits[s];
            Assert.Equal(3, split.Examples.Count);
            Assert.Equal([SlickPairKind.Positive, SlickPairKind.EasyNegative, SlickPairKind.HardNegative], split.Examples.Select(e => e.Kind));
            foreach (var (x, y) in split.Examples.Zip(b.Splits[s].Examples))
            {
                Assert.Contains(x.Speaker, voices[s]);
                Assert.Equal(40000, x.Samples.Length);
                Assert.True(x.Samples.Max(v => Math.Abs(v)) > 0.05f, "the phrase should be audible");
                Assert.Equal(a.MaxKeywordLength, x.Keyword.Length);
                Assert.Equal(x.Pair.Label, x.Label);
                Assert.Equal(x.Pair.Keyword, x.Keyword.Take(x.Pair.Keyword.Length));
                Assert.Equal(x.Samples, y.Samples);                                 // deterministic
                Assert.Equal(x.Keyword, y.Keyword);
            }
        }
        Assert.All(a.Test.Examples, e => Assert.All(e.Pair.Anchor.Words, w => Assert.Contains(w, phrases.TestWords)));
        using var logMel = new EfficientML.Audio.LogMel();
        var features = a.Train.Examples[0].Features(logMel);
        Assert.Equal(40, features.GetLength(0));
        Assert.Equal(logMel.FrameCount(40000), features.GetLength(1));
        var mismatch = Assert.Throws<InvalidSettingsException>(() => SlickDataset.Build(options with { Phrases = SmallPhrases with { Seed = 1 } }, phrases));
        Assert.Contains("Phrases = phrases.Options", mismatch.Message);
    }
}
