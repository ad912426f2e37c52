using System.Diagnostics;

namespace EfficientML.Core;

/// <summary>
/// Times several ways of doing the same work fairly on a noisy machine: after a warm-up, they run in turn, one call each
/// per repeat, so a burst of load hits all of them alike; each one's time is the median over the repeats.
/// </summary>
public static class Latency
{
    /// <summary>The median milliseconds per call of each of <paramref name="runs"/>, in their order.</summary>
    public static double[] Medians(IReadOnlyList<Action> runs, int repeats = 50, int warmup = 5, CancellationToken cancellation = default)
    {
        if (runs.Count == 0) throw new InvalidSettingsException("Give at least one thing to time.");
        if (repeats < 1) throw new InvalidSettingsException($"Time at least one repeat (got {repeats}).");
        for (int w = 0; w < warmup; w++)
            foreach (var run in runs) run();
        var times = runs.Select(_ => new double[repeats]).ToArray();
        var clock = new Stopwatch();
        for (int r = 0; r < repeats; r++)
            for (int i = 0; i < runs.Count; i++)
            {
                cancellation.ThrowIfCancellationRequested();
                clock.Restart();
                runs[i]();
                times[i][r] = clock.Elapsed.TotalMilliseconds;
            }
        return times.Select(t => BatchStatistics.Median(t)).ToArray();
    }
}
