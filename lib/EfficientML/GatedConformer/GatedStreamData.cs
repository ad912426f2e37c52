using EfficientML.Audio;
using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.GatedConformer;

/// <summary>What a recording holds: words in noise, noise only, or near-silence.</summary>
public enum StreamKind { Speech, Noise, Silence }

/// <summary>
/// One long recording with its per-step training targets: the raw log-mel <see cref="Features"/> (mels, frames), per
/// step the class (a keyword from the middle of the word to <see cref="GatedStreamOptions.TailSteps"/> after its end,
/// ignored (−100) in the word's first half, where a causal model cannot yet know it, otherwise "none"), and for keyword
/// steps the bounds (steps back to the start, on to the end, ÷ 10).
/// </summary>
public sealed class LabelledStream : IDisposable
{
    internal LabelledStream(StreamKind kind, float[] samples, IReadOnlyList<KeywordEvent> events, Tensor features, int[] labels, float[,] bounds,
        bool[] speech, double stepSeconds)
    {
        (Kind, Samples, Events, Features, StepLabels, StepBounds, StepSpeech, StepSeconds) = (kind, samples, events, features, labels, bounds, speech, stepSeconds);
    }

    public StreamKind Kind { get; }
    public float[] Samples { get; }
    public IReadOnlyList<KeywordEvent> Events { get; }
    public Tensor Features { get; }
    public int[] StepLabels { get; }
    public float[,] StepBounds { get; }
    /// <summary>Per step, whether a word (a keyword or any other) is sounding or its label's tail still runs.</summary>
    public bool[] StepSpeech { get; }
    public double StepSeconds { get; }
    public int Steps => StepLabels.Length;
    /// <summary>Samples per second of <see cref="Samples"/>.</summary>
    public int SampleRate => SpeechSynthesizer.SampleRate;
    public double Seconds => (double)Samples.Length / SampleRate;

    public void Dispose() => Features.Dispose();
}

/// <summary>
/// Training crops: raw log-mel features (B, mels, frames), per-step labels (B, T), keyword bounds (B, T, 2), where bounds
/// apply (B, T), and where a word sounds (B, T), which the cost may weigh (<see cref="GatedTrainingOptions.SpeechPullScale"/>).
/// </summary>
public sealed record GatedBatch(Tensor Features, Tensor Labels, Tensor Bounds, Tensor HasBounds, Tensor Speech) : IDisposable
{
    public void Dispose()
    {
        Features.Dispose();
        Labels.Dispose();
        Bounds.Dispose();
        HasBounds.Dispose();
        Speech.Dispose();
    }
}

/// <summary>Sizes of the streaming data: how many recordings of each kind, how long, how noisy.</summary>
public sealed record GatedStreamOptions
{
    /// <summary>Keywords, voices and their train/validation/test split (the keyword dataset's).</summary>
    public KeywordDatasetOptions Words { get; init; } = new() { TrainSpeakers = 120, ValidationSpeakers = 16, TestSpeakers = 24 };

    public int TrainStreams { get; init; } = 24;
    public int TrainNoiseStreams { get; init; } = 8;
    public int ValidationStreams { get; init; } = 2;
    public int TestStreams { get; init; } = 12;
    public int TestNoiseStreams { get; init; } = 8;
    public double StreamSeconds { get; init; } = 60;
    public double MinSnrDb { get; init; } = 5;
    public double MaxSnrDb { get; init; } = 20;
    /// <summary>Share of words that are keywords (the rest are other words, class "none").</summary>
    public double KeywordShare { get; init; } = 0.6;
    /// <summary>Steps after a keyword's end still labelled with it.</summary>
    public int TailSteps { get; init; } = 5;
    public int Seed { get; init; }

    /// <summary>A few short recordings, for tests and quick notebook runs.</summary>
    public GatedStreamOptions Quick() => this with
    {
        Words = Words.Quick(), TrainStreams = 4, TrainNoiseStreams = 2, ValidationStreams = 1, TestStreams = 1, TestNoiseStreams = 1, StreamSeconds = 20,
    };

    public GatedStreamOptions Validate()
    {
        Words.Validate();
        if (TrainStreams < 1 || TrainStreams > 1000) throw new InvalidSettingsException($"TrainStreams must be 1 to 1000 (got {TrainStreams}).");
        if (TestStreams < 1 || TestStreams > 1000) throw new InvalidSettingsException($"TestStreams must be 1 to 1000 (got {TestStreams}).");
        foreach (var (name, value) in new[] { (nameof(TrainNoiseStreams), TrainNoiseStreams), (nameof(ValidationStreams), ValidationStreams), (nameof(TestNoiseStreams), TestNoiseStreams) })
            if (value < 0 || value > 1000) throw new InvalidSettingsException($"{name} must be 0 to 1000 (got {value}).");
        if (!(StreamSeconds >= 3 && StreamSeconds <= 3600)) throw new InvalidSettingsException($"A recording lasts 3 to 3600 seconds (got {StreamSeconds}).");
        if (!(MinSnrDb <= MaxSnrDb) || !double.IsFinite(MinSnrDb) || !double.IsFinite(MaxSnrDb)) throw new InvalidSettingsException("Give MinSnrDb ≤ MaxSnrDb, in decibels.");
        if (!(KeywordShare >= 0 && KeywordShare <= 1)) throw new InvalidSettingsException($"The keyword share lies in 0…1 (got {KeywordShare}).");
        if (TailSteps < 0 || TailSteps > 100) throw new InvalidSettingsException($"TailSteps must be 0 to 100 (got {TailSteps}).");
        return this;
    }
}

