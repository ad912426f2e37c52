using EfficientML.Core;
using static TorchSharp.torch;

namespace EfficientML.ActiveSpeaker;

/// <summary>
/// The (P, F) study: a frame encoder is trained once (each frame alone, P = F = 0) and frozen; then, on its embeddings, a
/// transformer for every (P, F) of the grid and the uni-directional GRU train with the same seed, data and steps. Each is
/// scored on the test scenes and streamed to time a frame and to count the bytes it keeps.
/// </summary>
public sealed record ContextGridOptions
{
    public IReadOnlyList<int> Pasts { get; init; } = [0, 4, 8, 16, 32, 64];
    public IReadOnlyList<int> Futures { get; init; } = [0, 2, 4, 8];

    /// <summary>Train and score the uni-directional GRU too.</summary>
    public bool Gru { get; init; } = true;

    /// <summary>Widths, heads and layers of every model (its P, F and kind are set per point).</summary>
    public ActiveSpeakerConfig Model { get; init; } = new();

    /// <summary>Training of the shared frame encoder (with a frame-only head).</summary>
    public SpeakerTrainingOptions EncoderTraining { get; init; } = new();

    /// <summary>Training of each temporal model on the frozen encoder's embeddings.</summary>
    public SpeakerTrainingOptions Training { get; init; } = new() { Training = new SpeakerTrainingOptions().Training with { Steps = 600, LearningRate = 3e-3 } };

    /// <summary>Rounds of streaming frame timing (every model one frame per round, in turn).</summary>
    public int TimingFrames { get; init; } = 200;

    public int Seed { get; init; } = 1;

    /// <summary>Short trainings and, when the grid has more than six points, a grid of six, for tests and quick notebook runs.</summary>
    public ContextGridOptions Quick()
    {
        bool small = Pasts.Count * Futures.Count <= 6;
        return this with
        {
            Pasts = small ? Pasts : [0, 8, 32], Futures = small ? Futures : [0, 4], EncoderTraining = EncoderTraining.Quick(), Training = Training.Quick(),
            TimingFrames = Math.Min(TimingFrames, 30),
        };
    }

    public ContextGridOptions Validate()
    {
        if (Pasts.Count == 0 || Futures.Count == 0) throw new InvalidSettingsException("Give at least one past and one future context.");
        foreach (int p in Pasts) foreach (int f in Futures) (Model with { Past = p, Future = f }).Validate();
        if (Pasts.Distinct().Count() != Pasts.Count || Futures.Distinct().Count() != Futures.Count) throw new InvalidSettingsException("List each past and future context once.");
        EncoderTraining.Validate();
        Training.Validate();
        if (TimingFrames < 1 || TimingFrames > 100_000) throw new InvalidSettingsException($"TimingFrames must be 1 to 100000 (got {TimingFrames}).");
        return this;
    }
}

/// <summary>One trained model of the grid, scored and timed.</summary>
/// <param name="Config">Its shape (P, F, or the GRU).</param>
/// <param name="Test">Its scores on the test scenes.</param>
/// <param name="FrameMs">Median milliseconds to stream one frame of every face through the whole model (encoder included).</param>
/// <param name="TemporalMs">The same for the temporal model and head alone, on embedded frames.</param>
/// <param name="StateBytes">Bytes its stream keeps per scene between frames (ring buffers, or the GRU state).</param>
/// <param name="TemporalParameters">Parameters of its temporal model and head.</param>
/// <param name="Run">Its training.</param>
/// <param name="Model">The trained model (owned by the grid result).</param>
public sealed record ContextGridPoint(ActiveSpeakerConfig Config, SpeakerScores Test, double FrameMs, double TemporalMs, long StateBytes,
    long TemporalParameters, TrainingRun Run, ActiveSpeakerModel Model)
{
    /// <summary>Milliseconds a decision waits for its future frames (40 ms per frame).</summary>
    public double DelayMs => Config.LatencyFrames * 1000.0 / Vision.Visemes.FramesPerSecond;
}

