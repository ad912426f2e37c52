using EfficientML.Audio;
using EfficientML.Core;

namespace EfficientML.GatedConformer;

/// <summary>
/// The decision rule over per-step posteriors: average each keyword's posterior over the last <see cref="SmoothSteps"/>
/// steps; fire when the best keyword's average reaches <see cref="Threshold"/>; then stay quiet for
/// <see cref="RefractorySeconds"/>. A detection counts as a hit when it names a keyword said from
/// <see cref="EarlySeconds"/> before its start to <see cref="LateSeconds"/> after its end, once per word.
/// </summary>
public sealed record DetectorOptions
{
    public int SmoothSteps { get; init; } = 3;
    public double Threshold { get; init; } = 0.5;
    public double RefractorySeconds { get; init; } = 0.8;
    public double EarlySeconds { get; init; } = 0.1;
    public double LateSeconds { get; init; } = 0.5;

    public DetectorOptions Validate()
    {
        if (SmoothSteps < 1 || SmoothSteps > 1000) throw new InvalidSettingsException($"Smoothing takes 1 to 1000 steps (got {SmoothSteps}).");
        if (!(Threshold > 0 && Threshold <= 1)) throw new InvalidSettingsException($"The threshold is a probability above 0, at most 1 (got {Threshold}).");
        if (!(RefractorySeconds >= 0 && RefractorySeconds <= 60)) throw new InvalidSettingsException($"The refractory time is 0 to 60 s (got {RefractorySeconds}).");
        if (!(EarlySeconds >= 0 && LateSeconds >= 0 && EarlySeconds <= 10 && LateSeconds <= 10)) throw new InvalidSettingsException("Early and late tolerances are 0 to 10 s.");
        return this;
    }
}

/// <summary>A keyword heard at <see cref="Seconds"/>, with where the model puts the word (<see cref="Start"/> … <see cref="End"/>).</summary>
public sealed record KeywordDetection(int Label, string Word, double Seconds, double Start, double End, double Score);

/// <summary>How detections compare with the words really said.</summary>
public sealed record DetectionScore(int Keywords, int Hits, int FalseAlarms, double Seconds, double MeanStartErrorMs, double MeanEndErrorMs,
    double MeanCentreErrorMs)
{
    public int Misses => Keywords - Hits;
    public double HitRate => Keywords == 0 ? 0 : (double)Hits / Keywords;
    public double FalseAlarmsPerHour => Seconds == 0 ? 0 : FalseAlarms * 3600.0 / Seconds;

    /// <summary>Sums of several recordings' scores (errors weighted by hits).</summary>
    public static DetectionScore Sum(IEnumerable<DetectionScore> scores)
    {
        var list = scores.ToList();
        int hits = list.Sum(s => s.Hits);
        double Weighted(Func<DetectionScore, double> error) => hits == 0 ? double.NaN : list.Where(s => s.Hits > 0).Sum(s => error(s) * s.Hits) / hits;
        return new DetectionScore(list.Sum(s => s.Keywords), hits, list.Sum(s => s.FalseAlarms), list.Sum(s => s.Seconds),
            Weighted(s => s.MeanStartErrorMs), Weighted(s => s.MeanEndErrorMs), Weighted(s => s.MeanCentreErrorMs));
    }
}

/// <summary>Turns a stream's per-step outputs into keyword detections with times, and scores them.</summary>
public static class StreamingDetector
{
    /// <summary>Detections in time order; <paramref name="labels"/> are the classes (keywords, then "none").</summary>
    public static IReadOnlyList<KeywordDetection> Detect(StreamOutput output, IReadOnlyList<string> labels, DetectorOptions? options = null)
    {
        options = (options ?? new DetectorOptions()).Validate();
        int steps = output.Steps, keywords = labels.Count - 1;
        double step = output.StepSeconds;
        var detections = new List<KeywordDetection>();
        int quietUntil = -1;
        for (int t = 0; t < steps; t++)
        {
            if (t < quietUntil) continue;
            int from = Math.Max(0, t - options.SmoothSteps + 1);
            int best = -1;
            double bestScore = 0;
            for (int k = 0; k < keywords; k++)
            {
                double sum = 0;
                for (int s = from; s <= t; s++) sum += output.Posteriors[s, k];
                double mean = sum / (t - from + 1);
                if (mean > bestScore) (best, bestScore) = (k, mean);
            }
            if (best < 0 || bestScore < options.Threshold) continue;
            double start = (t - 10 * output.Bounds[t, 0]) * step, end = (t + 10 * output.Bounds[t, 1]) * step;
            detections.Add(new KeywordDetection(best, labels[best], (t + 1) * step, start, end, bestScore));
            quietUntil = t + (int)Math.Ceiling(options.RefractorySeconds / step);
        }
        return detections;
    }

