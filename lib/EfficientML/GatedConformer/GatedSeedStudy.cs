using System.Diagnostics;
using EfficientML.Core;

namespace EfficientML.GatedConformer;

/// <summary>
/// One seed of a <see cref="GatedSeedStudy"/>: both models trained from that seed's starting weights, what they scored, and
/// the gated model's compute per second of audio as a ratio to the ungated one's.
/// </summary>
public sealed record GatedSeedResult(int Seed, double SkippedOnNoise, double SkippedOnSpeech, double UngatedAccuracy, double GatedAccuracy,
    double UngatedHitRate, double GatedHitRate, double NoiseTimeRatio, double SpeechTimeRatio)
{
    /// <summary>Per-word accuracy, gated minus ungated, in points.</summary>
    public double AccuracyChangePoints => 100 * (GatedAccuracy - UngatedAccuracy);

    public static GatedSeedResult Of(int seed, GatedReport r) => new(seed, r.Gated.SkippedOnNoise, r.Gated.SkippedOnSpeech, r.Ungated.WordAccuracy,
        r.Gated.WordAccuracy, r.Ungated.Detection.HitRate, r.Gated.Detection.HitRate, 1 / r.Timing.NoiseSpeedup, 1 / r.Timing.SpeechSpeedup);
}

/// <summary>
/// The gated-versus-ungated comparison repeated over seeds on the same recordings: a difference of a point or two in
/// accuracy between two trainings is within what the seed alone moves, so the acceptance figures are means over seeds with
/// their spread (sample standard deviation). <see cref="First"/> is the first seed's full report, with its models.
/// </summary>
public sealed record GatedSeedStudy(GatedReport First, IReadOnlyList<GatedSeedResult> Seeds)
{
    public (double Mean, double Spread) SkippedOnNoise => Stat(s => s.SkippedOnNoise);
    public (double Mean, double Spread) SkippedOnSpeech => Stat(s => s.SkippedOnSpeech);
    public (double Mean, double Spread) UngatedAccuracy => Stat(s => s.UngatedAccuracy);
    public (double Mean, double Spread) GatedAccuracy => Stat(s => s.GatedAccuracy);
    /// <summary>Gated minus ungated per-word accuracy in points, per seed, then mean and spread.</summary>
    public (double Mean, double Spread) AccuracyChangePoints => Stat(s => s.AccuracyChangePoints);
    public (double Mean, double Spread) UngatedHitRate => Stat(s => s.UngatedHitRate);
    public (double Mean, double Spread) GatedHitRate => Stat(s => s.GatedHitRate);
    /// <summary>Compute per second of noise, gated ÷ ungated (timed alternately within each seed's run).</summary>
    public (double Mean, double Spread) NoiseTimeRatio => Stat(s => s.NoiseTimeRatio);
    public (double Mean, double Spread) SpeechTimeRatio => Stat(s => s.SpeechTimeRatio);

    (double, double) Stat(Func<GatedSeedResult, double> value) => BatchStatistics.MeanSpread(Seeds.Select(value).ToList());
}

public static partial class GatedExperiment
{
    /// <summary>
    /// Builds the recordings once, then runs the comparison (<see cref="Run(GatedExperimentOptions, GatedStreamData, TimeSpan, Action{TrainingRun}?, CancellationToken, TrainingRun?, TrainingRun?)"/>)
    /// once per seed; keeps the first seed's models and disposes the others'.
    /// </summary>
    public static GatedSeedStudy RunSeeds(GatedExperimentOptions options, IReadOnlyList<int> seeds, Action<string>? log = null,
        Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        options.Validate();
        if (seeds.Count == 0) throw new InvalidSettingsException("Give at least one seed.");
        if (seeds.Distinct().Count() != seeds.Count) throw new InvalidSettingsException("The seeds repeat; give distinct seeds.");
        var clock = Stopwatch.StartNew();
        using var data = GatedStreamData.Build(options.Data, options.Model);
        var buildTime = clock.Elapsed;
        log?.Invoke($"{data.Seconds / 60:0.#} minutes of audio in {buildTime.TotalSeconds:0.#} s");
        GatedReport? first = null;
        var results = new List<GatedSeedResult>();
        try
        {
            foreach (var seed in seeds)
            {
                var seeded = options with { Training = options.Training with { Training = options.Training.Training with { Seed = seed } } };
                var report = Run(seeded, data, buildTime, progress, cancellation);
                results.Add(GatedSeedResult.Of(seed, report));
                log?.Invoke($"seed {seed}: skipped on noise {report.Gated.SkippedOnNoise:P1}, per-word accuracy {report.Ungated.WordAccuracy:P1} → " +
                    $"{report.Gated.WordAccuracy:P1}");
                if (first is null) first = report;
                else
                {
                    report.UngatedModel.Dispose();
                    report.GatedModel.Dispose();
                }
            }
            return new GatedSeedStudy(first!, results);
        }
        catch
        {
            first?.UngatedModel.Dispose();
            first?.GatedModel.Dispose();
            throw;
        }
    }
}