/// <summary>
/// The recordings a gated spotter trains and is tested on: long streams of words at known times in noise (the speech
/// stack's streaming mode, voices of each split only), and streams of noise only and of near-silence. Deterministic for
/// a seed.
/// </summary>
public sealed class GatedStreamData : IDisposable
{
    GatedStreamData(GatedStreamOptions options, IReadOnlyList<string> labels, List<LabelledStream> train, List<LabelledStream> validation,
        List<LabelledStream> test, List<LabelledStream> testNoise)
    {
        (Options, Labels, Train, Validation, Test, TestNoise) = (options, labels, train, validation, test, testNoise);
    }

    public GatedStreamOptions Options { get; }
    /// <summary>Class names: the keywords, then "_none_".</summary>
    public IReadOnlyList<string> Labels { get; }
    public IReadOnlyList<LabelledStream> Train { get; }
    public IReadOnlyList<LabelledStream> Validation { get; }
    /// <summary>Speech streams by test voices.</summary>
    public IReadOnlyList<LabelledStream> Test { get; }
    /// <summary>Noise-only and near-silent streams for testing.</summary>
    public IReadOnlyList<LabelledStream> TestNoise { get; }

    /// <summary>Seconds of audio in all streams.</summary>
    public double Seconds => Train.Concat(Validation).Concat(Test).Concat(TestNoise).Sum(s => s.Seconds);

    /// <summary>Builds every recording with espeak-ng and the noise library, then their log-mel features.</summary>
    public static GatedStreamData Build(GatedStreamOptions options, GatedConformerConfig config, string? espeakLibrary = null, NoiseLibrary? noise = null)
    {
        options.Validate();
        config.Validate();
        if (options.Words.Keywords.Count != config.Keywords)
            throw new InvalidSettingsException($"The model has {config.Keywords} keywords but the data {options.Words.Keywords.Count}: make them agree.");
        var make = new RecordingMaker(options, config, espeakLibrary, noise ?? NoiseLibrary.Load());
        var train = Enumerable.Range(0, options.TrainStreams).Select(i => make.Speech("train", i))
            .Concat(Enumerable.Range(0, options.TrainNoiseStreams).Select(i => make.NoiseOnly(i))).ToList();
        var validation = Enumerable.Range(0, options.ValidationStreams).Select(i => make.Speech("validation", 10_000 + i)).ToList();
        var test = Enumerable.Range(0, options.TestStreams).Select(i => make.Speech("test", 20_000 + i)).ToList();
        var testNoise = Enumerable.Range(0, options.TestNoiseStreams).Select(i => make.NoiseOnly(30_000 + i)).ToList();
        make.Dispose();
        return new GatedStreamData(options, LabelsOf(options), train, validation, test, testNoise);
    }

    /// <summary>The classes of a spotter trained on <paramref name="options"/>' words: the keywords, then "_none_".</summary>
    public static IReadOnlyList<string> LabelsOf(GatedStreamOptions options) =>
        options.Words.Keywords.Select(KeywordDatasetOptions.Normalise).Append("_none_").ToList();

    /// <summary>
    /// One test recording of <paramref name="kind"/> (test voices; noise only; near-silence), <see cref="GatedStreamOptions.StreamSeconds"/>
    /// long, deterministic for <see cref="GatedStreamOptions.Seed"/>.
    /// </summary>
    public static LabelledStream Recording(GatedStreamOptions options, GatedConformerConfig config, StreamKind kind, string? espeakLibrary = null)
    {
        options.Validate();
        using var make = new RecordingMaker(options, config, espeakLibrary, NoiseLibrary.Load());
        return kind switch
        {
            StreamKind.Speech => make.Speech("test", 40_000),
            StreamKind.Noise => make.NoiseOnly(40_000),
            _ => make.NoiseOnly(40_003),
        };
    }

    /// <summary>Makes labelled recordings: words at known times in noise, noise only, near-silence.</summary>
    sealed class RecordingMaker(GatedStreamOptions options, GatedConformerConfig config, string? espeakLibrary, NoiseLibrary noise) : IDisposable
    {
        readonly LogMel _logMel = new(new LogMelOptions { Mels = config.Mels });
        readonly KeywordDatasetOptions _words = options.Words with { IncludeUnknown = true };
        readonly Random _rng = new(options.Seed);
        double Step => config.StackFrames * _logMel.Options.HopMs / 1000;

