using EfficientML.Audio;
using EfficientML.Core;
using EfficientML.GatedConformer;
using EfficientML.KeywordSpotting;
using EfficientML.Reparam;
using static TorchSharp.torch;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// Dynamic-depth keyword spotting (<see cref="GatedExperiment"/>): a streaming conformer with a gate before every module
/// against the same conformer without gates, trained on the same recordings from the same starting weights and budget:
/// modules skipped on noise-only and on speech streams, detection and per-word accuracy, localisation error, and
/// compute per second of audio, both models timed alternately in this run.
/// </summary>
public sealed class GatedSuite : IBenchmarkSuite
{
    /// <inheritdoc />
    public string Name => "gated";

    /// <inheritdoc />
    public string Description => "gated vs ungated streaming conformer spotter: modules skipped on noise and speech, accuracy, time per second of audio";

    /// <inheritdoc />
    public IReadOnlyList<Measurement> Run(bool quick, TextWriter log)
    {
        var options = quick ? new GatedExperimentOptions().Quick() : new GatedExperimentOptions();
        int[] seeds = quick ? [1] : [1, 2, 3];
        var study = GatedExperiment.RunSeeds(options, seeds, log.WriteLine, run =>
        {
            var last = run.Steps.Count > 0 ? run.Steps[^1] : null;
            if (last != null && (last.Step + 1) % 500 == 0) log.WriteLine($"{run.Name} (seed {run.Options.Seed}): step {last.Step + 1}, loss {last.Loss:0.000}");
        });
        var report = study.First;
        var (u, g) = (report.Ungated, report.Gated);
        string training = $"{report.DataSeconds / 60:0} min of audio ({options.Data.TrainStreams} speech + {options.Data.TrainNoiseStreams} noise streams for training); " +
            $"{options.Training.Training.Steps} steps × {options.Training.Training.BatchSize} crops of {options.Training.CropSteps * 0.04:0.##} s; " +
            $"{report.Parameters:N0} parameters + {report.GateParameters:N0} in gates; cost target {options.Training.CostTarget}, pull {options.Training.CostPull} " +
            $"(× {options.Training.SpeechPullScale} where a word sounds), gate logit decay {options.Training.GateLogitDecay}; each gate reads {options.Model.GateContext} earlier gate blocks besides its own; " +
            (options.Training.DistillWeight > 0
                ? $"the gated model learns from the ungated one with weight {options.Training.DistillWeight} at temperature {options.Training.DistillTemperature}"
                : "the gated model learns from the labels alone");
        var detail = new List<Measurement>
        {
            new("gated: modules skipped on noise-only streams", g.SkippedOnNoise * 100, "%", Note:
                $"{g.NoiseSeconds:0} s of noise and near-silence; by kind: {Kinds(g.SkippedOnNoiseByKind)}"),
            new("gated: modules skipped on speech streams", g.SkippedOnSpeech * 100, "%", Note: $"by kind: {Kinds(g.SkippedOnSpeechByKind)}"),
        };
        foreach (var e in new[] { u, g })
        {
            bool baseline = e == u;
            detail.Add(new($"{e.Name}: per-word accuracy (keywords and other words)", e.WordAccuracy * 100, "%", baseline ? null : u.Name,
                baseline ? null : e.WordAccuracy / u.WordAccuracy, $"{e.WordsCorrect}/{e.Words} words by unseen voices" + (baseline ? "; " + training : "")));
            bool ratio = !baseline && u.Detection.HitRate > 0;
            detail.Add(new($"{e.Name}: keyword hit rate", e.Detection.HitRate * 100, "%", ratio ? u.Name : null,
                ratio ? e.Detection.HitRate / u.Detection.HitRate : null,
                $"{e.Detection.Hits}/{e.Detection.Keywords} keywords; false alarms {e.Detection.FalseAlarmsPerHour:0} per hour of speech, " +
                $"{e.NoiseFalseAlarmsPerHour:0} per hour of noise; threshold {options.Detector.Threshold}"));
            detail.Add(new($"{e.Name}: localisation error (word centre)", e.Detection.MeanCentreErrorMs, "ms", Note:
                $"start {e.Detection.MeanStartErrorMs:0} ms, end {e.Detection.MeanEndErrorMs:0} ms, over hits"));
        }
        var t = report.Timing;
        detail.Add(new("conformer: compute per second of noise", t.UngatedNoise * 1000, "ms/s", Note: $"streamed in chunks of {options.ChunkFrames * 10} ms, batch 1"));
        detail.Add(new("gated conformer: compute per second of noise", t.GatedNoise * 1000, "ms/s", "conformer", t.GatedNoise / t.UngatedNoise,
            $"median of {t.Rounds} alternating rounds"));
        detail.Add(new("conformer: compute per second of speech", t.UngatedSpeech * 1000, "ms/s"));
        detail.Add(new("gated conformer: compute per second of speech", t.GatedSpeech * 1000, "ms/s", "conformer", t.GatedSpeech / t.UngatedSpeech,
            $"median of {t.Rounds} alternating rounds"));
        var rows = SeedRows(study, training).ToList();
        rows.AddRange(detail.Select(m => m with { Name = $"seed {seeds[0]}, {m.Name}" }));
        rows.AddRange(SlidingWindowContext(report, options, quick));
        report.UngatedModel.Dispose();
        report.GatedModel.Dispose();
        return rows;
    }

