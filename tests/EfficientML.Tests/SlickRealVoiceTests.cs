using EfficientML.Core;
using EfficientML.Slick;

namespace EfficientML.Tests;

public class SlickRealVoiceTests
{
    static readonly Lazy<SlickRealVoice> Set = new(() => SlickRealVoice.Load());
    static readonly Lazy<SlickPhrases> DefaultPhrases = new(() => SlickPhrases.Build());

    static string TempFolder(string name) => Path.Combine(Path.GetTempPath(), $"efficientml-slick-real-{Guid.NewGuid():N}", name);

    [Fact]
    public void TheSetLoadsShortPhrasesAtSixteenKilohertz()
    {
        var set = Set.Value;
        Assert.Equal(50, set.Clips.Count);
        Assert.Equal(set.Clips.Count, set.Clips.Select(c => c.Text).Distinct().Count());
        Assert.All(set.Clips, c =>
        {
            Assert.Equal(SlickRealVoice.SampleRate, c.Clip.SampleRate);
            Assert.InRange(c.Clip.Seconds, 0.5, 2.5);
            Assert.InRange(c.Phrase.Words.Length, 2, 4);
            Assert.True(File.Exists(Path.Combine(set.Folder, c.File)), c.File);
            Assert.EndsWith(".wav", c.Source);
            Assert.True(c.Clip.Samples.Max(Math.Abs) > 0.05f, $"{c.File} is nearly silent");
        });
        Assert.Contains(set.Clips, c => c.Text == "thank you");
        Assert.Contains(set.Clips, c => c.Text == "i'm sorry");
    }

    [Fact]
    public void EveryTextPhonemisesWithinLAndIsNoTrainingPhrase()
    {
        var set = Set.Value;
        var phrases = DefaultPhrases.Value;
        int l = phrases.MaxKeywordLength;
        Assert.True(set.LongestPhrase <= l, $"the longest real-voice phrase has {set.LongestPhrase} phonemes, L is {l}");
        foreach (var clip in set.Clips)
        {
            Assert.Equal(Phonemizer.Shared.Phonemize(clip.Text), clip.Phonemes);
            Assert.Equal(l, Phonemizer.Shared.Keyword(clip.Text, l).Length);
        }
        var train = phrases.Train.Select(p => p.Text).ToHashSet();
        Assert.DoesNotContain(set.Clips, c => train.Contains(c.Text));
    }