        public LabelledStream Speech(string split, int index)
        {
            double snr = options.MinSnrDb + (options.MaxSnrDb - options.MinSnrDb) * _rng.NextDouble();
            var stream = KeywordStream.Build(_words, options.StreamSeconds, split, seed: options.Seed * 7919 + index, keywordShare: options.KeywordShare,
                snrDb: snr, espeakLibrary: espeakLibrary, noise: noise);
            return Label(StreamKind.Speech, stream.Samples, stream.Events, _logMel, config, options.TailSteps, Step);
        }

        /// <summary>Noise only; every fourth index near-digital silence.</summary>
        public LabelledStream NoiseOnly(int index)
        {
            var local = new Random(options.Seed * 104729 + index);
            int samples = (int)Math.Round(options.StreamSeconds * _words.SampleRate);
            var audio = noise.Excerpt(local, samples);
            bool silent = index % 4 == 3;                                            // every fourth: near-digital silence
            double level = silent ? 1e-4 : Math.Pow(10, -2.5 + 1.5 * local.NextDouble()); // RMS 0.003 … 0.1
            float scale = (float)(level / Math.Max(AudioMixing.Rms(audio), 1e-9));
            for (int i = 0; i < audio.Length; i++) audio[i] *= scale;
            return Label(silent ? StreamKind.Silence : StreamKind.Noise, audio, [], _logMel, config, options.TailSteps, Step);
        }

        public void Dispose() => _logMel.Dispose();
    }

    /// <summary>Per-step targets of a recording (see <see cref="LabelledStream"/>).</summary>
    internal static LabelledStream Label(StreamKind kind, float[] samples, IReadOnlyList<KeywordEvent> events, LogMel logMel,
        GatedConformerConfig config, int tail, double stepSeconds)
    {
        var features = logMel.Compute(samples).DetachFromDisposeScope();              // (mels, frames)
        int steps = (int)(features.shape[1] / config.FramesPerGate * config.GateSteps);
        var labels = Enumerable.Repeat(config.NoneClass, steps).ToArray();
        var bounds = new float[steps, 2];
        var speech = new bool[steps];
        foreach (var e in events)
        {
            int s0 = (int)Math.Floor(e.Start / stepSeconds), s1 = (int)Math.Ceiling(e.End / stepSeconds), mid = (s0 + s1) / 2;
            for (int t = Math.Max(0, s0); t < Math.Min(steps, s1 + tail); t++) speech[t] = true;
            if (e.Label < 0 || e.Label >= config.Keywords) continue;                 // another word: "none", but speech
            for (int t = Math.Max(0, s0); t < Math.Min(steps, mid); t++) labels[t] = -100;
            for (int t = Math.Max(0, mid); t < Math.Min(steps, s1 + tail); t++)
            {
                labels[t] = e.Label;
                bounds[t, 0] = (t - s0) / 10f;
                bounds[t, 1] = (s1 - t) / 10f;
            }
        }
        return new LabelledStream(kind, samples, events, features, labels, bounds, speech, stepSeconds);
    }

    /// <summary>
    /// A training batch: <paramref name="batch"/> crops of <paramref name="cropSteps"/> steps at random places in random
    /// training recordings (see <see cref="GatedBatch"/>).
    /// </summary>
    public GatedBatch Batch(Random rng, int batch, int cropSteps, GatedConformerConfig config) => Crops(Train, rng, batch, cropSteps, config);

    /// <summary>Like <see cref="Batch"/>, from <paramref name="streams"/>.</summary>
    public static GatedBatch Crops(IReadOnlyList<LabelledStream> streams, Random rng, int batch, int cropSteps, GatedConformerConfig config)
    {
        var features = new List<Tensor>();
        var labels = new long[batch * cropSteps];
        var bounds = new float[batch * cropSteps * 2];
        var has = new bool[batch * cropSteps];
        var speech = new bool[batch * cropSteps];
        for (int b = 0; b < batch; b++)
        {
            var stream = streams[rng.Next(streams.Count)];
            int start = rng.Next(Math.Max(1, stream.Steps - cropSteps + 1));
            features.Add(stream.Features.narrow(1, start * config.StackFrames, cropSteps * config.StackFrames));
            for (int t = 0; t < cropSteps; t++)
            {
                int i = b * cropSteps + t, label = stream.StepLabels[start + t];
                labels[i] = label;
                has[i] = label >= 0 && label < config.Keywords;
                speech[i] = stream.StepSpeech[start + t];
                bounds[2 * i] = stream.StepBounds[start + t, 0];
                bounds[2 * i + 1] = stream.StepBounds[start + t, 1];
            }
        }
        return new GatedBatch(stack(features), tensor(labels).view(batch, cropSteps), tensor(bounds).view(batch, cropSteps, 2),
            tensor(has).view(batch, cropSteps), tensor(speech).view(batch, cropSteps));
    }

    public void Dispose()
    {
        foreach (var s in Train.Concat(Validation).Concat(Test).Concat(TestNoise)) s.Dispose();
    }
}
