using System.Diagnostics;
using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.GatedConformer;

/// <summary>Everything the gated-versus-ungated comparison needs: model sizes, data, training, decision rule, timing.</summary>
public sealed record GatedExperimentOptions
{
    public GatedConformerConfig Model { get; init; } = new();
    public GatedStreamOptions Data { get; init; } = new();
    public GatedTrainingOptions Training { get; init; } = new();
    public DetectorOptions Detector { get; init; } = new();
    /// <summary>Frames per pushed chunk when streaming (16 = 160 ms).</summary>
    public int ChunkFrames { get; init; } = 16;
    /// <summary>Timing rounds; each round times both models on speech and on noise, alternately.</summary>
    public int TimingRounds { get; init; } = 5;

    /// <summary>A few short recordings and a 20-step training: checks that everything runs; its figures mean nothing.</summary>
    public GatedExperimentOptions Quick() => this with { Data = Data.Quick(), Training = Training.Quick(), TimingRounds = 1 };

    public GatedExperimentOptions Validate()
    {
        Model.Validate();
        Data.Validate();
        Training.Validate(Model);
        Detector.Validate();
        if (ChunkFrames < 1 || ChunkFrames > 100_000) throw new InvalidSettingsException($"A chunk holds 1 to 100000 frames (got {ChunkFrames}).");
        if (TimingRounds < 1 || TimingRounds > 1000) throw new InvalidSettingsException($"Timing rounds must be 1 to 1000 (got {TimingRounds}).");
        return this;
    }
}

/// <summary>One spotter on the test recordings, run as a stream.</summary>
public sealed record SpotterEvaluation(
    string Name,
    DetectionScore Detection,
    int WordsCorrect,
    int Words,
    double SkippedOnSpeech,
    double SkippedOnNoise,
    IReadOnlyDictionary<ConformerModuleKind, double> SkippedOnSpeechByKind,
    IReadOnlyDictionary<ConformerModuleKind, double> SkippedOnNoiseByKind,
    int NoiseFalseAlarms,
    double NoiseSeconds,
    GateRun SpeechExample,
    GateRun? NoiseExample)
{
    /// <summary>Share of words (keywords and others) given their right class.</summary>
    public double WordAccuracy => Words == 0 ? 0 : (double)WordsCorrect / Words;
    public double NoiseFalseAlarmsPerHour => NoiseSeconds == 0 ? 0 : NoiseFalseAlarms * 3600 / NoiseSeconds;
}

/// <summary>Compute per second of audio, both models timed alternately in one run (medians over rounds).</summary>
public sealed record StreamTiming(double UngatedSpeech, double GatedSpeech, double UngatedNoise, double GatedNoise, int Rounds)
{
    public double SpeechSpeedup => UngatedSpeech / GatedSpeech;
    public double NoiseSpeedup => UngatedNoise / GatedNoise;
}

/// <summary>
/// The gated spotter against the same conformer without gates (same data, seed, starting weights and budget), with both
/// trained models (the caller owns and disposes them).
/// </summary>
public sealed record GatedReport(GatedExperimentOptions Options, IReadOnlyList<string> Labels, SpotterEvaluation Ungated, SpotterEvaluation Gated,
    TrainingRun UngatedRun, TrainingRun GatedRun, StreamTiming Timing, double DataSeconds, TimeSpan DataBuildTime, long Parameters, long GateParameters,
    ConformerSpotter UngatedModel, ConformerSpotter GatedModel)
{
    /// <summary>Share of module runs the gated model skipped on noise-only recordings.</summary>
    public double SkippedOnNoise => Gated.SkippedOnNoise;

    /// <summary>Per-word accuracy, gated minus ungated, in points.</summary>
    public double AccuracyChangePoints => 100 * (Gated.WordAccuracy - Ungated.WordAccuracy);
}

