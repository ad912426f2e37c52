using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Audio;

/// <summary>
/// How one clip was made: its class, the word spoken (empty for silence), the speaker, the rate and pitch used, the noise
/// SNR in dB (NaN for a clean clip), the shift of the word from the clip's centre, whether it was band-limited to 4 kHz,
/// the speed factor it was resampled by, and the voice augmentations' draws: the vocal-tract warp α, the tempo, and the
/// room's RT60 in seconds (0: no room).
/// </summary>
public sealed record KeywordClip(int Label, string Word, string Speaker, int Rate, int Pitch, double SnrDb, double ShiftSeconds, bool Telephone, double Speed = 1,
    double Warp = 1, double Tempo = 1, double ReverbSeconds = 0)
{
    /// <summary>Whether noise was mixed in.</summary>
    public bool Noisy => !double.IsNaN(SnrDb);
}

/// <summary>One split of a keyword dataset: clips of equal length as 16-bit samples, with what each one is.</summary>
public sealed class KeywordSplit
{
    readonly short[] _samples;

    internal KeywordSplit(string name, int clipSamples, int sampleRate, short[] samples, IReadOnlyList<KeywordClip> clips)
    {
        if (samples.Length != (long)clipSamples * clips.Count)
            throw new InvalidFileException($"Split '{name}' has {samples.Length} samples for {clips.Count} clips of {clipSamples}.");
        Name = name;
        ClipSamples = clipSamples;
        SampleRate = sampleRate;
        _samples = samples;
        Clips = clips;
    }

    /// <summary>"train", "validation" or "test".</summary>
    public string Name { get; }

    /// <summary>Samples per clip.</summary>
    public int ClipSamples { get; }

    /// <summary>Sample rate of the clips (16 kHz).</summary>
    public int SampleRate { get; }

    /// <summary>What every clip is, in order.</summary>
    public IReadOnlyList<KeywordClip> Clips { get; }

    /// <summary>Number of clips.</summary>
    public int Count => Clips.Count;

    /// <summary>The class index of every clip.</summary>
    public int[] Labels => Clips.Select(c => c.Label).ToArray();

    /// <summary>The distinct speakers (voice identities) of this split.</summary>
    public IReadOnlyList<string> Speakers => Clips.Select(c => c.Speaker).Where(s => s.Length > 0).Distinct().ToList();

    /// <summary>Clip <paramref name="index"/> as float samples in −1 … 1.</summary>
    public float[] Audio(int index)
    {
        if ((uint)index >= (uint)Count) throw new InvalidSettingsException($"Split '{Name}' has clips 0..{Count - 1} (got {index}).");
        var audio = new float[ClipSamples];
        var source = _samples.AsSpan(index * ClipSamples, ClipSamples);
        for (int i = 0; i < audio.Length; i++) audio[i] = source[i] / 32768f;
        return audio;
    }

    /// <summary>The clips <paramref name="indices"/> (all when null) as a float tensor [N, ClipSamples] on <paramref name="device"/>.</summary>
    public Tensor AudioTensor(IReadOnlyList<int>? indices = null, Device? device = null)
    {
        var chosen = indices ?? Enumerable.Range(0, Count).ToArray();
        Core.TorchNative.EnsureLoaded();
        var buffer = new short[(long)chosen.Count * ClipSamples];
        for (int n = 0; n < chosen.Count; n++)
            _samples.AsSpan(chosen[n] * ClipSamples, ClipSamples).CopyTo(buffer.AsSpan(n * ClipSamples));
        using var raw = tensor(buffer, [chosen.Count, ClipSamples]);
        using var floats = raw.to_type(ScalarType.Float32);
        return floats.div(32768f).to(device ?? CPU);
    }

    /// <summary>The class indices as an int64 tensor.</summary>
    public Tensor LabelTensor(Device? device = null)
    {
        Core.TorchNative.EnsureLoaded();
        return tensor(Labels.Select(l => (long)l).ToArray()).to(device ?? CPU);
    }

    internal ReadOnlySpan<short> RawSamples => _samples;
}

/// <summary>
/// A keyword-spotting dataset made by <see cref="KeywordDatasetBuilder"/>: class names, and train, validation and test splits
/// spoken by disjoint sets of synthetic voices.
/// </summary>
public sealed class KeywordDataset
{
    internal KeywordDataset(KeywordDatasetOptions options, KeywordSplit train, KeywordSplit validation, KeywordSplit test, bool fromCache, TimeSpan buildTime)
    {
        Options = options;
        Train = train;
        Validation = validation;
        Test = test;
        FromCache = fromCache;
        BuildTime = buildTime;
    }

    /// <summary>The options it was made with.</summary>
    public KeywordDatasetOptions Options { get; }

    /// <summary>Class names in label order.</summary>
    public IReadOnlyList<string> Labels => Options.Labels;

    /// <summary>Training clips.</summary>
    public KeywordSplit Train { get; }

    /// <summary>Validation clips (voices not in train or test).</summary>
    public KeywordSplit Validation { get; }

    /// <summary>Test clips (voices not in train or validation).</summary>
    public KeywordSplit Test { get; }

    /// <summary>The three splits in order.</summary>
    public IReadOnlyList<KeywordSplit> Splits => [Train, Validation, Test];

    /// <summary>The split called <paramref name="name"/> ("train", "validation" or "test").</summary>
    public KeywordSplit Split(string name) =>
        Splits.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new InvalidSettingsException($"There is no split '{name}'; use train, validation or test.");

    /// <summary>Whether it was read from the disk cache rather than synthesised.</summary>
    public bool FromCache { get; }

    /// <summary>How long it took to make (or to read from the cache).</summary>
    public TimeSpan BuildTime { get; }

    /// <summary>Clips per class per split, for a summary table.</summary>
    public IReadOnlyList<(string Split, string Label, int Count)> ClassCounts =>
        Splits.SelectMany(s => Labels.Select((label, i) => (s.Name, label, s.Clips.Count(c => c.Label == i)))).ToList();

    /// <summary>Every (split, voice) pair.</summary>
    public IReadOnlyList<(string Split, string Voice)> VoicesBySplit =>
        Splits.SelectMany(s => s.Speakers.Select(v => (s.Name, v))).ToList();

    /// <summary>The SNR of every noisy clip, in dB.</summary>
    public IReadOnlyList<double> Snrs => Splits.SelectMany(s => s.Clips).Where(c => c.Noisy && c.Word.Length > 0).Select(c => c.SnrDb).ToList();

    /// <inheritdoc/>
    public override string ToString() =>
        $"KeywordDataset: {Labels.Count} classes, {Train.Count}/{Validation.Count}/{Test.Count} clips " +
        $"(train/validation/test) from {Train.Speakers.Count}/{Validation.Speakers.Count}/{Test.Speakers.Count} voices, " +
        $"{Options.ClipSeconds:0.##} s at {Options.SampleRate / 1000.0:0.#} kHz{(FromCache ? ", from the cache" : "")}";
}