    /// <summary>
    /// For each detection (in order), the index in <paramref name="events"/> of the keyword it hits, or −1 for a false
    /// alarm: the first word not yet hit with the same label, said from EarlySeconds before to LateSeconds after it.
    /// </summary>
    public static int[] Match(IReadOnlyList<KeywordDetection> detections, IReadOnlyList<KeywordEvent> events, int keywords, DetectorOptions? options = null)
    {
        options = (options ?? new DetectorOptions()).Validate();
        var hit = new bool[events.Count];
        var matches = new int[detections.Count];
        for (int d = 0; d < detections.Count; d++)
        {
            matches[d] = -1;
            for (int i = 0; i < events.Count && matches[d] < 0; i++)
            {
                var e = events[i];
                if (!hit[i] && e.Label >= 0 && e.Label < keywords && e.Label == detections[d].Label
                    && detections[d].Seconds >= e.Start - options.EarlySeconds && detections[d].Seconds <= e.End + options.LateSeconds)
                    (matches[d], hit[i]) = (i, true);
            }
        }
        return matches;
    }

    /// <summary>Hits, misses and false alarms of <paramref name="detections"/> against the keyword <paramref name="events"/>.</summary>
    public static DetectionScore Score(IReadOnlyList<KeywordDetection> detections, IReadOnlyList<KeywordEvent> events, int keywords, double seconds,
        DetectorOptions? options = null)
    {
        var matches = Match(detections, events, keywords, options);
        double startError = 0, endError = 0, centreError = 0;
        int hits = 0;
        for (int d = 0; d < detections.Count; d++)
        {
            if (matches[d] < 0) continue;
            hits++;
            var (det, e) = (detections[d], events[matches[d]]);
            startError += Math.Abs(det.Start - e.Start);
            endError += Math.Abs(det.End - e.End);
            centreError += Math.Abs((det.Start + det.End) / 2 - (e.Start + e.End) / 2);
        }
        double Mean(double total) => hits == 0 ? double.NaN : 1000 * total / hits;
        return new DetectionScore(events.Count(e => e.Label >= 0 && e.Label < keywords), hits, detections.Count - hits, seconds,
            Mean(startError), Mean(endError), Mean(centreError));
    }

    /// <summary>
    /// Per-word classification: for every word said (keyword or other), the class with the highest mean posterior over
    /// the steps where its label is given (middle of the word to the tail) against the truth (other words: "none").
    /// Returns (correct, words).
    /// </summary>
    public static (int Correct, int Total) ClassifyWords(StreamOutput output, LabelledStream stream, int keywords, int tailSteps)
    {
        int correct = 0, total = 0, classes = output.Posteriors.GetLength(1);
        foreach (var e in stream.Events.Where(e => e.Label >= 0))
        {
            int s0 = (int)Math.Floor(e.Start / output.StepSeconds), s1 = (int)Math.Ceiling(e.End / output.StepSeconds);
            int from = Math.Max(0, (s0 + s1) / 2), to = Math.Min(output.Steps, s1 + tailSteps);
            if (from >= to) continue;
            int best = 0;
            double bestMean = double.NegativeInfinity;
            for (int k = 0; k < classes; k++)
            {
                double sum = 0;
                for (int t = from; t < to; t++) sum += output.Posteriors[t, k];
                if (sum > bestMean) (best, bestMean) = (k, sum);
            }
            int truth = e.Label < keywords ? e.Label : keywords;
            total++;
            if (best == truth) correct++;
        }
        return (correct, total);
    }
}
