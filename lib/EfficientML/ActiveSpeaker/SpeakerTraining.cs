using EfficientML.Core;
using EfficientML.Vision;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.ActiveSpeaker;

/// <summary>How a detector trains: the project's training loop, with <see cref="TrainingOptions.BatchSize"/> scenes per step (every face of each), each cut to a random window.</summary>
public sealed record SpeakerTrainingOptions
{
    public TrainingOptions Training { get; init; } = new() { Steps = 500, BatchSize = 4, LearningRate = 2e-3, WarmupSteps = 30, EvalEvery = 100, WeightDecay = 0.01, Seed = 1 };

    /// <summary>Frames of each training window (5.12 s at 128); the whole scene when it is shorter.</summary>
    public int WindowFrames { get; init; } = 128;

    /// <summary>A short run (at most 60 steps), for tests and quick notebook runs.</summary>
    public SpeakerTrainingOptions Quick() => this with { Training = Training with { Steps = Math.Min(Training.Steps, 60), EvalEvery = 20, WarmupSteps = Math.Min(Training.WarmupSteps, 10) } };

    public SpeakerTrainingOptions Validate()
    {
        Training.Validate();
        if (WindowFrames < 8 || WindowFrames > 100_000) throw new InvalidSettingsException($"WindowFrames must be 8 to 100000 (got {WindowFrames}).");
        return this;
    }
}

/// <summary>How well a detector separates speaking from silent face-frames on a split.</summary>
/// <param name="AveragePrecision">Average precision of "speaking" over every face-frame (the mAP of active speaker detection).</param>
/// <param name="Accuracy">Share of face-frames right at probability 0.5.</param>
/// <param name="Loss">Mean binary cross-entropy.</param>
/// <param name="SpeakerRecall">Share of the speaker's speaking frames called speaking.</param>
/// <param name="FalseAlarms">Per kind of face that is not speaking (the speaker while silent, and each distractor kind), the share of its frames called speaking.</param>
public sealed record SpeakerScores(double AveragePrecision, double Accuracy, double Loss, double SpeakerRecall, IReadOnlyDictionary<string, double> FalseAlarms);

/// <summary>Training and scoring of <see cref="ActiveSpeakerModel"/>s on a <see cref="SpeakerDataset"/>.</summary>
public static class SpeakerTraining
{
    /// <summary>
    /// Trains <paramref name="model"/> on the training scenes; the validation loss is recorded every
    /// <see cref="TrainingOptions.EvalEvery"/> steps; the model's audio normalisation is set from the training scenes first. With
    /// the frame encoder frozen (<see cref="ActiveSpeakerModel.FreezeEncoder"/>; its normalisation is kept) every scene is
    /// embedded once and only the temporal model and the head train, on those embeddings.
    /// </summary>
    public static TrainingRun Train(ActiveSpeakerModel model, SpeakerDataset data, SpeakerTrainingOptions? options = null,
        Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        var o = (options ?? new SpeakerTrainingOptions()).Validate();
        return Train(model, data, o, NewRun(model.Config.Name, o, data), progress, cancellation);
    }

    /// <summary>A training record made beforehand, so a caller can follow it live before the first step.</summary>
    public static TrainingRun NewRun(string name, SpeakerTrainingOptions options, SpeakerDataset data)
    {
        var o = options.Validate();
        int window = Math.Min(o.WindowFrames, data.Train.Scenes.Min(s => s.Frames));
        return new TrainingRun(name, o.Training, (long)o.Training.BatchSize * window * data.Train.Scenes[0].Faces, item: "face-frame");
    }

    /// <summary>Trains into a record made by <see cref="NewRun"/>.</summary>
    public static TrainingRun Train(ActiveSpeakerModel model, SpeakerDataset data, SpeakerTrainingOptions options, TrainingRun run,
        Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        var o = options.Validate();
        var t = o.Training;
        var rng = new Random((int)t.Seed);
        var scenes = data.Train.Scenes;
        var evaluation = data.Validation.Scenes.Count > 0 ? data.Validation : data.Train;
        int window = Math.Min(o.WindowFrames, scenes.Min(s => s.Frames));
        bool frozen = model.EncoderFrozen;
        if (!frozen) model.SetAudioStatistics(data.TrainLogMel);
        var embedded = frozen ? Embeddings(model, scenes) : null;
        var validation = frozen ? Embeddings(model, evaluation.Scenes) : null;
        try
        {
            return Trainer.Run(model, _ =>
            {
                var inputs = new List<Tensor>();
                var crops = new List<Tensor>();
                var labels = new List<Tensor>();
                for (int b = 0; b < t.BatchSize; b++)
                {
                    int i = rng.Next(scenes.Count);
                    var s = scenes[i];
                    int start = rng.Next(s.Frames - window + 1);
                    labels.Add(s.Labels.narrow(1, start, window));
                    if (embedded is not null) { inputs.Add(embedded[i].narrow(1, start, window)); continue; }
                    inputs.Add(s.Audio.narrow(0, start, window).unsqueeze(0).expand(s.Faces, -1, -1));
                    crops.Add(s.Crops.narrow(1, start, window));
                }
                var logits = embedded is not null ? model.Temporal(cat(inputs, 0)) : model.Forward(cat(inputs, 0), cat(crops, 0));
                return F.binary_cross_entropy_with_logits(logits, cat(labels, 0));
            }, run, () => validation is null ? Score(model, evaluation).Loss : Loss(model, validation, evaluation.Scenes), progress, cancellation);
        }
        finally
        {
            foreach (var e in (embedded ?? []).Concat(validation ?? [])) e.Dispose();
        }
    }

