using EfficientML.Models;
using EfficientML.Prefill;

namespace EfficientML.Interactive;

/// <summary>Several prefills of one prompt (or one MPI job), each summarised; single-process prefill first when it ran.</summary>
public sealed record PrefillRace(IReadOnlyList<PrefillSummary> Summaries)
{
    /// <summary>The summary of <paramref name="method"/> (the first, for several lengths), or null when it did not run.</summary>
    public PrefillSummary? this[PrefillMethod method] => Summaries.FirstOrDefault(s => s.Method == method);
}

/// <summary>
/// What <c>#!prefill</c> runs, as plain C# calls: one method checked against single-process prefill, the race of all
/// three on one prompt, and MPI jobs, each returned as <see cref="PrefillSummary"/> values that display the same way.
/// </summary>
public static class PrefillRuns
{
    /// <summary>Longest prompt quick mode runs (the timing model's prompts are cut to this).</summary>
    public const int QuickLength = 512;

    /// <summary>
    /// The prompt length quick mode uses for <paramref name="asked"/> tokens; in a script, a prompt cut short is said on the
    /// console and in the report, as the magic says it above its output.
    /// </summary>
    public static int Length(int asked, bool quick)
    {
        int used = quick ? Math.Min(asked, QuickLength) : asked;
        if (used != asked && Microsoft.DotNet.Interactive.KernelInvocationContext.Current is null && Scripting.ScriptHost.Current is { } script)
        {
            var change = $"{Format.Count(asked)} → {Format.Count(used)} prompt tokens";
            Console.WriteLine($"Quick mode: {PrefillMagic.Name} runs shortened, {change}.");
            script.Report.Add(QuickMode.NoteHtml(PrefillMagic.Name, [change]), Microsoft.DotNet.Interactive.Formatting.HtmlFormatter.MimeType, 0);
        }
        return used;
    }

    /// <summary>
    /// Prefills <paramref name="prompt"/> with <paramref name="options"/> in threads and summarises it, checked against
    /// single-process prefill of the same prompt (not for <see cref="PrefillMethod.Single"/> itself).
    /// </summary>
    public static PrefillSummary Run(TinyGpt model, IReadOnlyList<int> prompt, PrefillOptions options)
    {
        options.ChunksFor(prompt.Count, model.Config.ContextLength);          // one clear message before any work
        WarmUp(model, prompt);
        if (options.Method == PrefillMethod.Single)
        {
            using var alone = KvRunahead.Prefill(model, prompt, options);
            return PrefillSummary.Of(alone);
        }
        using var run = KvRunahead.Prefill(model, prompt, options);
        using var reference = KvRunahead.Prefill(model, prompt, new PrefillOptions { Method = PrefillMethod.Single });
        return PrefillSummary.Of(run, reference);
    }

    /// <summary>
    /// Single-process prefill, the all-gather baseline (even chunks) and KV-Runahead (<paramref name="partition"/>, or even
    /// chunks) one after another on the same prompt, in threads; the parallel two checked against the single one.
    /// </summary>
    public static PrefillRace Race(TinyGpt model, IReadOnlyList<int> prompt, int workers, IReadOnlyList<int>? partition = null)
    {
        new PrefillOptions { Workers = workers, Method = PrefillMethod.Runahead, Partition = partition }.ChunksFor(prompt.Count, model.Config.ContextLength);
        WarmUp(model, prompt);
        using var single = KvRunahead.Prefill(model, prompt, new PrefillOptions { Method = PrefillMethod.Single });
        using var allGather = KvRunahead.Prefill(model, prompt, new PrefillOptions { Workers = workers, Method = PrefillMethod.AllGather });
        using var runahead = KvRunahead.Prefill(model, prompt, new PrefillOptions { Workers = workers, Method = PrefillMethod.Runahead, Partition = partition });
        return new PrefillRace([PrefillSummary.Of(single), PrefillSummary.Of(allGather, single), PrefillSummary.Of(runahead, single)]);
    }

    /// <summary>
    /// Runs <paramref name="job"/> in MPI processes (at least two rounds) and returns the last round's summaries, every
    /// length and method, each with the first round's check against single-process prefill: the first round warms the
    /// processes up (their first MPI exchanges and first calls are slow) and checks.
    /// </summary>
    public static PrefillRace Mpi(MpiPrefillJob job)
    {
        var results = MpiPrefill.Run(job with { Rounds = Math.Max(job.Rounds, 2) });
        int last = results.Max(r => r.Round);
        return new(results.Where(r => r.Round == last).Select(r =>
        {
            var first = results.First(c => c.Round == 0 && c.Length == r.Length && c.Summary.Method == r.Summary.Method && c.Summary.Chunks.SequenceEqual(r.Summary.Chunks)).Summary;
            return r.Summary with { MaxLogitDifference = first.MaxLogitDifference, MaxCacheDifference = first.MaxCacheDifference, LogitScale = first.LogitScale };
        }).ToList());
    }

    /// <summary>One untimed single-process prefill, so the first timed run does not pay for first-call costs.</summary>
    static void WarmUp(TinyGpt model, IReadOnlyList<int> prompt)
    {
        using var warm = KvRunahead.Prefill(model, prompt, new PrefillOptions { Method = PrefillMethod.Single, KeepCache = false });
    }
}