/// <summary>The grid's points with their trained models, the shared encoder's training, and what the measurements say.</summary>
public sealed record ContextGridResult(ContextGridOptions Options, IReadOnlyList<ContextGridPoint> Points, TrainingRun EncoderRun,
    SpeakerScores EncoderAlone, int Faces, double MatmulGflops, double CopyGBps) : IDisposable
{
    public void Dispose()
    {
        foreach (var p in Points) p.Model.Dispose();
    }

    public IEnumerable<ContextGridPoint> Transformers => Points.Where(p => p.Config.Temporal == TemporalModel.Transformer);
    public ContextGridPoint? Gru => Points.FirstOrDefault(p => p.Config.Temporal == TemporalModel.Gru);
    public ContextGridPoint At(int past, int future) => Transformers.First(p => p.Config.Past == past && p.Config.Future == future);

    /// <summary>
    /// Mean gain in average precision from the smallest to the largest past context (over every F), and from the smallest to
    /// the largest future context (over every P).
    /// </summary>
    public (double Past, double Future) ContextGains
    {
        get
        {
            var o = Options;
            int p0 = o.Pasts.Min(), p1 = o.Pasts.Max(), f0 = o.Futures.Min(), f1 = o.Futures.Max();
            double past = o.Futures.Average(f => At(p1, f).Test.AveragePrecision - At(p0, f).Test.AveragePrecision);
            double future = o.Pasts.Average(p => At(p, f1).Test.AveragePrecision - At(p, f0).Test.AveragePrecision);
            return (past, future);
        }
    }

    /// <summary>
    /// The transformer with the fewest context frames (P + F) whose average precision reaches the GRU's (null when none does,
    /// or there is no GRU).
    /// </summary>
    public ContextGridPoint? SmallestMatchingGru =>
        Gru is { } gru ? Transformers.Where(p => p.Test.AveragePrecision >= gru.Test.AveragePrecision).OrderBy(p => p.Config.Past + p.Config.Future).ThenBy(p => p.Config.Future).FirstOrDefault() : null;

    /// <summary>
    /// The stream's roofline at the largest P: what one frame of the temporal model must read (weights and ring buffer) and
    /// compute, and the times those would take at the machine's measured copy bandwidth and matmul rate, against the measured time.
    /// </summary>
    public (double Bytes, double Flops, double MemoryMs, double ComputeMs, double MeasuredMs) Roofline
    {
        get
        {
            var p = Transformers.OrderByDescending(x => x.Config.Past).ThenByDescending(x => x.Config.Future).First();
            var c = p.Config;
            double w = c.Width, ring = c.RingFrames, faces = Faces;
            // Per block and face: q, k, v and output projections and the feed-forward (2 × 4w² + 2 × 2w² multiply-adds), the
            // scores and the weighted sum over the ring (2 × ring × w).
            double flops = c.Layers * faces * 2 * (8 * w * w + 2 * ring * w) + faces * 2 * w;
            double bytes = p.TemporalParameters * 4.0 + p.StateBytes;
            return (bytes, flops, bytes / (CopyGBps * 1e9) * 1e3, flops / (MatmulGflops * 1e9) * 1e3, p.TemporalMs);
        }
    }
}

/// <summary>Runs the (P, F) grid (<see cref="ContextGridOptions"/>).</summary>
public static class ContextGrid
{
    /// <summary>The models of the grid, in order: every (P, F), P by P, then the GRU.</summary>
    public static IReadOnlyList<ActiveSpeakerConfig> Configs(ContextGridOptions options)
    {
        var o = options.Validate();
        var configs = o.Pasts.SelectMany(p => o.Futures.Select(f => o.Model with { Past = p, Future = f, Temporal = TemporalModel.Transformer })).ToList();
        if (o.Gru) configs.Add(o.Model with { Temporal = TemporalModel.Gru });
        return configs;
    }

    /// <summary>Training records made beforehand, to follow live: the encoder's first, then one per <see cref="Configs"/> entry.</summary>
    public static IReadOnlyList<TrainingRun> NewRuns(ContextGridOptions options, SpeakerDataset data) =>
        Configs(options).Select(c => SpeakerTraining.NewRun(c.Name, options.Training, data))
            .Prepend(SpeakerTraining.NewRun("frame encoder (P0 F0)", options.EncoderTraining, data)).ToList();

