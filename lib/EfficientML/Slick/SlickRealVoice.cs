using EfficientML.Audio;
using EfficientML.Core;

namespace EfficientML.Slick;

/// <summary>One recording of the SLiCK real-voice set: its file, the phrase spoken (text and phonemes), the audio at 16 kHz, and where it came from in the Asterisk prompts.</summary>
public sealed record SlickRealVoiceClip(string File, SlickPhrase Phrase, AudioClip Clip, string Source)
{
    /// <summary>The phrase's text (lower case).</summary>
    public string Text => Phrase.Text;

    /// <summary>The phrase's phoneme ids (no padding).</summary>
    public int[] Phonemes => Phrase.Phonemes;
}

/// <summary>
/// A small real-speech evaluation set for SLiCK: one speaker (Allison Smith's Asterisk prompts, CC-BY-SA 3.0) saying short
/// phrases of two to four words ("thank you", "please try again", "you are now muted"), as listed in <c>manifest.csv</c>
/// (columns <c>file,text,source</c>) in the shipped <c>datasets/slick-real-voice/</c>. Telephone audio recorded at 8 kHz,
/// upsampled to 16 kHz: nothing above 4 kHz. <see cref="Pairs"/> turns it into LibriPhrase-style examples like the
/// synthesised <see cref="SlickDataset"/>'s.
/// </summary>
public sealed class SlickRealVoice
{
    /// <summary>Sample rate of every clip.</summary>
    public const int SampleRate = 16000;

    /// <summary>The first line of the manifest.</summary>
    public const string ManifestHeader = "file,text,source";

    /// <summary>The speaker name every example carries.</summary>
    public const string Speaker = "Allison (real)";

    SlickRealVoice(string folder, IReadOnlyList<SlickRealVoiceClip> clips)
    {
        Folder = folder;
        Clips = clips;
        Phrases = clips.Select(c => c.Phrase).ToList();
    }

    /// <summary>The folder the set came from.</summary>
    public string Folder { get; }

    /// <summary>Every clip in manifest order, 16 kHz.</summary>
    public IReadOnlyList<SlickRealVoiceClip> Clips { get; }

    /// <summary>The clips' phrases, in the same order.</summary>
    public IReadOnlyList<SlickPhrase> Phrases { get; }

    /// <summary>The most phonemes of any phrase here (a model's L must be at least this).</summary>
    public int LongestPhrase => Phrases.Max(p => p.Phonemes.Length);

