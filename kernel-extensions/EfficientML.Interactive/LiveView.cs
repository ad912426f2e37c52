using EfficientML.Core;
using Microsoft.DotNet.Interactive;

namespace EfficientML.Interactive;

/// <summary>
/// Live outputs for plain C# cells: what <c>#!train</c> does for its chart, available to any code that
/// trains. Example: <c>var run = LanguageModelTraining.NewRun(model, corpus, options); LiveView.Follow(run);
/// LanguageModelTraining.Train(model, corpus, run);</c>
/// </summary>
public static class LiveView
{
    /// <summary>Least time between two redraws of a live output.</summary>
    public static TimeSpan UpdateInterval { get; } = TimeSpan.FromMilliseconds(400);

    /// <summary>
    /// Shows <paramref name="run"/> in the current cell now, and redraws it in place (throttled) whenever it
    /// grows; the last redraw, when it finishes, is never skipped. Returns the run, so it can be chained.
    /// </summary>
    public static TrainingRun Follow(TrainingRun run) =>
        Follow(run, KernelInvocationContext.Current
                    ?? throw new InvalidOperationException("LiveView.Follow shows output in a notebook cell; call it from a cell, before training starts."));

    /// <summary>The same in a given cell's context (the training magic passes its own).</summary>
    internal static TrainingRun Follow(TrainingRun run, KernelInvocationContext context)
    {
        var display = new ThrottledDisplay(context, UpdateInterval);
        display.Show(run);
        run.Updated += r => display.Show(r, force: r.Outcome != TrainingOutcome.Running);
        return run;
    }
}
