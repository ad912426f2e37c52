using EfficientML.Audio;
using EfficientML.Core;
using TorchSharp;

namespace EfficientML.GatedConformer;

/// <summary>
/// One recording run through a spotter as a stream: the audio, the words really said, what the model computed step by
/// step (posteriors, bounds, which modules ran), the detections (each a hit or a false alarm) and their score. What the
/// gate raster draws.
/// </summary>
public sealed record GateRun(string Model, float[] Samples, int SampleRate, IReadOnlyList<KeywordEvent> Events, StreamKind Kind,
    IReadOnlyList<string> Labels, StreamOutput Output, IReadOnlyList<KeywordDetection> Detections, IReadOnlyList<bool> Hits, DetectionScore Score,
    TimeSpan Compute)
{
    public double Seconds => (double)Samples.Length / SampleRate;

    /// <summary>Runs <paramref name="model"/> over <paramref name="stream"/> in chunks of <paramref name="chunkFrames"/> frames.</summary>
    public static GateRun Of(ConformerSpotter model, string name, LabelledStream stream, IReadOnlyList<string> labels, DetectorOptions? detector = null,
        int chunkFrames = 16)
    {
        detector = (detector ?? new DetectorOptions()).Validate();
        if (labels.Count != model.Config.Classes)
            throw new InvalidSettingsException($"The model has {model.Config.Classes} classes but {labels.Count} labels were given.");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var output = ConformerStream.Run(model, stream.Features, chunkFrames);
        var compute = clock.Elapsed;
        var detections = StreamingDetector.Detect(output, labels, detector);
        var score = StreamingDetector.Score(detections, stream.Events, model.Config.Keywords, stream.Seconds, detector);
        var hits = StreamingDetector.Match(detections, stream.Events, model.Config.Keywords, detector).Select(m => m >= 0).ToList();
        return new GateRun(name, stream.Samples, stream.SampleRate, stream.Events, stream.Kind, labels, output, detections, hits, score, compute);
    }

    /// <summary>
    /// A new recording (test voices, seeded) of <paramref name="kind"/> for <paramref name="model"/>: words in noise, noise
    /// only, or near-silence, <paramref name="seconds"/> long, run as a stream.
    /// </summary>
    public static GateRun OnNewRecording(ConformerSpotter model, string name, StreamKind kind, double seconds = 20, int seed = 1,
        GatedStreamOptions? data = null, DetectorOptions? detector = null, int chunkFrames = 16)
    {
        data ??= new GatedStreamOptions();
        var options = data with { StreamSeconds = seconds, Seed = seed, TrainStreams = 1 };
        options.Validate();
        using var stream = GatedStreamData.Recording(options, model.Config, kind);
        return Of(model, name, stream, GatedStreamData.LabelsOf(options), detector, chunkFrames);
    }
}