    /// <summary>
    /// Reads <c>manifest.csv</c> in <paramref name="folder"/> (default <c>datasets/slick-real-voice/</c>) and the WAV files
    /// it lists, resampled to 16 kHz where needed, and phonemises each text with <paramref name="phonemizer"/> (default
    /// <see cref="Phonemizer.Shared"/>). A missing folder or manifest, or a malformed line, is one clear exception.
    /// </summary>
    public static SlickRealVoice Load(string? folder = null, Phonemizer? phonemizer = null)
    {
        folder ??= ProjectPaths.Dataset("slick-real-voice");
        var manifest = Path.Combine(folder, "manifest.csv");
        if (!Directory.Exists(folder))
            throw new MissingFileException($"No SLiCK real-voice folder at '{folder}'. The repository ships one as datasets/slick-real-voice (remake it with datasets/slick-real-voice/make.sh).");
        if (!File.Exists(manifest))
            throw new MissingFileException($"The SLiCK real-voice folder '{folder}' has no manifest.csv (columns {ManifestHeader}). Remake it with datasets/slick-real-voice/make.sh.", manifest);
        var lines = File.ReadAllLines(manifest);
        if (lines.Length == 0 || lines[0].Trim() != ManifestHeader)
            throw new InvalidFileException($"'{manifest}' must start with the line '{ManifestHeader}'.");
        phonemizer ??= Phonemizer.Shared;
        var clips = new List<SlickRealVoiceClip>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            var fields = lines[i].Split(',').Select(f => f.Trim()).ToArray();
            if (fields.Length != 3 || fields[0].Length == 0 || fields[1].Length == 0)
                throw new InvalidFileException($"'{manifest}' line {i + 1} should be file,text,source, not '{lines[i]}'.");
            var text = fields[1];
            if (text.Any(c => !(c is >= 'a' and <= 'z' or '\'' or ' ')) || text != string.Join(' ', text.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
                throw new InvalidFileException($"'{manifest}' line {i + 1}: the text \"{text}\" must be lower-case words (letters a to z and apostrophes) separated by single spaces.");
            var path = Path.Combine(folder, fields[0]);
            if (!File.Exists(path))
                throw new MissingFileException($"'{manifest}' line {i + 1} lists '{fields[0]}', which is not in '{folder}'. Remake the folder with datasets/slick-real-voice/make.sh.", path);
            var clip = WaveFile.Read(path).Resampled(SampleRate);
            clips.Add(new SlickRealVoiceClip(fields[0], new SlickPhrase(text, phonemizer.Phonemize(text)), clip, fields[2]));
        }
        if (clips.Count < 2) throw new InvalidFileException($"'{manifest}' lists {clips.Count} clips; pairs need at least two phrases.");
        return new SlickRealVoice(Path.GetFullPath(folder), clips);
    }

    /// <summary>
    /// Three examples per clip, in manifest order: a positive (the keyword is the clip's own phrase), an easy negative
    /// (another clip's phrase with other phonemes) and a hard negative (a phrase of another clip within
    /// <see cref="SlickPairs.HardDistance"/> phonemes when there is one, else the clip's phonemes with one or two
    /// similar-phoneme substitutions), chosen as <see cref="SlickPairs"/> chooses them. Keywords are padded to
    /// <paramref name="maxKeywordLength"/> (L, e.g. <see cref="SlickPhrases.MaxKeywordLength"/> of the phrases a model was trained on). Samples are the clip at
    /// 16 kHz, centred in <paramref name="clipSeconds"/> of silence (or its middle, if it is longer); the speaker is
    /// <see cref="Speaker"/>, the SNR infinite (no noise is added). Everything random is drawn from <paramref name="seed"/>.
    /// </summary>
    public IReadOnlyList<SlickExample> Pairs(int maxKeywordLength, int seed, double clipSeconds = 2.5)
    {
        if (clipSeconds is < 0.5 or > 10) throw new InvalidSettingsException($"An utterance lasts 0.5 to 10 seconds (got {clipSeconds}).");
        var longest = Phrases.MaxBy(p => p.Phonemes.Length)!;
        if (longest.Phonemes.Length > maxKeywordLength)
            throw new InvalidSettingsException(
                $"The real-voice phrase \"{longest.Text}\" has {longest.Phonemes.Length} phonemes, more than the maximum keyword length {maxKeywordLength}; pass an L of at least {longest.Phonemes.Length}.");
        int length = (int)Math.Round(clipSeconds * SampleRate);
        var rng = new Random(seed);
        var byLength = SlickPairs.ByLength(Phrases);
        var examples = new List<SlickExample>(Clips.Count * 3);
        foreach (var clip in Clips)
        {
            var samples = AudioMixing.Centre(clip.Clip.Samples, length);
            var anchor = clip.Phrase;
            foreach (var pair in new[]
            {
                new SlickPair(anchor, anchor.Phonemes, anchor.Text, SlickPairKind.Positive, 0),
                SlickPairs.Easy(anchor, Phrases, rng),
                SlickPairs.Hard(anchor, Phrases, byLength, rng),
            })
                examples.Add(new SlickExample((float[])samples.Clone(), Phonemizer.Pad(pair.Keyword, maxKeywordLength), pair.Label, pair.Kind, pair, Speaker, double.PositiveInfinity));
        }
        return examples;
    }
}
