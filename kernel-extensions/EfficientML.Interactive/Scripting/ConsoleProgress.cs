using System.Diagnostics;
using System.Globalization;
using EfficientML.Core;

namespace EfficientML.Interactive.Scripting;

/// <summary>
/// Training progress on the console, for scripts: one text progress bar for the runs being followed, redrawn in place on a
/// terminal (a few times a second at most) and printed at every quarter when the output goes to a file or a CI log.
/// </summary>
sealed class ConsoleProgress(IReadOnlyList<TrainingRun> runs, string? title)
{
    const int Width = 30;
    static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    readonly object _gate = new();
    readonly bool _terminal = !Console.IsOutputRedirected;
    long _lastDrawn;
    int _lastQuarter = -1;
    bool _done;

    public void Update()
    {
        lock (_gate)
        {
            if (_done) return;
            int steps = runs.Sum(r => r.Steps.Count), total = Math.Max(1, runs.Sum(r => r.Options.Steps));
            bool finished = runs.All(r => r.Outcome != TrainingOutcome.Running);
            double share = finished ? 1 : Math.Min(1, steps / (double)total);
            var line = Line(share, steps, total);
            if (_terminal)
            {
                long now = Stopwatch.GetTimestamp();
                if (!finished && Stopwatch.GetElapsedTime(_lastDrawn, now) < Interval) return;
                _lastDrawn = now;
                Console.Write("\r" + line.PadRight(Console.IsOutputRedirected ? 0 : Math.Max(0, SafeWidth() - 1)));
                if (finished) Console.WriteLine();
            }
            else
            {
                int quarter = (int)(share * 4);
                if (quarter == _lastQuarter && !finished) return;
                if (quarter != _lastQuarter) Console.WriteLine(line);
                _lastQuarter = quarter;
            }
            if (finished)
            {
                _done = true;
                foreach (var run in runs) Console.WriteLine("  " + run);
            }
        }
    }

    string Line(double share, int steps, int total)
    {
        int filled = (int)Math.Round(share * Width);
        var name = title ?? string.Join(" + ", runs.Select(r => r.Name));
        var loss = runs.Select(r => r.LastLoss).LastOrDefault(l => l is not null);
        return $"{name} [{new string('#', filled)}{new string('.', Width - filled)}] {steps}/{total} steps" +
               (loss is double l ? $", loss {l.ToString("F3", CultureInfo.InvariantCulture)}" : "");
    }

    static int SafeWidth()
    {
        try { return Console.WindowWidth; }
        catch (IOException) { return 80; }
    }
}
