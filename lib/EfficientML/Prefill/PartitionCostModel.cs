using System.Diagnostics;
using EfficientML.Core;
using EfficientML.Models;
using static TorchSharp.torch;

namespace EfficientML.Prefill;

/// <summary>
/// Predicted KV-Runahead time to first token from measured costs. A worker's layer over a chunk of T tokens after a prefix
/// of s costs α·T·(s + (T+1)/2) (causal attention: each query sees the prefix and half its chunk) + β·T (projections, MLP)
/// + γ (fixed per-layer cost); handing layer l's keys and values on costs λ + bytes ÷ bandwidth. Worker i starts layer l
/// when it has finished layer l−1 and worker i−1's hand-off of layer l has arrived, which the prediction follows exactly.
/// </summary>
public sealed record PartitionCostModel(
    double AttentionSecondsPerPair,
    double LinearSecondsPerToken,
    double LayerSeconds,
    double BytesPerSecond,
    double HandoffLatencySeconds,
    int Layers,
    long BytesPerPosition)
{
    /// <summary>Seconds of one layer over a chunk of <paramref name="tokens"/> after <paramref name="prefix"/> positions.</summary>
    public double LayerCost(int tokens, int prefix) =>
        AttentionSecondsPerPair * tokens * (prefix + (tokens + 1) / 2.0) + LinearSecondsPerToken * tokens + LayerSeconds;

    /// <summary>Seconds to hand on one layer's keys and values of <paramref name="positions"/> positions.</summary>
    public double HandoffCost(int positions) => HandoffLatencySeconds + positions * (double)BytesPerPosition / BytesPerSecond;

    /// <summary>Predicted time to first token of KV-Runahead with <paramref name="chunks"/>.</summary>
    public double Predict(IReadOnlyList<int> chunks)
    {
        var starts = Partitions.Starts(chunks);
        var previous = new double[Layers];                 // when worker i−1 finished each layer
        var current = new double[Layers];
        for (int i = 0; i < chunks.Count; i++)
        {
            double clock = 0;
            for (int l = 0; l < Layers; l++)
            {
                double ready = i == 0 ? 0 : previous[l] + HandoffCost(starts[i]);
                clock = Math.Max(clock, ready) + LayerCost(chunks[i], starts[i]);
                current[l] = clock;
            }
            (previous, current) = (current, previous);
        }
        return previous[Layers - 1];
    }

    /// <summary>Chunks whose per-layer costs are as equal as whole tokens allow (bisection on the cost per chunk).</summary>
    public int[] EqualCost(int length, int workers)
    {
        double low = 0, high = LayerCost(length, 0);
        int[] Fill(double budget)
        {
            var chunks = new List<int>();
            int start = 0;
            while (start < length && chunks.Count < workers)
            {
                int left = workers - chunks.Count - 1, take = 1;
                // The longest chunk within the budget, leaving a token for each later worker.
                int lo = 1, hi = length - start - left;
                while (lo <= hi)
                {
                    int mid = (lo + hi) / 2;
                    if (LayerCost(mid, start) <= budget) (take, lo) = (mid, mid + 1);
                    else hi = mid - 1;
                }
                if (chunks.Count == workers - 1) take = length - start;
                chunks.Add(take);
                start += take;
            }
            return chunks.ToArray();
        }
        for (int i = 0; i < 60; i++)
        {
            double mid = (low + high) / 2;
            var chunks = Fill(mid);
            // Too small a budget leaves the last worker more than the budget.
            if (LayerCost(chunks[^1], length - chunks[^1]) > mid) low = mid; else high = mid;
        }
        return Fill(high);
    }

    /// <summary>
    /// Predicted time of the all-gather baseline: even chunks; every layer ends when the slowest worker (the last, whose
    /// queries see the longest prefix) has computed its chunk and every worker's keys and values have been exchanged.
    /// </summary>
    public double PredictAllGather(int length, int workers)
    {
        var chunks = Partitions.Even(length, workers);
        var starts = Partitions.Starts(chunks);
        double slowest = Enumerable.Range(0, workers).Max(i => LayerCost(chunks[i], starts[i]));
        double exchange = workers == 1 ? 0 : HandoffLatencySeconds + length * (double)BytesPerPosition / BytesPerSecond;
        return Layers * (slowest + exchange);
    }

    /// <summary>Predicted time of one worker doing the whole prompt.</summary>
    public double PredictSingle(int length) => Layers * LayerCost(length, 0);

    /// <summary>
    /// The partition the model predicts fastest: chunks whose layers cost the same (so no worker waits on a slower
    /// predecessor), or even chunks if they predict faster; then boundaries moved one at a time by shrinking steps while
    /// the prediction improves.
    /// </summary>
    public int[] Optimise(int length, int workers)
    {
        if (workers < 1 || workers > length) throw new InvalidSettingsException($"Cannot split {length} tokens over {workers} workers.");
        var best = EqualCost(length, workers);
        double bestTime = Predict(best);
        var even = Partitions.Even(length, workers);
        if (Predict(even) < bestTime) (best, bestTime) = (even, Predict(even));
        for (int step = Math.Max(1, length / (8 * workers)); step >= 1; step /= 2)
        {
            bool improved = true;
            while (improved)
            {
                improved = false;
                for (int b = 0; b + 1 < workers; b++)
                    foreach (var move in new[] { step, -step })
                    {
                        var candidate = (int[])best.Clone();
                        candidate[b] += move;
                        candidate[b + 1] -= move;
                        if (candidate[b] < 1 || candidate[b + 1] < 1) continue;
                        double t = Predict(candidate);
                        if (t < bestTime - 1e-12) (best, bestTime, improved) = (candidate, t, true);
                    }
            }
        }
        return best;
    }

    /// <summary>
    /// Measures the costs on this machine: one layer of <paramref name="model"/> timed over chunks of several lengths after
    /// several prefix lengths (least squares for α, β, γ), and a large copy (<see cref="MachineLimits.CopyBandwidth"/>) for the bandwidth of a hand-off.
    /// </summary>
    public static PartitionCostModel Measure(TinyGpt model, int maxLength, int repeats = 3)
    {
        if (maxLength < 8 || maxLength > model.Config.ContextLength)
            throw new InvalidSettingsException($"Measure over 8 … {model.Config.ContextLength} tokens (the model's context), not {maxLength}.");
        using var mode = inference_mode();
        using var eval = new EvalMode(model);
        var rows = new List<(double Pairs, double Tokens, double Seconds)>();
        var block = model.blocks[0];
        foreach (var fraction in new[] { 0.125, 0.25, 0.5 })
            foreach (var prefixFraction in new[] { 0.0, 0.25, 0.5 })
            {
                int t = Math.Max(1, (int)(maxLength * fraction)), s = (int)(maxLength * prefixFraction);
                if (s + t > maxLength) continue;
                using var cache = model.CreateCache(1, s + t);
                var x = randn(1, t, model.Config.Dim);
                var times = new List<double>();
                for (int r = 0; r <= repeats; r++)
                {
                    using var scope = NewDisposeScope();
                    cache.HoldRows(0, s);
                    var clock = Stopwatch.StartNew();
                    block.Forward(x, cache, 0, s);
                    if (r > 0) times.Add(clock.Elapsed.TotalSeconds);   // the first run warms up
                }
                rows.Add((t * (s + (t + 1) / 2.0), t, BatchStatistics.Median(times)));
            }
        var (alpha, beta, gamma) = LeastSquares(rows);
        long bytesPerPosition = 2L * model.Config.KvHeads * model.Config.HeadDim * model.wte.weight!.element_size();
        // A hand-off moves each byte once; MachineLimits counts a copy's read and write.
        double handoff = MachineLimits.CopyBandwidth(CPU, 64L << 20, repeats: 5) / 2;
        return new PartitionCostModel(Math.Max(alpha, 0), Math.Max(beta, 0), Math.Max(gamma, 0), handoff, 20e-6,
            model.Config.Layers, bytesPerPosition);
    }

    /// <summary>
    /// The same costs fitted to real prefills instead of one layer timed alone: every layer a worker computed in
    /// <paramref name="runs"/> (KV-Runahead and single-process summaries: a compute event of layer ≥ 0 is one block over
    /// the worker's chunk after its prefix) is one observation; hand-off costs are kept from <paramref name="measured"/>.
    /// </summary>
    public static PartitionCostModel Fit(IEnumerable<PrefillSummary> runs, PartitionCostModel measured)
    {
        var rows = new List<(double Pairs, double Tokens, double Seconds)>();
        foreach (var run in runs.Where(r => r.Method is PrefillMethod.Runahead or PrefillMethod.Single))
        {
            var starts = Partitions.Starts(run.Chunks);
            foreach (var e in run.Timeline.Where(e => e.Activity == Activity.Compute && e.Layer >= 0))
            {
                int t = run.Chunks[e.Worker], s = starts[e.Worker];
                rows.Add((t * (s + (t + 1) / 2.0), t, e.Seconds));
            }
        }
        if (rows.Select(r => r.Pairs).Distinct().Count() < 3)
            throw new InvalidSettingsException("Fitting the costs needs layers of at least three different (chunk, prefix) sizes: give runs of several partitions or lengths.");
        var (alpha, beta, gamma) = LeastSquares(rows);
        return measured with { AttentionSecondsPerPair = Math.Max(alpha, 0), LinearSecondsPerToken = Math.Max(beta, 0), LayerSeconds = Math.Max(gamma, 0) };
    }

    /// <summary>seconds ≈ α·pairs + β·tokens + γ, by least squares in float64 (libtorch's lstsq).</summary>
    static (double, double, double) LeastSquares(IReadOnlyList<(double Pairs, double Tokens, double Seconds)> rows)
    {
        using var scope = NewDisposeScope();
        var a = tensor(rows.SelectMany(r => new[] { r.Pairs, r.Tokens, 1.0 }).ToArray(), dtype: ScalarType.Float64).view(rows.Count, 3);
        var b = tensor(rows.Select(r => r.Seconds).ToArray(), dtype: ScalarType.Float64).view(rows.Count, 1);
        // Columns of very different sizes (pairs run to millions, the constant is 1): scaled to unit norm first.
        var norms = a.norm(0, keepdim: true).clamp_min(1e-300);
        var x = (linalg.lstsq(a / norms, b).Solution.view(3) / norms.view(3)).data<double>().ToArray();
        return (x[0], x[1], x[2]);
    }
}