/// <summary>Trains and compares a gated and an ungated streaming conformer spotter.</summary>
public static partial class GatedExperiment
{
    /// <summary>
    /// Builds the recordings, trains the ungated model, then the gated one from the same starting weights (plus its
    /// gates) with the same budget, learning from the labels and, by <see cref="GatedTrainingOptions.DistillWeight"/>, from
    /// the ungated model as its teacher; evaluates both as streams and times them alternately.
    /// </summary>
    public static GatedReport Run(GatedExperimentOptions options, Action<string>? log = null, Action<TrainingRun>? progress = null,
        CancellationToken cancellation = default, TrainingRun? ungatedRun = null, TrainingRun? gatedRun = null)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        using var data = GatedStreamData.Build(options.Data, options.Model);
        var buildTime = clock.Elapsed;
        log?.Invoke($"{data.Seconds / 60:0.#} minutes of audio in {buildTime.TotalSeconds:0.#} s");
        return Run(options, data, buildTime, progress, cancellation, ungatedRun, gatedRun);
    }

    /// <summary>Like <see cref="Run(GatedExperimentOptions, Action{string}?, Action{TrainingRun}?, CancellationToken, TrainingRun?, TrainingRun?)"/>, on recordings already built from <paramref name="options"/>' data options.</summary>
    public static GatedReport Run(GatedExperimentOptions options, GatedStreamData data, TimeSpan buildTime, Action<TrainingRun>? progress = null,
        CancellationToken cancellation = default, TrainingRun? ungatedRun = null, TrainingRun? gatedRun = null)
    {
        options.Validate();
        Seeding.Everything(options.Training.Training.Seed);
        var ungated = new ConformerSpotter(options.Model with { Gated = false });
        var gated = new ConformerSpotter(options.Model with { Gated = true });
        try
        {
            CopyShared(ungated, gated);
            ungatedRun = GatedTraining.Train(ungated, data, options.Training, ungatedRun ?? GatedTraining.NewRun("conformer", options.Training), progress, cancellation).ThrowIfDiverged();
            cancellation.ThrowIfCancellationRequested();
            gatedRun = GatedTraining.Train(gated, data, options.Training, gatedRun ?? GatedTraining.NewRun("gated conformer", options.Training), progress, cancellation,
                teacher: ungated).ThrowIfDiverged();
            cancellation.ThrowIfCancellationRequested();
            var a = Evaluate(ungated, "conformer", data, options);
            var b = Evaluate(gated, "gated conformer", data, options);
            var timing = Time(ungated, gated, data, options);
            long gateParameters = gated.blocks.SelectMany(x => x.gates).Sum(g => g.parameters().Sum(p => p.numel()));
            return new GatedReport(options, data.Labels, a, b, ungatedRun, gatedRun, timing, data.Seconds, buildTime, ungated.ParameterCount, gateParameters,
                ungated, gated);
        }
        catch
        {
            ungated.Dispose();
            gated.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="model"/> as a stream over every test recording and scores it.</summary>
    public static SpotterEvaluation Evaluate(ConformerSpotter model, string name, GatedStreamData data, GatedExperimentOptions options)
    {
        var keywords = model.Config.Keywords;
        var speech = data.Test.Select(s => (Stream: s, Output: ConformerStream.Run(model, s.Features, options.ChunkFrames))).ToList();
        var noise = data.TestNoise.Select(s => (Stream: s, Output: ConformerStream.Run(model, s.Features, options.ChunkFrames))).ToList();
        var detection = DetectionScore.Sum(speech.Select(p => StreamingDetector.Score(
            StreamingDetector.Detect(p.Output, data.Labels, options.Detector), p.Stream.Events, keywords, p.Stream.Seconds, options.Detector)));
        var words = speech.Select(p => StreamingDetector.ClassifyWords(p.Output, p.Stream, keywords, options.Data.TailSteps)).ToList();
        int noiseAlarms = noise.Sum(p => StreamingDetector.Detect(p.Output, data.Labels, options.Detector).Count);
        static double Skipped(IEnumerable<StreamOutput> outputs)
        {
            var list = outputs.ToList();
            return list.Count == 0 ? double.NaN : list.Average(o => o.SkippedShare);
        }
        static IReadOnlyDictionary<ConformerModuleKind, double> ByKind(IEnumerable<StreamOutput> outputs)
        {
            var list = outputs.Select(o => o.SkippedShareByKind()).ToList();
            return Enum.GetValues<ConformerModuleKind>().ToDictionary(k => k, k => list.Count == 0 ? double.NaN : list.Average(d => d[k]));
        }
        return new SpotterEvaluation(name, detection, words.Sum(w => w.Correct), words.Sum(w => w.Total),
            Skipped(speech.Select(p => p.Output)), Skipped(noise.Select(p => p.Output)), ByKind(speech.Select(p => p.Output)),
            ByKind(noise.Select(p => p.Output)), noiseAlarms, noise.Sum(p => p.Stream.Seconds),
            GateRun.Of(model, name, data.Test[0], data.Labels, options.Detector, options.ChunkFrames),
            noise.Count > 0 ? GateRun.Of(model, name, data.TestNoise[0], data.Labels, options.Detector, options.ChunkFrames) : null);
    }

    /// <summary>
    /// Seconds of compute per second of audio for both models on the first test recording of speech and of noise, timed
    /// alternately (ungated, gated, ungated, gated …) so a busy machine slows both alike; medians over the rounds.
    /// </summary>
    public static StreamTiming Time(ConformerSpotter ungated, ConformerSpotter gated, GatedStreamData data, GatedExperimentOptions options)
    {
        var speech = data.Test[0];
        var noise = data.TestNoise.Count > 0 ? data.TestNoise[0] : speech;
        Action Stream(ConformerSpotter model, LabelledStream stream) => () => ConformerStream.Run(model, stream.Features, options.ChunkFrames);
        var ms = Latency.Medians([Stream(ungated, speech), Stream(gated, speech), Stream(ungated, noise), Stream(gated, noise)],
            repeats: options.TimingRounds, warmup: 1);
        double speechMs = speech.Seconds * 1000, noiseMs = noise.Seconds * 1000;
        return new StreamTiming(ms[0] / speechMs, ms[1] / speechMs, ms[2] / noiseMs, ms[3] / noiseMs, options.TimingRounds);
    }

    /// <summary>
    /// Copies every weight and buffer <paramref name="to"/> shares with <paramref name="from"/> (all but the gates), so a
    /// gated model starts from the ungated one's initial weights.
    /// </summary>
    public static void CopyShared(ConformerSpotter from, ConformerSpotter to)
    {
        using var _ = no_grad();
        var source = from.state_dict();
        foreach (var (name, tensor) in to.state_dict())
            if (source.TryGetValue(name, out var value)) tensor.copy_(value);
            else if (!name.Contains(".gates.")) throw new InvalidSettingsException($"The models differ in more than their gates ('{name}').");
    }
}
