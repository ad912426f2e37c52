using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EfficientML.Core;

namespace EfficientML.Audio;

/// <summary>
/// Keyword datasets on disk, one file per set of options (named by a hash of them): a JSON header with every clip's
/// description, then the 16-bit samples. Reading one back gives exactly the samples the build made.
/// </summary>
public sealed class KeywordDatasetCache
{
    const string Magic = "EFML-KWS";
    const int FormatVersion = 1;

    /// <summary>The folder the files live in.</summary>
    public string Folder { get; }

    /// <summary>A cache in <paramref name="folder"/> (default <see cref="DefaultFolder"/>).</summary>
    public KeywordDatasetCache(string? folder = null) => Folder = folder ?? DefaultFolder;

    /// <summary><c>artifacts/cache/keywords</c> next to the repository's <c>datasets/</c> folder.</summary>
    public static string DefaultFolder => Path.GetFullPath(Path.Combine(ProjectPaths.Datasets, "..", "artifacts", "cache", "keywords"));

    /// <summary>The file that holds (or would hold) the dataset for <paramref name="options"/>.</summary>
    public string PathFor(KeywordDatasetOptions options) => Path.Combine(Folder, $"keywords-{Key(options)}.bin");

    /// <summary>A short hash of everything that decides the dataset's content.</summary>
    public static string Key(KeywordDatasetOptions options)
    {
        var description = JsonSerializer.Serialize(new
        {
            FormatVersion,
            options.Keywords, options.UnknownWords, options.IncludeUnknown, options.IncludeSilence,
            options.TrainSpeakers, options.ValidationSpeakers, options.TestSpeakers, options.RepeatsPerSpeaker,
            options.UnknownPerSpeaker, options.SilencePerSpeaker, options.ClipSeconds, options.MaxShiftSeconds,
            options.MinSnrDb, options.MaxSnrDb, options.NoiseShare, options.TelephoneShare, options.RateJitter, options.PitchJitter, options.SpeedPerturbation,
            options.Seed, SpeakerCatalog.Accents, SpeakerCatalog.Variants,
        });
        // Festival joined later: a dataset without it keeps the key it always had.
        if (options.FestivalShare > 0)
            description += JsonSerializer.Serialize(new { options.FestivalShare, Festival = FestivalSynthesizer.KnownVoices.Select(v => v.Voice) });
        // So did the voice augmentations: without them, the key stays as it was.
        if (options.AugmentsVoices)
            description += JsonSerializer.Serialize(new
            {
                options.VocalTractWarp, options.TempoPerturbation, options.ReverbShare,
                KeywordDatasetOptions.MinReverbSeconds, KeywordDatasetOptions.MaxReverbSeconds,
            });
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(description)))[..16].ToLowerInvariant();
    }

    /// <summary>The cached dataset for <paramref name="options"/>, or null when there is none (or it cannot be read).</summary>
    public KeywordDataset? TryLoad(KeywordDatasetOptions options)
    {
        var path = PathFor(options);
        if (!File.Exists(path)) return null;
        var watch = Stopwatch.StartNew();
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            if (reader.ReadString() != Magic || reader.ReadInt32() != FormatVersion) return null;
            var splits = new KeywordSplit[3];
            for (int s = 0; s < 3; s++)
            {
                var name = reader.ReadString();
                var clips = JsonSerializer.Deserialize<List<KeywordClip>>(reader.ReadString(), JsonOptions)
                    ?? throw new InvalidFileException("no clip list");
                var samples = new short[reader.ReadInt64()];
                reader.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(samples.AsSpan()));
                splits[s] = new KeywordSplit(name, options.ClipSamples, options.SampleRate, samples, clips);
            }
            return new KeywordDataset(options, splits[0], splits[1], splits[2], fromCache: true, watch.Elapsed);
        }
        catch (Exception e) when (e is IOException or InvalidFileException or JsonException or EndOfStreamException)
        {
            return null;                                                                  // a damaged file is rebuilt and overwritten
        }
    }

    /// <summary>Writes <paramref name="dataset"/> (atomically: a temporary file, then a rename).</summary>
    public void Save(KeywordDataset dataset)
    {
        Directory.CreateDirectory(Folder);
        var path = PathFor(dataset.Options);
        var temporary = path + $".{Environment.ProcessId}.tmp";
        using (var writer = new BinaryWriter(File.Create(temporary)))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            foreach (var split in dataset.Splits)
            {
                writer.Write(split.Name);
                writer.Write(JsonSerializer.Serialize(split.Clips, JsonOptions));
                writer.Write((long)split.RawSamples.Length);
                writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(split.RawSamples));
            }
        }
        File.Move(temporary, path, overwrite: true);
    }

    static readonly JsonSerializerOptions JsonOptions = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
}