    [Fact]
    public void PairsAreOneThirdPositiveWithCloseButDifferentHardNegatives()
    {
        var set = Set.Value;
        const int l = 21;
        var examples = set.Pairs(l, seed: 5);
        Assert.Equal(3 * set.Clips.Count, examples.Count);
        Assert.Equal(set.Clips.Count, examples.Count(e => e.Label == 1));
        int length = (int)Math.Round(2.5 * SlickRealVoice.SampleRate);
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            var clip = set.Clips[i / 3];
            Assert.Equal((SlickPairKind)(i % 3), e.Kind);
            Assert.Equal(e.Kind == SlickPairKind.Positive ? 1 : 0, e.Label);
            Assert.Same(clip.Phrase, e.Pair.Anchor);
            Assert.Equal(l, e.Keyword.Length);
            Assert.Equal(Phonemizer.Pad(e.Pair.Keyword, l), e.Keyword);
            Assert.Equal(length, e.Samples.Length);
            Assert.Equal(SlickRealVoice.Speaker, e.Speaker);
            Assert.Equal(double.PositiveInfinity, e.SnrDb);
            int start = (length - clip.Clip.Samples.Length) / 2;
            Assert.Equal(clip.Clip.Samples, e.Samples.Skip(start).Take(clip.Clip.Samples.Length).ToArray());
            Assert.All(e.Samples.Take(start), s => Assert.Equal(0f, s));
            int distance = SlickPairs.EditDistance(clip.Phonemes, e.Pair.Keyword);
            Assert.Equal(distance, e.Pair.EditDistance);
            switch (e.Kind)
            {
                case SlickPairKind.Positive:
                    Assert.Equal(clip.Phonemes, e.Pair.Keyword);
                    Assert.Equal(clip.Text, e.Pair.KeywordText);
                    break;
                case SlickPairKind.EasyNegative:
                    Assert.True(distance > 0, $"easy negative for \"{clip.Text}\" sounds the same");
                    Assert.Contains(set.Clips, c => c.Text == e.Pair.KeywordText);
                    break;
                case SlickPairKind.HardNegative:
                    Assert.InRange(distance, 1, SlickPairs.HardDistance);
                    Assert.NotEqual(clip.Phonemes, e.Pair.Keyword);
                    if (e.Pair.KeywordText is { } text) Assert.Contains(set.Clips, c => c.Text == text && c.Text != clip.Text);
                    break;
            }
        }
        // The set holds near pairs ("agent logged in" / "agent logged off", "you are now muted" / "unmuted"): some hard negatives are real phrases.
        Assert.Contains(examples, e => e.Kind == SlickPairKind.HardNegative && e.Pair.KeywordText is not null);
        Assert.Contains(examples, e => e.Kind == SlickPairKind.HardNegative && e.Pair.KeywordText is null);
    }

    [Fact]
    public void PairsAreDrawnFromTheSeedAndClipsAreFittedToTheLength()
    {
        var set = Set.Value;
        var a = set.Pairs(21, seed: 3);
        var b = set.Pairs(21, seed: 3);
        Assert.Equal(a.Select(e => e.Keyword), b.Select(e => e.Keyword));
        Assert.Equal(a.Select(e => e.Samples), b.Select(e => e.Samples));
        var other = set.Pairs(21, seed: 4);
        Assert.NotEqual(a.Select(e => string.Join(",", e.Keyword)), other.Select(e => string.Join(",", e.Keyword)));

        var shortClips = set.Pairs(21, seed: 3, clipSeconds: 1.0);
        Assert.All(shortClips, e => Assert.Equal(SlickRealVoice.SampleRate, e.Samples.Length));
        var longest = set.Clips.MaxBy(c => c.Clip.Samples.Length)!;
        int cut = (longest.Clip.Samples.Length - SlickRealVoice.SampleRate) / 2;
        Assert.Equal(longest.Clip.Samples.Skip(cut).Take(SlickRealVoice.SampleRate).ToArray(), shortClips[3 * set.Clips.ToList().IndexOf(longest)].Samples);

        var tooShort = Assert.Throws<InvalidSettingsException>(() => set.Pairs(set.LongestPhrase - 1, seed: 0));
        Assert.Contains($"at least {set.LongestPhrase}", tooShort.Message);
        Assert.Throws<InvalidSettingsException>(() => set.Pairs(21, seed: 0, clipSeconds: 0.1));
    }

    [Fact]
    public void AMissingOrMalformedFolderGetsOneClearMessage()
    {
        var folder = TempFolder("nowhere");
        var missing = Assert.Throws<MissingFileException>(() => SlickRealVoice.Load(folder)).Message;
        Assert.Contains(folder, missing);
        Assert.Contains("datasets/slick-real-voice/make.sh", missing);

        Directory.CreateDirectory(folder);
        try
        {
            Assert.Contains("no manifest.csv", Assert.Throws<MissingFileException>(() => SlickRealVoice.Load(folder)).Message);
            var manifest = Path.Combine(folder, "manifest.csv");
            File.WriteAllText(manifest, "file,word,source\n");
            Assert.Contains(SlickRealVoice.ManifestHeader, Assert.Throws<InvalidFileException>(() => SlickRealVoice.Load(folder)).Message);
            File.WriteAllText(manifest, $"{SlickRealVoice.ManifestHeader}\nthank-you.wav,Thank You!,auth-thankyou.wav\n");
            Assert.Contains("lower-case words", Assert.Throws<InvalidFileException>(() => SlickRealVoice.Load(folder)).Message);
            File.WriteAllText(manifest, $"{SlickRealVoice.ManifestHeader}\nthank-you.wav,thank you\n");
            Assert.Contains("line 2", Assert.Throws<InvalidFileException>(() => SlickRealVoice.Load(folder)).Message);
            File.WriteAllText(manifest, $"{SlickRealVoice.ManifestHeader}\nthank-you.wav,thank you,auth-thankyou.wav\n");
            Assert.Contains("thank-you.wav", Assert.Throws<MissingFileException>(() => SlickRealVoice.Load(folder)).Message);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(folder)!, recursive: true);
        }
    }
}
