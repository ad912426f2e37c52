using EfficientML.Core;
using EfficientML.Prefill;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// KV-Runahead (notebook 07): time to first token of a long prompt on P = 2 MPI processes, one torch thread each, against
/// the all-gather (sequence-parallel) baseline on the same processes, and against one process with one and with two
/// threads (the same cores); even chunks and the searched partition; the bytes handed on; and, from the costs measured in
/// this run, a projection for P = 4 and 8, labelled as modelled. The model has random weights and a long context (the
/// pretrained one holds 256 bytes); time does not depend on the weights.
/// </summary>
public sealed class PrefillSuite : IBenchmarkSuite
{
    /// <inheritdoc />
    public string Name => "prefill";

    /// <inheritdoc />
    public string Description => "KV-Runahead vs all-gather prefill over 2 MPI processes, and one process with 1 and 2 threads: time to first token";

    /// <inheritdoc />
    public IReadOnlyList<Measurement> Run(bool quick, TextWriter log)
    {
        int[] lengths = quick ? [256, 512] : [1024, 2048, 4096];
        int rounds = quick ? 2 : 5;
        var rows = new List<Measurement>();
        int threadsBefore = TorchThreads.Current;
        using var model = PrefillModels.Load("timing", lengths.Max());
        TorchThreads.Set(1);
        var costs = PartitionCostModel.Measure(model, lengths.Max());
        log.WriteLine($"cost model: {costs.AttentionSecondsPerPair * 1e9:0.000} ns per query-key pair, {costs.LinearSecondsPerToken * 1e6:0.0} µs per token, " +
                      $"{costs.LayerSeconds * 1e6:0} µs per layer, copies at {costs.BytesPerSecond / 1e9:0.0} GB/s");
        var table = new PartitionTable();
        var observed = new List<PrefillSummary>();
        foreach (var length in lengths)
        {
            var prompt = PrefillModels.Prompt(model, length);
            // The partition: the cost model's proposal refined by a measured grid, the workers being threads (one core each).
            var search = PartitionSearch.Search(costs, length, 2,
                chunks => KvRunahead.MedianTime(model, prompt, new PrefillOptions { Workers = 2, Partition = chunks }, rounds: quick ? 1 : 3), levels: quick ? 1 : 3);
            table.Add(search);
            var shares = search.Best.Chunks.Select(c => c / (double)length).ToArray();
            log.WriteLine($"{length} tokens: searched [{string.Join(", ", search.Best.Chunks)}] over {search.Tried.Count} measured candidates");
            var mpi = MpiPrefill.Run(new MpiPrefillJob
            {
                Processes = 2, Model = "timing", Lengths = [length], Rounds = rounds + 1, Shares = shares, CompareEven = true,
                Methods = [PrefillMethod.AllGather, PrefillMethod.Runahead], Check = true,
            }, TimeSpan.FromMinutes(20)).Where(r => r.Round > 0).ToList();   // round 0 warms up (and checks equality)
            observed.AddRange(mpi.Select(r => r.Summary));
            double Median(Func<PrefillSummary, bool> which)
            {
                return EfficientML.Benchmarks.Median.Of(mpi.Where(r => which(r.Summary)).Select(r => r.Summary.TimeToFirstToken));
            }
            var even = Partitions.Even(length, 2);
            double allGather = Median(s => s.Method == PrefillMethod.AllGather);
            double runEven = Median(s => s.Method == PrefillMethod.Runahead && s.Chunks.SequenceEqual(even));
            double runSearched = search.Best.Chunks.SequenceEqual(even) ? runEven : Median(s => s.Method == PrefillMethod.Runahead && !s.Chunks.SequenceEqual(even));
            var handoff = mpi.First(r => r.Summary.Method == PrefillMethod.Runahead).Summary.BytesSent;
            var exchanged = mpi.First(r => r.Summary.Method == PrefillMethod.AllGather).Summary.BytesSent;
            double single1 = SingleProcess(model, prompt, 1, rounds), single2 = SingleProcess(model, prompt, 2, rounds);
            TorchThreads.Set(1);
            string n = $"{length} tokens";
            rows.Add(new($"prefill {n}: one process, 1 thread", single1 * 1000, "ms", Note: $"median of {rounds}; 8 layers of width 256"));
            rows.Add(new($"prefill {n}: one process, 2 threads", single2 * 1000, "ms", $"prefill {n}: one process, 1 thread", single2 / single1, "the same 2 cores as the 2 processes"));
            rows.Add(new($"prefill {n}: all-gather, 2 MPI processes", allGather * 1000, "ms", $"prefill {n}: one process, 2 threads", allGather / single2,
                $"even chunks; {exchanged / 1e6:0.0} MB of keys and values all-gathered in all"));
            rows.Add(new($"prefill {n}: KV-Runahead even, 2 MPI processes", runEven * 1000, "ms", $"prefill {n}: all-gather, 2 MPI processes", runEven / allGather));
            rows.Add(new($"prefill {n}: KV-Runahead searched, 2 MPI processes", runSearched * 1000, "ms", $"prefill {n}: all-gather, 2 MPI processes", runSearched / allGather,
                $"chunks [{string.Join(", ", search.Best.Chunks)}]; {handoff / 1e6:0.0} MB handed on; vs one process with 2 threads {runSearched / single2:0.00}×, " +
                $"vs 1 thread {runSearched / single1:0.00}×; median of {rounds} rounds alternating with the others"));
        }
        // P = 4 and 8 cannot run on 2 cores: a cost model predicts them, its α, β, γ fitted to every layer the MPI workers
        // computed above (the single-layer measurement is in the log only). The model has 8 layers; KV-Runahead's pipeline
        // fills in P − 1 layer-steps, so the same costs are also projected for a 32-layer model, as deep as the paper's.
        var fitted = PartitionCostModel.Fit(observed, costs);
        log.WriteLine($"fitted to {observed.Count} MPI prefills: {fitted.AttentionSecondsPerPair * 1e9:0.000} ns per pair, " +
                      $"{fitted.LinearSecondsPerToken * 1e6:0.0} µs per token, {fitted.LayerSeconds * 1e6:0} µs per layer");
        int longest = lengths.Max();
        foreach (var layers in new[] { 8, 32 })
            foreach (var p in new[] { 2, 4, 8 })
            {
                var model32 = fitted with { Layers = layers };
                var best = model32.Optimise(longest, p);
                double runahead = model32.Predict(best), allGather = model32.PredictAllGather(longest, p), single = model32.PredictSingle(longest);
                rows.Add(new($"modelled: KV-Runahead, P = {p}, {layers} layers, {longest} tokens", runahead * 1000, "ms", $"modelled: all-gather, P = {p}", runahead / allGather,
                    $"predicted, not run; all-gather {allGather * 1000:0} ms (no collective latency beyond the copy), one worker {single * 1000:0} ms " +
                    $"({single / runahead:0.0}× KV-Runahead's); chunks [{string.Join(", ", best)}]"));
            }
        var checkLength = lengths[^1];
        rows.Add(new($"model check: predicted KV-Runahead, P = 2, {checkLength} tokens, measured partition", fitted.Predict(table.Lookup(2, checkLength)!) * 1000, "ms",
            Note: "the fitted model's prediction of the searched run measured above"));
        TorchThreads.Set(threadsBefore);
        return rows;
    }

    static double SingleProcess(EfficientML.Models.TinyGpt model, int[] prompt, int threads, int rounds)
    {
        TorchThreads.Set(threads);
        return KvRunahead.MedianTime(model, prompt, new PrefillOptions { Method = PrefillMethod.Single }, rounds);
    }
}
