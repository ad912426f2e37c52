using EfficientML.Core;

namespace EfficientML.Audio;

/// <summary>A clip and the word spoken in it.</summary>
public sealed record LabelledClip(string Word, AudioClip Clip);

/// <summary>
/// A small test set of real speech: one speaker (Allison Smith's Asterisk prompts, CC-BY-SA 3.0) saying single words —
/// digits, a few commands and others — as listed in <c>manifest.csv</c> (columns <c>file,word,source</c>) in the shipped
/// <c>datasets/real-voice/</c>. Telephone audio recorded at 8 kHz, upsampled to 16 kHz: nothing above 4 kHz.
/// </summary>
public sealed class RealVoiceSet
{
    /// <summary>Sample rate of every clip.</summary>
    public const int SampleRate = 16000;

    /// <summary>The first line of the manifest.</summary>
    public const string ManifestHeader = "file,word,source";

    RealVoiceSet(string folder, IReadOnlyList<LabelledClip> clips)
    {
        Folder = folder;
        Clips = clips;
        Words = clips.Select(c => c.Word).Distinct().ToList();
    }

    /// <summary>The folder the set came from.</summary>
    public string Folder { get; }

    /// <summary>Every clip with its word, in manifest order, 16 kHz.</summary>
    public IReadOnlyList<LabelledClip> Clips { get; }

    /// <summary>The distinct words, in manifest order.</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>
    /// Reads <c>manifest.csv</c> in <paramref name="folder"/> (default <c>datasets/real-voice/</c>) and the WAV files it lists,
    /// resampled to 16 kHz where needed. A missing folder or manifest, or a malformed line, is one clear exception.
    /// </summary>
    public static RealVoiceSet Load(string? folder = null)
    {
        folder ??= ProjectPaths.Dataset("real-voice");
        var manifest = Path.Combine(folder, "manifest.csv");
        if (!Directory.Exists(folder))
            throw new MissingFileException($"No real-voice folder at '{folder}'. The repository ships one as datasets/real-voice (remake it with datasets/real-voice/make.sh).");
        if (!File.Exists(manifest))
            throw new MissingFileException($"The real-voice folder '{folder}' has no manifest.csv (columns {ManifestHeader}). Remake it with datasets/real-voice/make.sh.", manifest);
        var lines = File.ReadAllLines(manifest);
        if (lines.Length == 0 || lines[0].Trim() != ManifestHeader)
            throw new InvalidFileException($"'{manifest}' must start with the line '{ManifestHeader}'.");
        var clips = new List<LabelledClip>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            var fields = lines[i].Split(',');
            if (fields.Length != 3 || fields[0].Trim().Length == 0 || fields[1].Trim().Length == 0)
                throw new InvalidFileException($"'{manifest}' line {i + 1} should be file,word,source, not '{lines[i]}'.");
            var clip = WaveFile.Read(Path.Combine(folder, fields[0].Trim())).Resampled(SampleRate);
            clips.Add(new LabelledClip(fields[1].Trim(), clip));
        }
        if (clips.Count == 0) throw new InvalidFileException($"'{manifest}' lists no clips.");
        return new RealVoiceSet(Path.GetFullPath(folder), clips);
    }

    /// <summary>The (first) clip of <paramref name="word"/>, case-insensitive.</summary>
    public AudioClip Clip(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        return Clips.FirstOrDefault(c => string.Equals(c.Word, word, StringComparison.OrdinalIgnoreCase))?.Clip
            ?? throw new InvalidSettingsException($"The real-voice set has no '{word}'. It has: {string.Join(", ", Words)}.");
    }
}
