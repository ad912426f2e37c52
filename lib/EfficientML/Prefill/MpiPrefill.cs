using System.Globalization;
using EfficientML.Core;
using EfficientML.Distributed;
using EfficientML.Models;
using static TorchSharp.torch;

namespace EfficientML.Prefill;

/// <summary>One MPI prefill job: which model, which prompt lengths, which methods, how many rounds.</summary>
public sealed record MpiPrefillJob
{
    /// <summary>MPI processes (P).</summary>
    public int Processes { get; init; } = 2;

    /// <summary>"pretrained" or "timing" (see <see cref="PrefillModels"/>).</summary>
    public string Model { get; init; } = "pretrained";

    /// <summary>Prompt lengths, in tokens.</summary>
    public IReadOnlyList<int> Lengths { get; init; } = [200];

    /// <summary>Methods, run alternately in every round (<see cref="PrefillMethod.Single"/> is not an MPI method: it runs in one process).</summary>
    public IReadOnlyList<PrefillMethod> Methods { get; init; } = [PrefillMethod.Runahead, PrefillMethod.AllGather];

    /// <summary>KV-Runahead chunk lengths per prompt length (shares are scaled to each length); null: even.</summary>
    public IReadOnlyList<double>? Shares { get; init; }

    /// <summary>With <see cref="Shares"/>: also run KV-Runahead with even chunks in every round (to compare the two).</summary>
    public bool CompareEven { get; init; }

    /// <summary>Rounds; the first is a warm-up and is reported too (marked by its round number).</summary>
    public int Rounds { get; init; } = 1;

    /// <summary>In the first round, the last process also prefills alone and reports the largest differences of logits and cache.</summary>
    public bool Check { get; init; } = true;

    /// <summary>Torch threads per process.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Most processes a job starts on this machine: 4 per core.</summary>
    public static int MaxProcesses => Math.Min(PrefillOptions.MaxWorkers, 4 * Environment.ProcessorCount);

    /// <summary>The command-line arguments of <c>efficientml prefill</c> that run this job.</summary>
    public IEnumerable<string> Arguments()
    {
        yield return "prefill";
        yield return "--model"; yield return Model;
        yield return "--lengths"; yield return string.Join(',', Lengths);
        yield return "--methods"; yield return string.Join(',', Methods.Select(m => m.ToString().ToLowerInvariant()));
        yield return "--rounds"; yield return Rounds.ToString(CultureInfo.InvariantCulture);
        yield return "--check"; yield return Check ? "true" : "false";
        if (Shares != null) { yield return "--shares"; yield return string.Join(',', Shares.Select(s => s.ToString("R", CultureInfo.InvariantCulture))); }
        if (CompareEven) { yield return "--compare-even"; yield return "true"; }
    }

    /// <summary>Throws one clear message for a job that cannot run.</summary>
    public MpiPrefillJob Validate()
    {
        if (Processes < 1 || Processes > MaxProcesses)
            throw new InvalidSettingsException($"Use 1 to {MaxProcesses} MPI processes on this machine (4 per core; each loads the model and libtorch), not {Processes}.");
        if (Lengths.Count == 0 || Lengths.Any(l => l < Processes)) throw new InvalidSettingsException($"Give prompt lengths of at least one token per process ({Processes}).");
        if (Methods.Count == 0 || Methods.Contains(PrefillMethod.Single)) throw new InvalidSettingsException("Give runahead and/or allgather; single-process prefill runs without MPI.");
        if (Rounds < 1) throw new InvalidSettingsException($"Run at least one round (got {Rounds}).");
        if (Model is not ("pretrained" or "timing"))
            throw new InvalidSettingsException($"Unknown prefill model '{Model}': use 'pretrained' (the shipped model, 256-byte context) or 'timing' (random weights, long context).");
        int context = Model == "pretrained" ? Models.PretrainedModels.TinyMobyConfig.ContextLength : int.MaxValue;
        if (Lengths.Max() > context)
            throw new InvalidSettingsException($"A prompt of {Lengths.Max()} tokens does not fit the pretrained model's context of {context}: use --model timing for longer prompts.");
        if (Shares != null && (Shares.Count != Processes || Shares.Any(s => !(s > 0))))
            throw new InvalidSettingsException($"Give one positive share per process ({Processes}); got [{string.Join(", ", Shares)}].");
        return this;
    }
}

/// <summary>A prefill summary from an MPI job, with the prompt length and round it belongs to.</summary>
public sealed record MpiPrefillResult(int Length, int Round, PrefillSummary Summary);

/// <summary>
/// Parallel prefill over real processes: <see cref="Run"/> launches <c>efficientml prefill</c> under MPICH from C# or a
/// notebook and reads back one summary per (length, method, round); <see cref="Work"/> is what each process runs.
/// </summary>
public static class MpiPrefill
{
    const string Marker = "prefill-summary ";