    /// <summary>Every scene's per-frame embeddings, (faces, T, Width) each, computed once without gradients.</summary>
    static List<Tensor> Embeddings(ActiveSpeakerModel model, IReadOnlyList<SceneExample> scenes)
    {
        using var _ = no_grad();
        using var eval = new EvalMode(model);
        return scenes.Select(s => model.Embed(s.Audio.unsqueeze(0), s.Crops).DetachFromDisposeScope()).ToList();
    }

    static double Loss(ActiveSpeakerModel model, IReadOnlyList<Tensor> embedded, IReadOnlyList<SceneExample> scenes)
    {
        double sum = 0, count = 0;
        for (int i = 0; i < scenes.Count; i++)
        {
            sum += F.binary_cross_entropy_with_logits(model.Temporal(embedded[i]), scenes[i].Labels, reduction: nn.Reduction.Sum).item<float>();
            count += scenes[i].Labels.NumberOfElements;
        }
        return sum / count;
    }

    /// <summary>Speaking logits of every face and frame of a scene, the whole scene at once: (faces, T).</summary>
    public static Tensor Logits(ActiveSpeakerModel model, SceneExample scene)
    {
        using var _ = no_grad();
        using var eval = new EvalMode(model);
        return model.Forward(scene.Audio.unsqueeze(0).expand(scene.Faces, -1, -1), scene.Crops);
    }

    /// <summary>Scores a detector on every scene of <paramref name="split"/>, each run whole (equal to streaming it).</summary>
    public static SpeakerScores Score(ActiveSpeakerModel model, SpeakerSplit split) =>
        Score(split.Scenes, scene => { using var l = Logits(model, scene); return l.sigmoid().data<float>().ToArray(); });

    /// <summary>Scores speaking probabilities, (faces × T) per scene row by row, against the scenes' labels.</summary>
    public static SpeakerScores Score(IReadOnlyList<SceneExample> scenes, Func<SceneExample, float[]> probabilities)
    {
        var scores = new List<float>();
        var labels = new List<bool>();
        var groups = new List<string>();
        double loss = 0;
        foreach (var scene in scenes)
        {
            var p = probabilities(scene);
            for (int f = 0; f < scene.Faces; f++)
                for (int t = 0; t < scene.Frames; t++)
                {
                    bool speaking = scene.Scene.Speaking[f][t];
                    scores.Add(p[f * scene.Frames + t]);
                    labels.Add(speaking);
                    groups.Add(speaking ? "speaking" : scene.Scene.Kinds[f] is { } kind ? kind.ToString() : "speaker, silent");
                    double q = Math.Clamp(p[f * scene.Frames + t], 1e-7, 1 - 1e-7);
                    loss -= speaking ? Math.Log(q) : Math.Log(1 - q);
                }
        }
        int n = scores.Count;
        double correct = 0, hits = 0, positives = labels.Count(l => l);
        var alarms = new Dictionary<string, (int Called, int Count)>();
        for (int i = 0; i < n; i++)
        {
            bool called = scores[i] >= 0.5f;
            if (called == labels[i]) correct++;
            if (labels[i]) { if (called) hits++; continue; }
            var (c, k) = alarms.GetValueOrDefault(groups[i]);
            alarms[groups[i]] = (c + (called ? 1 : 0), k + 1);
        }
        return new SpeakerScores(AveragePrecision(scores, labels), correct / n, loss / n, positives > 0 ? hits / positives : double.NaN,
            alarms.OrderBy(a => a.Key).ToDictionary(a => a.Key, a => (double)a.Value.Called / a.Value.Count));
    }

    /// <summary>
    /// Average precision of scores for a binary label, as scikit-learn computes it: over the distinct scores from the highest
    /// down, the sum of each threshold's gain in recall times its precision (tied scores form one threshold, so a constant
    /// score earns the positive share). NaN without positives.
    /// </summary>
    public static double AveragePrecision(IReadOnlyList<float> scores, IReadOnlyList<bool> labels)
    {
        if (scores.Count != labels.Count) throw new ArgumentException("One label per score.");
        double positives = labels.Count(l => l);
        if (positives == 0) return double.NaN;
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        double hits = 0, sum = 0, recalled = 0;
        for (int r = 0; r < order.Length; r++)
        {
            if (labels[order[r]]) hits++;
            if (r + 1 < order.Length && scores[order[r + 1]] == scores[order[r]]) continue;   // the threshold takes every tied score
            sum += (hits / positives - recalled) * (hits / (r + 1));
            recalled = hits / positives;
        }
        return sum;
    }
}
