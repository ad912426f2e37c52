using System.Globalization;
using EfficientML.Core;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>
/// Quick mode: when a notebook's <c>quick</c> variable (declared in its parameters cell; the runner and the tests set it to
/// true) is true, every magic that trains or sweeps shortens its work to at most a quick budget, whatever its options ask,
/// and says so above its output. A notebook then runs end to end in under a minute on two cores, to show that everything
/// works; its figures mean nothing until it runs with <c>quick = false</c>. The magic lines keep the values of the real run.
/// </summary>
public static class QuickMode
{
    /// <summary>
    /// The budget for <c>#!train</c> and <c>#!race</c>: enough steps that a fresh model's loss clearly falls, small batches.
    /// </summary>
    public static TrainingOptions Training { get; } = new()
    {
        Steps = 20, BatchSize = 8, BlockSize = 64, WarmupSteps = 2, EvalEvery = 10, EvalBatches = 2,
    };

    /// <summary>
    /// <paramref name="options"/> within the quick budget <paramref name="quick"/>: steps, batch, block, warmup, evaluation
    /// interval and evaluation batches each at most the budget's (the learning rate, seed and the rest unchanged).
    /// </summary>
    public static TrainingOptions Shorten(TrainingOptions options, TrainingOptions quick)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(quick);
        int steps = Math.Min(options.Steps, quick.Steps);
        return options with
        {
            Steps = steps,
            BatchSize = Math.Min(options.BatchSize, quick.BatchSize),
            BlockSize = Math.Min(options.BlockSize, quick.BlockSize),
            WarmupSteps = Math.Min(Math.Min(options.WarmupSteps, quick.WarmupSteps), steps),
            EvalEvery = options.EvalEvery == 0 ? 0 : Math.Min(Math.Min(options.EvalEvery, quick.EvalEvery), steps),
            EvalBatches = Fewer(options.EvalBatches, quick.EvalBatches),
        };
    }

    /// <summary>The smaller of two batch counts, where null means the whole split (more than any number).</summary>
    public static int? Fewer(int? asked, int? quick) => (asked, quick) switch
    {
        (null, _) => quick,
        (_, null) => asked,
        ({ } a, { } q) => Math.Min(a, q),
    };

    /// <summary>What quick mode changed, "16 → 4 steps, …", empty when nothing (the options already fit the budget).</summary>
    public static IReadOnlyList<string> Changes(TrainingOptions asked, TrainingOptions used)
    {
        var changes = new List<string>();
        void Add(string what, long before, long after)
        {
            if (before != after) changes.Add($"{Count(before)} → {Count(after)} {what}");
        }
        Add("steps", asked.Steps, used.Steps);
        Add("sequences per batch", asked.BatchSize, used.BatchSize);
        Add("tokens per sequence", asked.BlockSize, used.BlockSize);
        if (asked.EvalBatches != used.EvalBatches)
            changes.Add($"{(asked.EvalBatches is { } b ? Count(b) : "all")} → {(used.EvalBatches is { } u ? Count(u) : "all")} validation batches");
        return changes;
    }

    /// <summary>
    /// Shows, above a magic's output, the one line that says quick mode shortened it (nothing when it did not):
    /// <paramref name="magic"/> is the magic's name, <paramref name="changes"/> what changed.
    /// </summary>
    public static void Announce(KernelInvocationContext context, string magic, IReadOnlyList<string> changes)
    {
        if (changes.Count == 0) return;
        context.DisplayAs(NoteHtml(magic, changes), HtmlFormatter.MimeType);
    }

    /// <summary>The note's HTML.</summary>
    public static string NoteHtml(string magic, IReadOnlyList<string> changes) =>
        $"<div class=\"efml-quick\" style=\"{Html.BlockStyle};color:#6e5a00;background:#fff8c5;border-left:3px solid #d4a72c;padding:4px 10px\">" +
        $"<b>Quick mode</b> (<code>quick = true</code>): {Html.Encode(magic)} runs shortened, {Html.Encode(string.Join(", ", changes))}. " +
        "It shows that everything works; the figures mean something only with <code>quick = false</code>.</div>";

    /// <summary>
    /// The options a magic runs with: <paramref name="asked"/>, shortened to <paramref name="budget"/> when the notebook is in
    /// quick mode, which the note above the output then says.
    /// </summary>
    internal static TrainingOptions Apply(NotebookSession session, KernelInvocationContext context, string magic, TrainingOptions asked, TrainingOptions budget)
    {
        if (!session.Quick) return asked;
        var used = Shorten(asked, budget);
        Announce(context, magic, Changes(asked, used));
        return used;
    }

    /// <summary>
    /// The same for C# code and scripts (a magic's <see cref="ICSharpEquivalent"/> translation): <paramref name="asked"/>,
    /// shortened to <paramref name="budget"/> when <paramref name="quick"/>; in a script the note goes to the console and the report.
    /// </summary>
    public static TrainingOptions Apply(string magic, TrainingOptions asked, TrainingOptions budget, bool quick)
    {
        if (!quick) return asked;
        var used = Shorten(asked, budget);
        var changes = Changes(asked, used);
        if (changes.Count > 0 && Scripting.ScriptHost.Current is { } script)
        {
            Console.WriteLine($"Quick mode: {magic} runs shortened, {string.Join(", ", changes)}.");
            script.Report.Add(NoteHtml(magic, changes), HtmlFormatter.MimeType, 0);
        }
        return used;
    }

    static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
