using System.Text.Encodings.Web;
using EfficientML.Cloning;
using EfficientML.Core;
using Microsoft.AspNetCore.Html;
using Microsoft.DotNet.Interactive;

namespace EfficientML.Interactive;

/// <summary>
/// Live outputs for plain C# cells: what <c>#!train</c> and <c>#!race</c> do for their charts, available to any code
/// that trains. Example: <c>var run = LanguageModelTraining.NewRun(model, corpus, options); LiveView.Follow(run);
/// LanguageModelTraining.Train(model, corpus, run);</c>, or for a race <c>var race = TrainingRace.NewRace(…);
/// LiveView.Follow(race); TrainingRace.Run(challenger, baseline, corpus, race);</c>. In a script (an exported tutorial) the
/// same calls print a progress bar and put the final chart in the script's report.
/// </summary>
public static class LiveView
{
    /// <summary>Least time between two redraws of a live output.</summary>
    public static TimeSpan UpdateInterval { get; } = TimeSpan.FromMilliseconds(400);

    /// <summary>
    /// Shows <paramref name="run"/> in the current cell now, and redraws it in place (throttled) whenever it
    /// grows; the last redraw, when it finishes, is never skipped. Returns the run, so it can be chained.
    /// </summary>
    public static TrainingRun Follow(TrainingRun run)
    {
        if (InScript() is { } script) script.Follow([run], null, run);
        else Follow(run, CurrentContext());
        return run;
    }

    /// <summary>
    /// Shows several runs in one live chart (a status line each, their curves on shared axes), redrawn in place (throttled)
    /// whenever any of them grows; when one finishes, the redraw is never skipped.
    /// </summary>
    public static IReadOnlyList<TrainingRun> Follow(IEnumerable<TrainingRun> runs, string? title = null)
    {
        var list = runs.ToList();
        if (InScript() is { } script)
        {
            if (list.Count == 0) throw new InvalidSettingsException("Give at least one training run to follow.");
            script.Follow(list, title, new LiveRuns(list, title));
        }
        else Follow(list, title, CurrentContext());
        return list;
    }

    /// <summary>Shows both runs of <paramref name="race"/> in one live chart, as <see cref="Follow(IEnumerable{TrainingRun}, string?)"/>.</summary>
    public static RaceResult Follow(RaceResult race)
    {
        // In a script the report shows the race's result (the mark, the steps each needed), as #!race ends with.
        if (InScript() is { } script) script.Follow([race.Challenger, race.Baseline], $"Race: {race.Challenger.Name} vs {race.Baseline.Name}", race);
        else Follow(race, CurrentContext());
        return race;
    }

    /// <summary>
    /// For library calls that make their run themselves and report it through a progress callback, e.g.
    /// <c>AcceleratorTraining.Train(model, adapters, corpus, training, options, progress: LiveView.Following())</c>: follows
    /// the first run the callback is given, as <see cref="Follow(TrainingRun)"/> does. With <paramref name="everyRun"/>, each
    /// new run it is given gets a view of its own (a call that trains several in turn, e.g. <c>DeploymentPipeline.Run</c>).
    /// </summary>
    public static Action<TrainingRun> Following(bool everyRun = false)
    {
        var followed = new HashSet<TrainingRun>(ReferenceEqualityComparer.Instance);
        return run =>
        {
            bool follow;
            lock (followed) follow = (everyRun || followed.Count == 0) && followed.Add(run);
            if (follow) Follow(run);
        };
    }

    /// <summary>The same in a given cell's context (the training magic passes its own).</summary>
    internal static TrainingRun Follow(TrainingRun run, KernelInvocationContext context)
    {
        var display = new ThrottledDisplay(context, UpdateInterval);
        display.Show(run);
        run.Updated += r => display.Show(r, force: r.Outcome != TrainingOutcome.Running);
        return run;
    }

    /// <summary>The race in a given cell's context; the display is returned so the magic can show the result in its place.</summary>
    internal static ThrottledDisplay Follow(RaceResult race, KernelInvocationContext context) =>
        Follow([race.Challenger, race.Baseline], $"Race: {race.Challenger.Name} vs {race.Baseline.Name}", context);

    internal static ThrottledDisplay Follow(IReadOnlyList<TrainingRun> runs, string? title, KernelInvocationContext context)
    {
        if (runs.Count == 0) throw new InvalidSettingsException("Give at least one training run to follow.");
        var display = new ThrottledDisplay(context, UpdateInterval);
        // Rendered when shown, not when built: each redraw draws the runs as they are at that moment.
        var view = new LiveRuns(runs, title);
        display.Show(view);
        foreach (var run in runs)
            run.Updated += r => display.Show(view, force: r.Outcome != TrainingOutcome.Running);
        return display;
    }

    /// <summary>
    /// The script host when this runs in a script (<see cref="Scripting.ScriptHost"/>) rather than a notebook cell: the
    /// runs then show as a progress bar on the console, and as their final chart in the script's report.
    /// </summary>
    static Scripting.ScriptHost? InScript() =>
        KernelInvocationContext.Current is null ? Scripting.ScriptHost.Current : null;

    static KernelInvocationContext CurrentContext() =>
        KernelInvocationContext.Current
        ?? throw new InvalidOperationException("LiveView.Follow shows output in a notebook cell; call it from a cell, before training starts.");

    /// <summary>Several runs as one HTML output, drawn anew each time it is formatted.</summary>
    sealed class LiveRuns(IReadOnlyList<TrainingRun> runs, string? title) : IHtmlContent
    {
        public void WriteTo(TextWriter writer, HtmlEncoder encoder) => writer.Write(TrainingRunHtml.Render(runs, title));
    }
}
