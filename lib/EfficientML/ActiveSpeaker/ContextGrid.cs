using EfficientML.Core;
using static TorchSharp.torch;

namespace EfficientML.ActiveSpeaker;

/// <summary>
/// The (P, F) study: a frame encoder is trained once (each frame alone, P = F = 0) and frozen; then, on its embeddings, a
/// transformer for every (P, F) of the grid and the uni-directional GRU train with the same seeds, data and steps, each
/// <see cref="Repeats"/> times (seeds <see cref="Seed"/>, <see cref="Seed"/> + 1, …), so a difference can be read against the
/// spread between seeds. Each is scored on the test scenes and streamed to time a frame and to count the bytes it keeps.
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

    /// <summary>Seed of the encoder and of each temporal model's first training.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Trainings of each temporal model, with seeds <see cref="Seed"/> … <see cref="Seed"/> + Repeats − 1 (on the same encoder).</summary>
    public int Repeats { get; init; } = 3;

    /// <summary>Short trainings, one seed and, when the grid has more than six points, a grid of six, for tests and quick notebook runs.</summary>
    public ContextGridOptions Quick()
    {
        bool small = Pasts.Count * Futures.Count <= 6;
        return this with
        {
            Pasts = small ? Pasts : [0, 8, 32], Futures = small ? Futures : [0, 4], EncoderTraining = EncoderTraining.Quick(), Training = Training.Quick(),
            TimingFrames = Math.Min(TimingFrames, 30), Repeats = 1,
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
        if (Repeats < 1 || Repeats > 10) throw new InvalidSettingsException($"Repeats must be 1 to 10 (got {Repeats}).");
        return this;
    }
}

