using EfficientML.Prefill;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!prefill</c>, bound by name; values arrive as text and are checked here.</summary>
public sealed class PrefillCommand : KernelDirectiveCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => PrefillMagic.ToCSharp(this);

    /// <summary>pretrained or timing.</summary>
    public OptionText? Model { get; set; }
    /// <summary>Workers (threads or MPI processes).</summary>
    public OptionText? Workers { get; set; }
    /// <summary>Prompt tokens.</summary>
    public OptionText? Length { get; set; }
    /// <summary>runahead, allgather, single or race.</summary>
    public OptionText? Method { get; set; }
    /// <summary>Chunk lengths, comma-separated.</summary>
    public OptionText? Partition { get; set; }
    /// <summary>threads or mpi.</summary>
    public OptionText? Transport { get; set; }
    /// <summary>Search the partition first.</summary>
    public bool Search { get; set; }
    /// <summary>Variable name of the result.</summary>
    public OptionText? Name { get; set; }
}

/// <summary>
/// <c>#!prefill</c>: parallel prefill of one prompt (KV-Runahead, the all-gather baseline, or one worker), in threads of the
/// notebook's process or in MPI processes, with each worker's timeline and the check against single-process prefill;
/// <c>--method race</c> runs all three on the same prompt, <c>--search</c> first searches KV-Runahead's partition.
/// C#: <c>PrefillRuns.Run(model, prompt, new PrefillOptions { ... })</c> (<c>KvRunahead.Prefill</c> and <c>PrefillSummary.Of</c>).
/// </summary>
static class PrefillMagic
{
    public const string Name = "#!prefill";
    public const string DefaultName = "prefill";

    /// <summary>Rounds timed per candidate and levels of the partition search (quick mode: one of each).</summary>
    public const int SearchRounds = 3, SearchLevels = 3;

    /// <summary>Longest prompt of the timing model.</summary>
    public const int MaxTimingLength = 8192;

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var directive = new KernelActionDirective(Name)
        {
            Description = "Prefills one prompt in parallel and draws every worker's timeline (compute, waiting for keys and values, sending them): " +
                          "KV-Runahead (each worker hands the grown KV cache to the next, layer by layer), the all-gather baseline, or one worker; " +
                          "--method race runs all three on the same prompt. Workers are threads of this process, or MPI processes (--transport mpi). " +
                          "The first-token logits and the KV cache are compared with single-process prefill. --search first searches KV-Runahead's " +
                          $"partition with a measured cost model. Keeps the result as a C# variable (--name, default '{DefaultName}'). " +
                          "C#: PrefillRuns.Run(model, prompt, new PrefillOptions { Workers = 2, Method = PrefillMethod.Runahead }).",
        };
        directive.Parameters.Add(new KernelDirectiveParameter("--model",
            "pretrained (the shipped model, 256-token context) or timing (random weights, 8 layers of width 256, any context, for long prompts); default pretrained.")
            .AddCompletions(() => ["pretrained", "timing"]));
        directive.Parameters.Add(new KernelDirectiveParameter("--workers", $"Workers that share the prompt (default 2): threads, 1 to {PrefillOptions.MaxWorkers}, or MPI processes, at most 4 per core of this machine."));
        directive.Parameters.Add(new KernelDirectiveParameter("--length",
            $"Prompt tokens, at most the model's context: 256 for pretrained, {Format.Count(MaxTimingLength)} for timing (default 200). Quick mode cuts it to {PrefillRuns.QuickLength}."));
        directive.Parameters.Add(new KernelDirectiveParameter("--method",
            "runahead (KV-Runahead), allgather (even chunks, keys and values all-gathered at every layer), single (one worker), or race " +
            "(single, allgather and runahead one after another on the same prompt, with the three timelines and a TTFT comparison); default runahead.")
            .AddCompletions(() => ["runahead", "allgather", "single", "race"]));
        directive.Parameters.Add(new KernelDirectiveParameter("--partition",
            "KV-Runahead's chunk lengths, one per worker, comma-separated and summing to --length, e.g. 120,80 (default: even chunks)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--transport",
            "threads (workers are threads of this process) or mpi (real processes under mpiexec.mpich, summaries read back); default threads.")
            .AddCompletions(() => ["threads", "mpi"]));
        directive.Parameters.Add(new KernelDirectiveParameter("--search",
            $"First search KV-Runahead's partition (threads only): a cost model measured on this machine proposes one, then a measured grid of " +
            $"{SearchLevels} levels refines it; draws measured against predicted TTFT and runs with the best. Keeps the search as NAMESearch.") { Flag = true });
        directive.Parameters.Add(new KernelDirectiveParameter("--name",
            $"Variable name for the result in C# cells (default '{DefaultName}'): a PrefillSummary, or a PrefillRace for --method race."));
        magics.Add<PrefillCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    /// <summary>The options of one <c>#!prefill</c> line, checked (before quick mode).</summary>
    internal sealed record Request(string Model, int Workers, int Length, string Method, IReadOnlyList<int>? Partition, bool Mpi, bool Search)
    {
        public bool Race => Method == "race";

