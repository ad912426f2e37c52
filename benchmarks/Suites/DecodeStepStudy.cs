using System.Diagnostics;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Speculative;
using static TorchSharp.torch;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// Plain cached greedy decoding (batch 1) with the lean decode step against the previous step (<see cref="PreviousDecoding"/>),
/// both measured in turn in one run on the same model and prompts, whole generations and one step at a fixed position; then
/// the lean step against this machine's limits: the time to read the weights once at the measured memory bandwidth, and
/// the time for the step's FLOPs at the measured matmul rate.
/// </summary>
public static class DecodeStepStudy
{
    /// <summary>The rows for <paramref name="model"/> decoding <paramref name="prompts"/>.</summary>
    public static IReadOnlyList<Measurement> Run(TinyGpt model, IReadOnlyList<int[]> prompts, bool quick, TextWriter log)
    {
        var rows = new List<Measurement>();
        var config = model.Config;
        var device = model.Device;

        // Whole generations: every repeat decodes all prompts both ways, the order alternating, after one warm-up round.
        int tokens = SpeculativeExperiments.RaceTokens(quick), repeats = quick ? 2 : 7;
        var greedy = new GenerationOptions { MaxNewTokens = tokens };
        var leanSeconds = new List<double>();
        var previousSeconds = new List<double>();
        bool same = true;
        for (int r = -1; r < repeats; r++)
        {
            double lean = 0, previous = 0;
            foreach (var p in prompts)
            {
                int[] a = [], b = [];
                for (int turn = 0; turn < 2; turn++)
                {
                    var clock = Stopwatch.StartNew();
                    if ((turn == 0) == (r % 2 == 0)) { a = model.Generate(p, greedy); lean += clock.Elapsed.TotalSeconds; }
                    else { b = PreviousDecoding.Generate(model, p, tokens); previous += clock.Elapsed.TotalSeconds; }
                }
                same &= a.SequenceEqual(b);
            }
            if (r < 0) continue;
            leanSeconds.Add(lean);
            previousSeconds.Add(previous);
            log.WriteLine($"decode repeat {r + 1}: lean {lean:F3} s, previous {previous:F3} s");
        }
        long produced = prompts.Count * (long)tokens;
        double leanRate = produced / Median.Of(leanSeconds), previousRate = produced / Median.Of(previousSeconds);
        double speedUp = Median.Of(previousSeconds.Zip(leanSeconds, (p, l) => p / l));
        string workload = $"{prompts.Count} prompts × {tokens} tokens, batch 1, {repeats} alternating repeats";
        rows.Add(new("plain cached greedy, previous decode step", previousRate, "tokens/s", Note: $"{workload}; the step before this change, kept in the benchmarks"));
        rows.Add(new("plain cached greedy, lean decode step", leanRate, "tokens/s", "previous decode step", speedUp,
            $"median of per-repeat ratios; output {(same ? "equals" : "DIFFERS FROM")} the previous step's"));

        // One step at a fixed position, the caches holding the same context.
        int position = config.ContextLength / 2, steps = quick ? 200 : 1000, blocks = quick ? 3 : 9;
        var context = prompts[0].Concat(model.Generate(prompts[0], new GenerationOptions { MaxNewTokens = position })).Take(position + 1).ToArray();
        var leanSteps = new List<double>();
        var previousSteps = new List<double>();
        using (var caches = new StepCaches(model, context))
            for (int block = -1; block < blocks; block++)
                for (int turn = 0; turn < 2; turn++)
                {
                    bool lean = (turn == 0) == (block % 2 == 0);
                    double microseconds = caches.Time(lean, steps);
                    if (block >= 0) (lean ? leanSteps : previousSteps).Add(microseconds);
                }
        double leanStep = Median.Of(leanSteps), previousStep = Median.Of(previousSteps);
        log.WriteLine($"decode step at position {position}: lean {leanStep:F1} µs, previous {previousStep:F1} µs");
        rows.Add(new($"cached decode step at position {position}, previous", previousStep, "µs", Note: $"batch 1, median of {blocks} blocks of {steps} steps"));
        rows.Add(new($"cached decode step at position {position}, lean", leanStep, "µs", "previous decode step",
            Median.Of(previousSteps.Zip(leanSteps, (p, l) => p / l)), "ratio: previous ÷ lean (speed-up), median of per-block ratios"));

        // This machine's limits and what they allow the step.
        long copyBytes = 256L << 20;
        double bandwidth = MachineLimits.CopyBandwidth(device, copyBytes, quick ? 3 : 9);
        int n = quick ? 512 : 1024;
        double matmul = MachineLimits.MatmulFlops(device, n, quick ? 5 : 30);
        log.WriteLine($"memory bandwidth {bandwidth / 1e9:F1} GB/s, matmul {matmul / 1e9:F1} GFLOP/s");
        rows.Add(new("memory bandwidth (large tensor copy)", bandwidth / 1e9, "GB/s", Note: $"{copyBytes >> 20} MB float32 copied, read + write counted, median of copies"));
        rows.Add(new("matmul float32 rate", matmul / 1e9, "GFLOP/s", Note: $"{n}² × {n}², {device.type}"));
        double weightBytes = WeightBytesPerToken(model), kvBytes = 2.0 * config.Layers * config.KvHeads * config.HeadDim * (position + 1) * sizeof(float);
        double flops = FlopsPerToken(config, position + 1);
        double memoryBound = weightBytes / bandwidth * 1e6, computeBound = flops / matmul * 1e6;
        rows.Add(new("decode step bound: weights ÷ bandwidth", memoryBound, "µs", "lean step", memoryBound / leanStep,
            $"{weightBytes / 1e6:F2} MB of weights read per token (keys/values at position {position} add {kvBytes / 1e6:F2} MB); the lean step takes {leanStep / memoryBound:F1}× this"));
        rows.Add(new("decode step bound: FLOPs ÷ matmul rate", computeBound, "µs", "lean step", computeBound / leanStep,
            $"{flops / 1e6:F2} MFLOP per token at position {position} (2 per weight + attention); the lean step takes {leanStep / computeBound:F1}× this"));
        return rows;
    }

