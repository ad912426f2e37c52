using EfficientML.ActiveSpeaker;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// Streaming active speaker detection (<see cref="ContextGrid"/>): one frame encoder trained on single frames and frozen,
/// then on its embeddings a transformer for every past context P and future context F of the grid and a uni-directional
/// GRU, same seed, data and steps; each scored on test scenes by unseen voices (mAP over face-frames, accuracy, false alarms
/// on shifted distractors) and streamed to time a frame and count the bytes it keeps; then what the grid says: how much past
/// and future context each add, the smallest context that matches the GRU, and the stream's roofline on this machine.
/// </summary>
public sealed class AsdSuite : IBenchmarkSuite
{
    /// <inheritdoc />
    public string Name => "asd";

    /// <inheritdoc />
    public string Description => "Active speaker detection: mAP over a (P, F) grid of constrained transformers against a uni-directional GRU; latency and memory per frame; roofline";

    /// <inheritdoc />
    public IReadOnlyList<Measurement> Run(bool quick, TextWriter log)
    {
        var dataOptions = quick ? new SpeakerDataOptions().Quick() : new SpeakerDataOptions();
        var options = quick ? new ContextGridOptions().Quick() : new ContextGridOptions();
        using var data = SpeakerDataset.Build(dataOptions);
        log.WriteLine($"asd: {data.Train.Scenes.Count}/{data.Validation.Scenes.Count}/{data.Test.Scenes.Count} scenes built in {data.BuildTime.TotalSeconds:0} s");
        var runs = ContextGrid.NewRuns(options, data);
        foreach (var run in runs) run.Updated += r => { if (r.Outcome != Core.TrainingOutcome.Running && r.Steps.Count == r.Options.Steps) log.WriteLine($"asd: {r.Name} trained"); };
        using var grid = ContextGrid.Run(data, options, runs);

        var rows = new List<Measurement>();
        string setting = $"{data.Train.Scenes.Count} training scenes of {dataOptions.Scene.Seconds:0} s × {dataOptions.Scene.Faces} faces ({data.Train.Voices.Count} voices), " +
            $"{data.Test.Scenes.Count} test scenes by {data.Test.Voices.Count} other voices; speaking share of test face-frames {data.Test.SpeakingShare:P1}; " +
            $"encoder {options.EncoderTraining.Training.Steps} steps (seed {options.Seed}), each temporal model {options.Training.Training.Steps} steps × {options.Repeats} seeds";
        rows.Add(new("frame encoder alone (P0 F0 while training it): test mAP", grid.EncoderAlone.AveragePrecision * 100, "%", Note: setting));
        var gru = grid.Gru!;
        string gruName = "GRU: test mAP";
        foreach (var p in grid.Points)
        {
            bool isGru = p.Config.Temporal == TemporalModel.Gru;
            string seeds = options.Repeats == 1 ? "1 seed" : $"± {p.ApSpread * 100:0.0} (sd over {options.Repeats} seeds: {string.Join(" / ", p.Scores.Select(t => $"{t.AveragePrecision * 100:0.0}"))})";
            rows.Add(new($"{p.Config.Name}: test mAP", p.MeanAp * 100, "%", isGru ? null : gruName, isGru ? null : p.MeanAp / gru.MeanAp,
                $"{seeds}; accuracy {p.Mean(t => t.Accuracy):P1}, speaking frames found {p.Mean(t => t.SpeakerRecall):P1}, " +
                $"shifted distractors called speaking {p.Mean(t => t.FalseAlarms.GetValueOrDefault("Shifted")):P1}; decision {p.DelayMs:0} ms late"));
        }
        foreach (var p in grid.Points)
            rows.Add(new($"{p.Config.Name}: memory kept per stream", p.StateBytes, "bytes", Note:
                $"{grid.Faces} faces; measured on the C heap once the ring is full: {(p.MeasuredBytes is { } m ? $"{m:N0} bytes" : "not readable here")}; {p.TemporalParameters:N0} temporal parameters"));
        foreach (var p in grid.Points)
            rows.Add(new($"{p.Config.Name}: temporal model per frame", p.TemporalMs, "ms", p == gru ? null : "GRU: temporal model per frame", p == gru ? null : p.TemporalMs / gru.TemporalMs,
                $"whole frame with the encoder {p.FrameMs:0.000} ms; {grid.Faces} faces; medians over {options.TimingFrames} frames, models in turn"));
        var (past, future) = grid.ContextGains;
        rows.Add(new($"mAP gained from P = {options.Pasts.Min()} to {options.Pasts.Max()} (mean over F)", past * 100, "points", Note: "each point's mean over seeds"));
        rows.Add(new($"mAP gained from F = {options.Futures.Min()} to {options.Futures.Max()} (mean over P)", future * 100, "points",
            Note: past > future ? "past context matters more than future" : "future context matters as much as past or more"));
        var match = grid.SmallestMatchingGru;
        rows.Add(new("smallest transformer context that reaches the GRU's mAP", match is null ? double.NaN : match.Config.Past + match.Config.Future, "frames",
            Note: match is null ? $"no transformer of the grid reaches the GRU's mean {gru.MeanAp:P1}" : $"{match.Config.Name}: {match.MeanAp:P1} against the GRU's {gru.MeanAp:P1} (means over seeds)"));
        var roof = grid.Roofline;
        rows.Add(new("largest transformer, one frame: time if memory-bound", roof.MemoryMs, "ms", Note: $"{roof.Bytes / 1024:0.0} KiB read at the measured copy bandwidth {grid.CopyGBps:0.0} GB/s"));
        rows.Add(new("largest transformer, one frame: time if compute-bound", roof.ComputeMs, "ms", Note: $"{roof.Flops:N0} FLOP at the measured matmul rate {grid.MatmulGflops:0} GFLOP/s"));
        rows.Add(new("largest transformer, one frame: measured", roof.MeasuredMs, "ms", "largest transformer, one frame: time if memory-bound", roof.MeasuredMs / roof.MemoryMs,
            roof.MeasuredMs > 5 * Math.Max(roof.MemoryMs, roof.ComputeMs) ? "bound by the fixed cost per tensor operation, not by memory or arithmetic" : "within 5× of its bound"));
        return rows;
    }
}