    /// <summary>Runs <paramref name="job"/> in <see cref="MpiPrefillJob.Processes"/> MPI processes and returns every summary.</summary>
    public static IReadOnlyList<MpiPrefillResult> Run(MpiPrefillJob job, TimeSpan? timeout = null)
    {
        job.Validate();
        var run = MpiLauncher.RunChecked(job.Processes, job.Arguments(), job.Threads, timeout);
        return run.Output.Split('\n').Where(l => l.StartsWith(Marker, StringComparison.Ordinal)).Select(l =>
        {
            var parts = l[Marker.Length..].Split(' ', 3);
            return new MpiPrefillResult(int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), PrefillSummary.FromJson(parts[2]));
        }).ToList();
    }

    /// <summary>
    /// One process's part of <paramref name="job"/> in the MPI world: every process builds the same model and prompt, and
    /// for each length and round runs each method together; the last process prints one line per summary.
    /// </summary>
    public static void Work(MpiPrefillJob job, TextWriter output)
    {
        var group = MpiCommunicator.World();
        job = job with { Processes = group.Size };
        job.Validate();
        int context = Math.Max(job.Lengths.Max(), 1);
        using var model = PrefillModels.Load(job.Model, context);
        bool last = group.Rank == group.Size - 1;
        foreach (var length in job.Lengths)
        {
            var prompt = PrefillModels.Prompt(model, length);
            for (int round = 0; round < job.Rounds; round++)
            {
                foreach (var (method, partition) in Variants(job, length))
                {
                    using var scope = NewDisposeScope();
                    var options = new PrefillOptions { Workers = group.Size, Method = method, Partition = partition };
                    var chunks = options.ChunksFor(length, model.Config.ContextLength);
                    bool check = job.Check && round == 0;
                    using var mine = KvRunahead.RunWorker(model, prompt, chunks, method, group, keepCache: check);
                    var summary = PrefillSummary.Gather(mine, method, chunks, group);
                    if (!last) continue;
                    if (check)
                    {
                        using var reference = KvRunahead.Prefill(model, prompt, new PrefillOptions { Method = PrefillMethod.Single });
                        summary = summary with
                        {
                            MaxLogitDifference = PrefillSummary.MaxDifference(mine.Logits!, reference.Logits),
                            MaxCacheDifference = PrefillSummary.CacheDifference(mine.Cache!, reference.Cache!),
                            LogitScale = PrefillSummary.Scale(reference.Logits),
                        };
                    }
                    output.WriteLine($"{Marker}{length} {round} {summary.ToJson()}");
                    output.Flush();
                }
            }
        }
        group.Barrier();
    }

    /// <summary>Each method once per round; KV-Runahead with the job's shares, and with even chunks too when asked.</summary>
    static IEnumerable<(PrefillMethod Method, int[]? Partition)> Variants(MpiPrefillJob job, int length)
    {
        foreach (var method in job.Methods)
        {
            if (method != PrefillMethod.Runahead || job.Shares is null) { yield return (method, null); continue; }
            if (job.CompareEven) yield return (method, null);
            yield return (method, Partitions.FromShares(job.Shares, length));
        }
    }

    /// <summary>The job described by <c>efficientml prefill</c>'s options (the inverse of <see cref="MpiPrefillJob.Arguments"/>).</summary>
    public static MpiPrefillJob Parse(Func<string, string?> option)
    {
        static IReadOnlyList<T> List<T>(string text, Func<string, T> parse, string what)
        {
            try { return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(parse).ToList(); }
            catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
            { throw new InvalidSettingsException($"--{what} needs a comma-separated list, not '{text}'."); }
        }
        var job = new MpiPrefillJob();
        if (option("model") is { } m) job = job with { Model = m };
        if (option("lengths") is { } l) job = job with { Lengths = List(l, s => int.Parse(s, CultureInfo.InvariantCulture), "lengths") };
        if (option("methods") is { } ms) job = job with { Methods = List(ms, s => Enum.Parse<PrefillMethod>(s, ignoreCase: true), "methods") };
        if (option("shares") is { } sh) job = job with { Shares = List(sh, s => double.Parse(s, CultureInfo.InvariantCulture), "shares") };
        if (option("rounds") is { } r) job = job with { Rounds = int.TryParse(r, out var n) ? n : throw new InvalidSettingsException($"--rounds needs a whole number, not '{r}'.") };
        if (option("check") is { } c) job = job with { Check = c == "true" };
        if (option("compare-even") is { } e) job = job with { CompareEven = e == "true" };
        return job;
    }
}