    /// <summary>Bytes of the weights a decode step reads: every block, the final norm, the head matrix, one embedding row of each table.</summary>
    static double WeightBytesPerToken(TinyGpt model)
    {
        var c = model.Config;
        long blocks = model.blocks.parameters().Sum(p => p.numel());
        long lnF = model.ln_f.parameters().Sum(p => p.numel());
        return (blocks + lnF + (long)c.VocabSize * c.Dim + 2L * c.Dim) * sizeof(float);
    }

    /// <summary>FLOPs of one token at a context of <paramref name="keys"/> positions: 2 per matmul weight, plus scores and weighted values.</summary>
    static double FlopsPerToken(TinyGptConfig c, int keys)
    {
        double width = (double)c.Heads * c.HeadDim, kvWidth = (double)c.KvHeads * c.HeadDim;
        double perLayer = c.Dim * width + 2 * c.Dim * kvWidth + width * c.Dim + 2.0 * c.Dim * c.MlpDim;
        return 2 * (c.Layers * perLayer + (double)c.VocabSize * c.Dim) + 4.0 * c.Layers * keys * width;
    }

    /// <summary>A lean cache and a previous-step cache, each holding the same context but its last token, which each timed step feeds.</summary>
    sealed class StepCaches : IDisposable
    {
        readonly TinyGpt _model;
        readonly KvCache _lean;
        readonly PreviousDecoding.Cache _previous;
        readonly Tensor _next;
        readonly int _length;

        public StepCaches(TinyGpt model, int[] context)
        {
            _model = model;
            _length = context.Length - 1;
            _lean = model.CreateCache();
            _previous = new PreviousDecoding.Cache(model.Config, model.Device);
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var prefix = tensor(context[.._length].Select(t => (long)t).ToArray(), device: model.Device).unsqueeze(0);
            model.Hidden(prefix, _lean);
            PreviousDecoding.Forward(model, prefix, _previous);
            _next = tensor(new long[] { context[^1] }, device: model.Device).unsqueeze(0).DetachFromDisposeScope();
        }

        /// <summary>Mean µs of <paramref name="steps"/> steps (feed the token, pick the greedy next one, forget the token again).</summary>
        public double Time(bool lean, int steps)
        {
            var clock = Stopwatch.StartNew();
            if (lean)
            {
                using var _ = inference_mode();                                       // as TinyGpt.Generate decodes
                for (int i = 0; i < steps; i++)
                {
                    using var scope = NewDisposeScope();
                    _model.Logits(_model.Hidden(_next, _lean).select(1, -1))[0].argmax().item<long>();
                    _lean.Rollback(_length);
                }
            }
            else
            {
                using var _ = no_grad();
                for (int i = 0; i < steps; i++)
                {
                    using var scope = NewDisposeScope();
                    PreviousDecoding.Forward(_model, _next, _previous)[0, -1].argmax().item<long>();
                    _previous.Rollback(_length);
                }
            }
            return clock.Elapsed.TotalMilliseconds * 1000 / steps;
        }

        public void Dispose()
        {
            _lean.Dispose();
            _previous.Dispose();
            _next.Dispose();
        }
    }
}