    /// <summary>
    /// For context, notebook 06's RepCNN in its deployed (folded) form run as a sliding-window detector: a one-second window
    /// every 100 ms, each normalised as the clips it was trained on, against the streaming conformers on a new speech
    /// recording, all timed alternately. Compute only: the weights are untrained, which does not change the time.
    /// </summary>
    static IEnumerable<Measurement> SlidingWindowContext(GatedReport report, GatedExperimentOptions options, bool quick)
    {
        using var recording = GatedStreamData.Recording(options.Data with { StreamSeconds = quick ? 10 : 60, Seed = 7 }, options.Model, StreamKind.Speech);
        using var logMel = new LogMel();
        using var features = logMel.Compute(recording.Samples);                        // (40, frames), the RepCNN's front end
        int window = logMel.FrameCount(16000), hop = 10;
        using var multi = new RepCnn(KeywordSpottingExperiments.RepCnn(options.Model.Classes + 1, BranchSet.MultiBranch), seed: 1);
        using var calibration = randn(4, 40, window);
        var (folded, _) = Reparameterization.FoldCopy(multi, calibration, repeats: 1);
        folded.eval();
        void Sliding()
        {
            using var _ = no_grad();
            for (long start = 0; start + window <= features.shape[1]; start += hop)
            {
                using var scope = NewDisposeScope();
                folded.call(KeywordFeatures.Normalise(features.narrow(1, start, window)).unsqueeze(0));
            }
        }
        Action Streaming(ConformerSpotter model) => () => ConformerStream.Run(model, recording.Features, options.ChunkFrames);
        var ms = Latency.Medians([Sliding, Streaming(report.UngatedModel), Streaming(report.GatedModel)], repeats: options.TimingRounds, warmup: 1);
        var (repcnn, plain, gated) = (ms[0] / recording.Seconds, ms[1] / recording.Seconds, ms[2] / recording.Seconds);   // ms per second of audio
        var cost = KeywordSpotterCost.Of(folded.Config, reparameterized: true, frames: window);
        folded.Dispose();
        yield return new("context: RepCNN (folded) sliding 1 s window every 100 ms, per second of speech", repcnn, "ms/s", "conformer",
            repcnn / plain, $"{cost.Parameters:N0} parameters, {cost.Macs / 1e6:0.0} M MACs per window; conformer {plain:0.0} ms/s, " +
            $"gated {gated:0.0} ms/s in the same rounds; median of {options.TimingRounds}");
    }

    /// <summary>The acceptance figures: means over the seeds with their spread, and each seed's values in the note.</summary>
    static IEnumerable<Measurement> SeedRows(GatedSeedStudy study, string training)
    {
        string Each(Func<GatedSeedResult, double> value, string format) =>
            string.Join(", ", study.Seeds.Select(r => $"seed {r.Seed}: {value(r).ToString(format)}"));
        int n = study.Seeds.Count;
        string Of(string what) => n == 1 ? $"one seed; {what}" : $"mean of {n} seeds, each a new training of both models on the same recordings; {what}";
        string Spread(double spread, string unit = "") => n == 1 ? "" : $"± {spread:0.0}{unit} (sample sd over seeds); ";
        var (skip, skipSpread) = study.SkippedOnNoise;
        var (speech, speechSpread) = study.SkippedOnSpeech;
        var (plain, plainSpread) = study.UngatedAccuracy;
        var (gated, gatedSpread) = study.GatedAccuracy;
        var (change, changeSpread) = study.AccuracyChangePoints;
        var (plainHit, _) = study.UngatedHitRate;
        var (gatedHit, _) = study.GatedHitRate;
        var (noiseTime, _) = study.NoiseTimeRatio;
        var (speechTime, _) = study.SpeechTimeRatio;
        yield return new("gated: modules skipped on noise-only streams", skip * 100, "%", Note:
            Of($"{Spread(skipSpread * 100)}{Each(r => r.SkippedOnNoise * 100, "0.0")}; target ≥ 90"));
        yield return new("gated: modules skipped on speech streams", speech * 100, "%", Note:
            Of($"{Spread(speechSpread * 100)}{Each(r => r.SkippedOnSpeech * 100, "0.0")}"));
        yield return new("conformer: per-word accuracy", plain * 100, "%", Note: Of($"{Spread(plainSpread * 100)}{Each(r => r.UngatedAccuracy * 100, "0.0")}; {training}"));
        yield return new("gated conformer: per-word accuracy", gated * 100, "%", "conformer", gated / plain,
            Of($"{Spread(gatedSpread * 100)}{Each(r => r.GatedAccuracy * 100, "0.0")}"));
        yield return new("gated minus ungated per-word accuracy", change, "points", Note:
            Of($"{Spread(changeSpread, " points")}{Each(r => r.AccuracyChangePoints, "+0.0;-0.0")}; target ≥ −1"));
        yield return new("gated conformer: keyword hit rate", gatedHit * 100, "%", plainHit > 0 ? "conformer" : null, plainHit > 0 ? gatedHit / plainHit : null,
            Of($"conformer {plainHit * 100:0.0} %; {Each(r => r.GatedHitRate * 100, "0.0")}"));
        yield return new("gated conformer: compute per second of noise, ratio to ungated", noiseTime, "×", Note:
            Of($"{Each(r => r.NoiseTimeRatio, "0.00")}; each from medians of alternating rounds in that seed's run"));
        yield return new("gated conformer: compute per second of speech, ratio to ungated", speechTime, "×", Note:
            Of($"{Each(r => r.SpeechTimeRatio, "0.00")}"));
    }

    static string Kinds(IReadOnlyDictionary<ConformerModuleKind, double> byKind) =>
        string.Join(", ", byKind.Select(p => $"{p.Key} {p.Value * 100:0}%"));
}