/// <summary>One model of the grid, trained once per seed, scored and timed.</summary>
/// <param name="Config">Its shape (P, F, or the GRU).</param>
/// <param name="Scores">Its scores on the test scenes, one per seed.</param>
/// <param name="FrameMs">Median milliseconds to stream one frame of every face through the whole model (encoder included).</param>
/// <param name="TemporalMs">The same for the temporal model and head alone, on embedded frames.</param>
/// <param name="StateBytes">Bytes its stream keeps per scene between frames (ring buffers, or the GRU state).</param>
/// <param name="TemporalParameters">Parameters of its temporal model and head.</param>
/// <param name="Runs">Its trainings, one per seed.</param>
/// <param name="Model">The model of the first seed (owned by the grid result); the others are not kept.</param>
/// <param name="MeasuredBytes">
/// What a stream of it holds on the C heap after its ring has filled, measured (<see cref="NativeHeap.InUseBytes"/> before it
/// was made and after P + F + 2 frames); null where the heap cannot be read.
/// </param>
public sealed record ContextGridPoint(ActiveSpeakerConfig Config, IReadOnlyList<SpeakerScores> Scores, double FrameMs, double TemporalMs, long StateBytes,
    long TemporalParameters, IReadOnlyList<TrainingRun> Runs, ActiveSpeakerModel Model, long? MeasuredBytes = null)
{
    /// <summary>The first seed's scores (those of <see cref="Model"/>).</summary>
    public SpeakerScores Test => Scores[0];

    /// <summary>The first seed's training.</summary>
    public TrainingRun Run => Runs[0];

    /// <summary>Mean test average precision over the seeds.</summary>
    public double MeanAp => Scores.Average(s => s.AveragePrecision);

    /// <summary>Standard deviation of the test average precision over the seeds (0 for one seed).</summary>
    public double ApSpread => BatchStatistics.MeanSpread(Scores.Select(s => s.AveragePrecision).ToList()).Spread;

    /// <summary>Mean of <paramref name="pick"/> over the seeds.</summary>
    public double Mean(Func<SpeakerScores, double> pick) => Scores.Average(pick);

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
    /// Mean gain in average precision (each point's mean over seeds) from the smallest to the largest past context (over
    /// every F), and from the smallest to the largest future context (over every P).
    /// </summary>
    public (double Past, double Future) ContextGains
    {
        get
        {
            var o = Options;
            int p0 = o.Pasts.Min(), p1 = o.Pasts.Max(), f0 = o.Futures.Min(), f1 = o.Futures.Max();
            double past = o.Futures.Average(f => At(p1, f).MeanAp - At(p0, f).MeanAp);
            double future = o.Pasts.Average(p => At(p, f1).MeanAp - At(p, f0).MeanAp);
            return (past, future);
        }
    }

    /// <summary>
    /// The transformer with the fewest context frames (P + F) whose mean average precision reaches the GRU's (null when none
    /// does, or there is no GRU).
    /// </summary>
    public ContextGridPoint? SmallestMatchingGru =>
        Gru is { } gru ? Transformers.Where(p => p.MeanAp >= gru.MeanAp).OrderBy(p => p.Config.Past + p.Config.Future).ThenBy(p => p.Config.Future).FirstOrDefault() : null;

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

    /// <summary>
    /// Training records made beforehand, to follow live: the encoder's first, then for each <see cref="Configs"/> entry one per
    /// seed.
    /// </summary>
    public static IReadOnlyList<TrainingRun> NewRuns(ContextGridOptions options, SpeakerDataset data) =>
        Configs(options).SelectMany(c => Enumerable.Range(0, options.Repeats).Select(r =>
                SpeakerTraining.NewRun(options.Repeats == 1 ? c.Name : $"{c.Name} · seed {options.Seed + r}", Seeded(options, r), data)))
            .Prepend(SpeakerTraining.NewRun("frame encoder (P0 F0)", options.EncoderTraining, data)).ToList();

    static SpeakerTrainingOptions Seeded(ContextGridOptions o, int repeat) =>
        o.Training with { Training = o.Training.Training with { Seed = o.Training.Training.Seed + repeat } };

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
        if (runs.Count != configs.Count * o.Repeats + 1)
            throw new InvalidSettingsException($"Give {configs.Count * o.Repeats + 1} training records (NewRuns), not {runs.Count}.");
        manual_seed(o.Seed);
        using var encoderModel = new ActiveSpeakerModel(o.Model with { Past = 0, Future = 0, Temporal = TemporalModel.Transformer });
        var encoderRun = Finished(SpeakerTraining.Train(encoderModel, data, o.EncoderTraining, runs[0], cancellation: cancellation), cancellation);
        var encoderAlone = SpeakerTraining.Score(encoderModel, data.Test);

        var models = new List<ActiveSpeakerModel>();
        var scores = new List<List<SpeakerScores>>();
        try
        {
            foreach (var (config, i) in configs.Select((c, i) => (c, i)))
            {
                scores.Add([]);
                for (int r = 0; r < o.Repeats; r++)
                {
                    manual_seed(o.Seed + r);
                    var model = new ActiveSpeakerModel(config);
                    CopyEncoder(encoderModel, model);
                    model.FreezeEncoder();
                    Finished(SpeakerTraining.Train(model, data, Seeded(o, r), runs[1 + i * o.Repeats + r], cancellation: cancellation), cancellation);
                    scores[i].Add(SpeakerTraining.Score(model, data.Test));
                    if (r == 0) models.Add(model);
                    else model.Dispose();
                }
            }
            // Every model shares the frozen encoder: the timing scene is embedded once, for all of them.
            var scene = data.Test.Scenes[0];
            using var embedded = Embedded(encoderModel, scene);
            var (frameMs, temporalMs, stateBytes) = Time(models, scene, embedded, o.TimingFrames, cancellation);
            var measured = models.Select(m => MeasureStream(m, embedded)).ToList();
            var points = configs.Select((c, i) => new ContextGridPoint(c, scores[i], frameMs[i], temporalMs[i], stateBytes[i],
                models[i].parameters().Where(p => p.requires_grad).Sum(p => p.NumberOfElements), runs.Skip(1 + i * o.Repeats).Take(o.Repeats).ToList(), models[i],
                measured[i])).ToList();
            double gflops = MachineLimits.MatmulFlops(CPU, 512, 8) / 1e9, gbps = MachineLimits.CopyBandwidth(CPU, 256L << 20, 5) / 1e9;
            return new ContextGridResult(o, points, encoderRun, encoderAlone, data.Test.Scenes[0].Faces, gflops, gbps);
        }
        catch
        {
            foreach (var m in models) m.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Bytes a stream of <paramref name="model"/> over the scene's faces holds on the C heap once its ring buffers are full:
    /// the heap in use before the stream is made, against after P + F + 2 frames (with every temporary freed); null where the
    /// heap cannot be read.
    /// </summary>
    public static long? MeasureStream(ActiveSpeakerModel model, SceneExample scene)
    {
        using var embedded = Embedded(model, scene);
        return MeasureStream(model, embedded);
    }

    /// <summary>The same, streaming frames already embedded by the model's encoder, (faces, T, Width).</summary>
    static long? MeasureStream(ActiveSpeakerModel model, Tensor embedded)
    {
        using var _ = no_grad();
        int faces = (int)embedded.shape[0], frames = (int)Math.Min(embedded.shape[1], model.Config.RingFrames + 1);
        static long? Settled()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return NativeHeap.InUseBytes;
        }
        using (var warm = model.NewStream(faces))                 // first calls set up whatever libtorch caches
            for (int t = 0; t < frames; t++) { using var scope = NewDisposeScope(); warm.PushEmbedding(embedded[.., t]); }
        var before = Settled();
        var stream = model.NewStream(faces);
        for (int t = 0; t < frames; t++) { using var scope = NewDisposeScope(); stream.PushEmbedding(embedded[.., t]); }
        var after = Settled();
        stream.Dispose();
        return after - before;
    }

    /// <summary>A scene's per-frame embeddings by <paramref name="model"/>'s encoder, (faces, T, Width), without gradients.</summary>
    static Tensor Embedded(ActiveSpeakerModel model, SceneExample scene)
    {
        using var _ = no_grad();
        using var eval = new EvalMode(model);
        return model.Embed(scene.Audio.unsqueeze(0), scene.Crops).DetachFromDisposeScope();
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
    /// whole and from <paramref name="embedded"/> (the shared encoder's embeddings of the scene); the median milliseconds per
    /// frame of each, and each stream's state bytes.
    /// </summary>
    static (double[] Frame, double[] Temporal, long[] State) Time(IReadOnlyList<ActiveSpeakerModel> models, SceneExample scene, Tensor embedded, int frames,
        CancellationToken cancellation)
    {
        using var _ = no_grad();
        var whole = models.Select(m => m.NewStream(scene.Faces)).ToArray();
        var temporal = models.Select(m => m.NewStream(scene.Faces)).ToArray();
        var state = new long[models.Count];
        try
        {
            foreach (var m in models) m.eval();
            var frameRuns = models.Select((m, i) => (Action)(() =>
            {
                int t = (int)(whole[i].Frames % scene.Frames);
                using var scope = NewDisposeScope();
                whole[i].Push(scene.Audio[t], scene.Crops[.., t]);
            })).ToList();
            var temporalRuns = models.Select((m, i) => (Action)(() =>
            {
                int t = (int)(temporal[i].Frames % scene.Frames);
                using var scope = NewDisposeScope();
                temporal[i].PushEmbedding(embedded[.., t]);
            })).ToList();
            var all = Latency.Medians(frameRuns.Concat(temporalRuns).ToList(), frames, warmup: 10, cancellation);
            for (int i = 0; i < models.Count; i++) state[i] = whole[i].StateBytes;
            return (all.Take(models.Count).ToArray(), all.Skip(models.Count).ToArray(), state);
        }
        finally
        {
            foreach (var s in whole.Concat(temporal)) s.Dispose();
        }
    }
}
