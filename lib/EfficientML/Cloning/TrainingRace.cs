using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;

namespace EfficientML.Cloning;

/// <summary>
/// Two training records of the same data, seed policy and step budget: a model that starts from another
/// (a clone) and a baseline, and how many steps each needed to reach the baseline's final validation loss.
/// </summary>
public sealed record RaceResult(TrainingRun Challenger, TrainingRun Baseline)
{
    /// <summary>The baseline's last validation loss: the mark both are timed to.</summary>
    public double? TargetLoss => Baseline.LastValidationLoss;

    /// <summary>Steps the baseline needed to reach its own final loss (its first crossing, at most its budget).</summary>
    public double? BaselineSteps => TargetLoss is double t ? Baseline.StepsToReach(t) : null;

    /// <summary>Steps the challenger needed to reach the baseline's final loss (null if it never did; 0 if it started there).</summary>
    public double? ChallengerSteps => TargetLoss is double t ? Challenger.StepsToReach(t) : null;

    /// <summary>
    /// Baseline steps over challenger steps: how many times fewer steps the challenger needed. Infinity when the
    /// challenger started at or below the mark; null when it never reached it.
    /// </summary>
    public double? SpeedUp => (BaselineSteps, ChallengerSteps) switch
    {
        (double b, double c) when c <= 0 => double.PositiveInfinity,
        (double b, double c) => b / c,
        _ => null,
    };

    /// <summary>One sentence with the figures.</summary>
    public string Summary
    {
        get
        {
            if (TargetLoss is not double target) return $"{Baseline.Name} has no validation loss yet.";
            var mark = $"{Baseline.Name} ends at {target:F3} nats ({target / Math.Log(2):F3} bits) after {Baseline.Steps.Count} steps";
            return ChallengerSteps switch
            {
                null => $"{mark}; {Challenger.Name} did not reach it (ends at {Challenger.LastValidationLoss:F3}).",
                0 => $"{mark}; {Challenger.Name} starts below it ({Challenger.Evaluations[0].ValidationLoss:F3} at step 0), so it needs no steps at all.",
                double c => $"{mark}; {Challenger.Name} reaches it after {c:F0} steps: {SpeedUp:F1}× fewer steps.",
            };
        }
    }
}

/// <summary>Trains a challenger and a baseline side by side with the same options (same batches, same schedule).</summary>
public static class TrainingRace
{
    /// <summary>
    /// Empty records for <see cref="Run(TinyGpt, TinyGpt, TextCorpus, RaceResult, Action{TrainingRun}?, CancellationToken)"/>,
    /// so a caller can show them before the first step. Evaluation at step 0 is switched on: where a run starts matters here.
    /// </summary>
    public static RaceResult NewRace(TinyGpt challenger, TinyGpt baseline, TextCorpus corpus, TrainingOptions options, string challengerName, string baselineName)
    {
        if (challenger.Config != baseline.Config)
            throw new InvalidSettingsException($"A race compares models of the same shape; the challenger and the baseline differ in {challenger.Config.Differences(baseline.Config)}.");
        var o = options with { EvalAtStart = true };
        return new RaceResult(
            LanguageModelTraining.NewRun(challenger, corpus, o, challengerName),
            LanguageModelTraining.NewRun(baseline, corpus, o, baselineName));
    }

    /// <summary>Trains both models into <paramref name="race"/>'s records, concurrently (one torch thread each when threads are few).</summary>
    public static RaceResult Run(TinyGpt challenger, TinyGpt baseline, TextCorpus corpus, RaceResult race, Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        int threads = TorchThreads.Current;
        TorchThreads.Set(Math.Max(1, threads / 2));
        try
        {
            var a = Task.Run(() => LanguageModelTraining.Train(challenger, corpus, race.Challenger, progress, cancellation));
            var b = Task.Run(() => LanguageModelTraining.Train(baseline, corpus, race.Baseline, progress, cancellation));
            Task.WaitAll(a, b);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            throw e.InnerExceptions[0];
        }
        finally
        {
            TorchThreads.Set(threads);
        }
        return race;
    }

    /// <summary>Makes the records and trains both; see <see cref="NewRace"/>.</summary>
    public static RaceResult Run(
        TinyGpt challenger, TinyGpt baseline, TextCorpus corpus, TrainingOptions options,
        string challengerName = "clone", string baselineName = "random init",
        Action<TrainingRun>? progress = null, CancellationToken cancellation = default) =>
        Run(challenger, baseline, corpus, NewRace(challenger, baseline, corpus, options, challengerName, baselineName), progress, cancellation);
}