        public PrefillMethod Parsed => Method switch
        {
            "single" => PrefillMethod.Single,
            "allgather" => PrefillMethod.AllGather,
            _ => PrefillMethod.Runahead,
        };

        /// <summary>The request quick mode runs: the prompt cut to <see cref="PrefillRuns.QuickLength"/>, a partition scaled to it.</summary>
        public Request Quick()
        {
            int length = PrefillRuns.Length(Length, quick: true);
            return this with { Length = length, Partition = Partition is null || length == Length ? Partition : Partitions.FromShares(Partition.Select(c => (double)c).ToList(), length) };
        }
    }

    internal static Request Read(PrefillCommand c)
    {
        var model = (c.Model?.ToString().Trim().ToLowerInvariant() ?? "pretrained") switch
        {
            "pretrained" => "pretrained",
            "timing" => "timing",
            var other => throw new MagicException($"--model is pretrained or timing (got '{OptionValues.Shown(other)}')."),
        };
        var method = c.Method?.ToString().Trim().ToLowerInvariant() ?? "runahead";
        if (method is not ("runahead" or "allgather" or "single" or "race"))
            throw new MagicException($"--method is runahead, allgather, single or race (got '{OptionValues.Shown(method)}').");
        var transport = c.Transport?.ToString().Trim().ToLowerInvariant() ?? "threads";
        if (transport is not ("threads" or "mpi"))
            throw new MagicException($"--transport is threads or mpi (got '{OptionValues.Shown(transport)}').");
        int workers = OptionValues.Int(c.Workers, "--workers", 2, min: 1, max: PrefillOptions.MaxWorkers);
        int length = OptionValues.Int(c.Length, "--length", 200, min: 1, max: MaxTimingLength,
            why: $"the pretrained model's context holds 256 tokens, the timing model's up to {Format.Count(MaxTimingLength)}");
        var partition = OptionValues.WholeNumbers(c.Partition, "--partition", "120,80", min: 1, max: MaxTimingLength);
        bool mpi = transport == "mpi";
        if (mpi && method == "single") throw new MagicException("--method single runs in one process: use --transport threads (or --method runahead, allgather or race over MPI).");
        if (c.Search && mpi) throw new MagicException("--search times candidates in threads of this process: leave out --transport mpi (and give the partition it finds to an MPI run with --partition).");
        if (c.Search && partition != null) throw new MagicException("Give either --partition or --search (which finds one), not both.");
        if (c.Search && method is "single" or "allgather") throw new MagicException($"--search looks for KV-Runahead's partition; --method {method} does not use one: use --method runahead or race.");
        if (partition != null && method is "single" or "allgather")
            throw new MagicException($"--partition sets KV-Runahead's chunks; --method {method} does not take one (all-gather always uses even chunks).");
        return new Request(model, workers, length, method, partition, mpi, c.Search);
    }

    /// <summary>
    /// C# equivalent: the model and prompt (the prompt cut by <c>PrefillRuns.Length</c> when <c>quick</c>), the partition search
    /// when asked for, then <c>PrefillRuns.Run</c>, <c>PrefillRuns.Race</c> or <c>PrefillRuns.Mpi</c>.
    /// </summary>
    internal static string ToCSharp(PrefillCommand c)
    {
        var r = Read(c);
        var n = OptionValues.VariableName(c.Name, "--name", DefaultName);
        bool shrinks = r.Length > PrefillRuns.QuickLength;
        var length = shrinks ? $"PrefillRuns.Length({r.Length}, quick)" : $"{r.Length}";
        string? partition = r.Partition is null ? null
            : shrinks ? $"Partitions.FromShares({CSharpSource.Literal(r.Partition.Select(p => (double)p).ToList())}, {n}Length)"
            : CSharpSource.Literal(r.Partition);
        var code = new System.Text.StringBuilder();
        if (r.Mpi)
        {
            if (shrinks) code.Append($"var {n}Length = {length};\n");
            var methods = r.Race ? "[PrefillMethod.AllGather, PrefillMethod.Runahead]" : $"[{CSharpSource.Literal(r.Parsed)}]";
            var shares = r.Partition is null ? "" : $", Shares = {CSharpSource.Literal(r.Partition.Select(p => p / (double)r.Length).ToList())}";
            var job = $"new MpiPrefillJob {{ Processes = {r.Workers}, Model = {CSharpSource.String(r.Model)}, Lengths = [{(shrinks ? $"{n}Length" : length)}], Methods = {methods}{shares} }}";
            code.Append($"var {n} = PrefillRuns.Mpi({job}){(r.Race ? "" : ".Summaries[0]")};\n");
            return code.Append($"display({n});").ToString();
        }
        code.Append($"var {n}Length = {length};\n");
        code.Append($"var {n}Model = PrefillModels.Load({CSharpSource.String(r.Model)}, {n}Length);\n");
        code.Append($"var {n}Prompt = PrefillModels.Prompt({n}Model, {n}Length);\n");
        if (r.Search)
        {
            code.Append($"var {n}Costs = PartitionCostModel.Measure({n}Model, {n}Length);\n");
            code.Append($"var {n}Search = PartitionSearch.Search({n}Costs, {n}Length, {r.Workers}, chunks => KvRunahead.MedianTime({n}Model, {n}Prompt, " +
                        $"new PrefillOptions {{ Workers = {r.Workers}, Partition = chunks }}, rounds: quick ? 1 : {SearchRounds}), levels: quick ? 1 : {SearchLevels});\n");
            code.Append($"display({n}Search);\n");
            partition = $"{n}Search.Best.Chunks";
        }
        if (r.Race)
            code.Append($"var {n} = PrefillRuns.Race({n}Model, {n}Prompt, {r.Workers}{(partition is null ? "" : $", {partition}")});\n");
        else
            code.Append($"var {n} = PrefillRuns.Run({n}Model, {n}Prompt, new PrefillOptions {{ Workers = {r.Workers}, Method = {CSharpSource.Literal(r.Parsed)}" +
                        $"{(partition is null ? "" : $", Partition = {partition}")} }});\n");
        return code.Append($"display({n});").ToString();
    }

