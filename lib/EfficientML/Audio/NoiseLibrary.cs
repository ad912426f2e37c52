using EfficientML.Core;

namespace EfficientML.Audio;

/// <summary>
/// Background recordings to mix under speech: every <c>*.wav</c> in a folder (by default the shipped <c>datasets/noise/</c>,
/// eight CC0 ambiences from Sonic Pi), loaded once at 16 kHz mono and named by file name without extension.
/// </summary>
public sealed class NoiseLibrary
{
    /// <summary>Sample rate of every clip and excerpt.</summary>
    public const int SampleRate = 16000;

    readonly Dictionary<string, AudioClip> _clips;

    NoiseLibrary(string folder, IReadOnlyList<string> names, Dictionary<string, AudioClip> clips)
    {
        Folder = folder;
        Names = names;
        _clips = clips;
    }

    /// <summary>The folder the recordings came from.</summary>
    public string Folder { get; }

    /// <summary>The recordings' names (file names without <c>.wav</c>), in ordinal order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>
    /// Loads every <c>*.wav</c> in <paramref name="folder"/> (default <c>datasets/noise/</c>), resampled to 16 kHz where needed.
    /// A missing or empty folder is one clear <see cref="DirectoryNotFoundException"/>.
    /// </summary>
    public static NoiseLibrary Load(string? folder = null)
    {
        folder ??= ProjectPaths.Dataset("noise");
        if (!Directory.Exists(folder))
            throw new MissingFileException($"No noise folder at '{folder}'. The repository ships one as datasets/noise (remake it with datasets/noise/make.sh), or pass a folder of WAV files.");
        var files = Directory.GetFiles(folder, "*.wav").OrderBy(f => f, StringComparer.Ordinal).ToList();
        if (files.Count == 0)
            throw new MissingFileException($"The noise folder '{folder}' has no .wav files. Remake datasets/noise with datasets/noise/make.sh, or pass a folder of WAV files.");
        var clips = new Dictionary<string, AudioClip>(StringComparer.OrdinalIgnoreCase);
        var names = new List<string>();
        foreach (var file in files)
        {
            var clip = WaveFile.Read(file).Resampled(SampleRate);
            if (clip.Samples.Length == 0) throw new InvalidFileException($"The noise recording '{file}' has no samples.");
            var name = Path.GetFileNameWithoutExtension(file);
            clips[name] = clip;
            names.Add(name);
        }
        return new NoiseLibrary(Path.GetFullPath(folder), names, clips);
    }

    /// <summary>The whole recording called <paramref name="name"/> (case-insensitive), 16 kHz.</summary>
    public AudioClip Clip(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _clips.TryGetValue(name, out var clip)
            ? clip
            : throw new InvalidSettingsException($"No noise recording called '{name}'. There are: {string.Join(", ", Names)}.");
    }

    /// <summary>
    /// <paramref name="samples"/> consecutive samples (16 kHz) from a random place in a random recording, both drawn from
    /// <paramref name="rng"/>: the same seed gives the same excerpt. A recording shorter than the excerpt is looped.
    /// </summary>
    public float[] Excerpt(Random rng, int samples)
    {
        ArgumentNullException.ThrowIfNull(rng);
        return Excerpt(rng, samples, Names[rng.Next(Names.Count)]);
    }

    /// <summary>
    /// <paramref name="samples"/> consecutive samples from a random place (drawn from <paramref name="rng"/>) in the recording
    /// called <paramref name="name"/>, looped if it is shorter than the excerpt.
    /// </summary>
    public float[] Excerpt(Random rng, int samples, string name)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (samples < 0) throw new InvalidSettingsException($"An excerpt cannot have {samples} samples.");
        var source = Clip(name).Samples;
        var excerpt = new float[samples];
        if (samples == 0) return excerpt;
        if (source.Length >= samples)
        {
            Array.Copy(source, rng.Next(source.Length - samples + 1), excerpt, 0, samples);
            return excerpt;
        }
        int at = rng.Next(source.Length);
        for (int filled = 0; filled < samples;)
        {
            int run = Math.Min(samples - filled, source.Length - at);
            Array.Copy(source, at, excerpt, filled, run);
            filled += run;
            at = 0;
        }
        return excerpt;
    }
}