    /// <summary>
    /// Trains the shared encoder, then every model of the grid on it, and scores and times them all. <paramref name="runs"/>:
    /// records from <see cref="NewRuns"/> (null: made here).
    /// </summary>
    public static ContextGridResult Run(SpeakerDataset data, ContextGridOptions? options = null, IReadOnlyList<TrainingRun>? runs = null,
        CancellationToken cancellation = default)
    {
        var o = (options ?? new ContextGridOptions()).Validate();
        var configs = Configs(o);
        runs ??= NewRuns(o, data);
        if (runs.Count != configs.Count + 1) throw new InvalidSettingsException($"Give {configs.Count + 1} training records (NewRuns), not {runs.Count}.");
        manual_seed(o.Seed);
        using var encoderModel = new ActiveSpeakerModel(o.Model with { Past = 0, Future = 0, Temporal = TemporalModel.Transformer });
        var encoderRun = Finished(SpeakerTraining.Train(encoderModel, data, o.EncoderTraining, runs[0], cancellation: cancellation), cancellation);
        var encoderAlone = SpeakerTraining.Score(encoderModel, data.Test);

        var models = new List<ActiveSpeakerModel>();
        try
        {
            foreach (var (config, i) in configs.Select((c, i) => (c, i)))
            {
                manual_seed(o.Seed);
                var model = new ActiveSpeakerModel(config);
                models.Add(model);
                CopyEncoder(encoderModel, model);
                model.FreezeEncoder();
                Finished(SpeakerTraining.Train(model, data, o.Training, runs[i + 1], cancellation: cancellation), cancellation);
            }
            var scores = models.Select(m => SpeakerTraining.Score(m, data.Test)).ToList();
            var (frameMs, temporalMs, stateBytes) = Time(models, data.Test.Scenes[0], o.TimingFrames, cancellation);
            var points = configs.Select((c, i) => new ContextGridPoint(c, scores[i], frameMs[i], temporalMs[i], stateBytes[i],
                models[i].parameters().Where(p => p.requires_grad).Sum(p => p.NumberOfElements), runs[i + 1], models[i])).ToList();
            double gflops = MachineLimits.MatmulFlops(CPU, 512, 8) / 1e9, gbps = MachineLimits.CopyBandwidth(CPU, 256L << 20, 5) / 1e9;
            return new ContextGridResult(o, points, encoderRun, encoderAlone, data.Test.Scenes[0].Faces, gflops, gbps);
        }
        catch
        {
            foreach (var m in models) m.Dispose();
            throw;
        }
    }

    static TrainingRun Finished(TrainingRun run, CancellationToken cancellation)
    {
        if (run.Outcome == TrainingOutcome.Cancelled) throw new OperationCanceledException(run.Message, cancellation);
        return run.ThrowIfDiverged();
    }

    /// <summary>Copies the frame encoder's weights and the audio normalisation from one model into another of the same widths.</summary>
    public static void CopyEncoder(ActiveSpeakerModel from, ActiveSpeakerModel to)
    {
        using var _ = no_grad();
        var source = from.encoder.state_dict();
        foreach (var (name, target) in to.encoder.state_dict()) target.copy_(source[name]);
        to.audioMean.copy_(from.audioMean);
        to.audioStd.copy_(from.audioStd);
    }

    /// <summary>
    /// Streams <paramref name="scene"/> through every model, one frame each in turn per round (looping over the scene),
    /// whole and from embeddings; the median milliseconds per frame of each, and each stream's state bytes.
    /// </summary>
    static (double[] Frame, double[] Temporal, long[] State) Time(IReadOnlyList<ActiveSpeakerModel> models, SceneExample scene, int frames, CancellationToken cancellation)
    {
        using var _ = no_grad();
        Tensor embedded;
        using (var eval = new EvalMode(models[0])) embedded = models[0].Embed(scene.Audio.unsqueeze(0), scene.Crops).DetachFromDisposeScope();
        var whole = models.Select(m => m.NewStream(scene.Faces)).ToArray();
        var temporal = models.Select(m => m.NewStream(scene.Faces)).ToArray();
        var state = new long[models.Count];
        try
        {
            foreach (var m in models) m.eval();
            var frameRuns = models.Select((m, i) => (Action)(() =>
            {
                int t = (int)(whole[i].Frames % scene.Frames);
                whole[i].Push(scene.Audio[t], scene.Crops[.., t]);
            })).ToList();
            var temporalRuns = models.Select((m, i) => (Action)(() =>
            {
                int t = (int)(temporal[i].Frames % scene.Frames);
                temporal[i].PushEmbedding(embedded[.., t]);
            })).ToList();
            var all = Latency.Medians(frameRuns.Concat(temporalRuns).ToList(), frames, warmup: 10, cancellation);
            for (int i = 0; i < models.Count; i++) state[i] = whole[i].StateBytes;
            return (all.Take(models.Count).ToArray(), all.Skip(models.Count).ToArray(), state);
        }
        finally
        {
            foreach (var s in whole.Concat(temporal)) s.Dispose();
            embedded.Dispose();
        }
    }
}