    static async Task RunAsync(PrefillCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var r = Read(c);
        var name = session.ResultName(c.Name, "--name", DefaultName);
        var searchName = name + "Search";
        if (r.Search) session.EnsureFree(searchName, "--name");
        int rounds = SearchRounds, levels = SearchLevels;
        if (session.Quick)
        {
            var quick = r.Quick();
            var changes = new List<string>();
            if (quick.Length != r.Length) changes.Add($"{Format.Count(r.Length)} → {Format.Count(quick.Length)} prompt tokens");
            if (r.Search) changes.Add($"{SearchRounds} → 1 timed rounds and {SearchLevels} → 1 levels of the partition search");
            QuickMode.Announce(context, Name, changes);
            (r, rounds, levels) = (quick, 1, 1);
        }
        var token = context.CancellationToken;
        if (r.Mpi)
        {
            var job = new MpiPrefillJob
            {
                Processes = r.Workers, Model = r.Model, Lengths = [r.Length],
                Methods = r.Race ? [PrefillMethod.AllGather, PrefillMethod.Runahead] : [r.Parsed],
                Shares = r.Partition?.Select(p => p / (double)r.Length).ToList(),
            };
            if (r.Partition != null && r.Partition.Sum() != r.Length)
                throw new MagicException($"The partition [{string.Join(", ", r.Partition)}] sums to {r.Partition.Sum()} tokens but the prompt has {r.Length}: the chunks must add up to the prompt.");
            if (r.Model == "pretrained" && r.Length > 256)
                throw new MagicException($"The prompt has {r.Length} tokens but the pretrained model's context holds 256: use --length 256 or less, or --model timing.");
            var race = await Task.Run(() => PrefillRuns.Mpi(job), token);
            await Show(race.Summaries.Count == 1 ? race.Summaries[0] : race);
            return;
        }
        var result = await Task.Run(() =>
        {
            using var model = PrefillModels.Load(r.Model, r.Length);
            var prompt = PrefillModels.Prompt(model, r.Length);
            var partition = r.Partition;
            PartitionSearchResult? search = null;
            if (r.Search)
            {
                new PrefillOptions { Workers = r.Workers }.ChunksFor(prompt.Length, model.Config.ContextLength);
                var costs = PartitionCostModel.Measure(model, r.Length);
                search = PartitionSearch.Search(costs, r.Length, r.Workers,
                    chunks => KvRunahead.MedianTime(model, prompt, new PrefillOptions { Workers = r.Workers, Partition = chunks }, rounds), levels);
                partition = search.Best.Chunks;
            }
            object shown = r.Race
                ? PrefillRuns.Race(model, prompt, r.Workers, partition)
                : PrefillRuns.Run(model, prompt, new PrefillOptions { Workers = r.Workers, Method = r.Parsed, Partition = partition });
            return (search, shown);
        }, token);
        if (result.search is { } found)
        {
            context.Display(found, HtmlFormatter.MimeType);
            await session.ShareAsync(searchName, found, typeof(PartitionSearchResult));
        }
        await Show(result.shown);

        async Task Show(object value)
        {
            context.Display(value, HtmlFormatter.MimeType);
            await session.ShareAsync(name, value, value.GetType());
        }
    }
}
