using System.Diagnostics;
using EfficientML.Cloning;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using static TorchSharp.torch;

namespace EfficientML.Speculative;

/// <summary>One method's line in the decoding race.</summary>
/// <param name="Method">"plain greedy" or the drafter's name.</param>
/// <param name="TokensPerSecond">Median over repeats of the tokens per second of decoding (prefill excluded).</param>
/// <param name="SpeedUp">Median of this method's tokens/s over plain decoding's, each ratio from one alternating repeat.</param>
/// <param name="AcceptanceRate">Share of drafts accepted (0 for plain decoding).</param>
/// <param name="MeanAcceptedLength">Tokens per full-model pass (1 for plain decoding).</param>
/// <param name="SameAsPlain">Whether every output equalled plain greedy decoding's, token for token.</param>
/// <param name="DraftShare">Share of the decoding time spent drafting.</param>
/// <param name="MeanGamma">Drafts per round (γ, or its mean under adaptive γ; 0 for plain decoding).</param>
public sealed record RaceLine(string Method, double TokensPerSecond, double SpeedUp, double AcceptanceRate, double MeanAcceptedLength, bool SameAsPlain, double DraftShare,
    double MeanGamma = 0);

/// <summary>What <see cref="SpeculativeExperiments.DynamicCompute"/> measured and trained: both rules' points, and the accelerators and exit predictor of the M2R2 rule with their runs.</summary>
public sealed record DynamicComputeStudy(IReadOnlyList<DynamicComputePoint> Points, AcceleratorAdapters Accelerators, TrainingRun AcceleratorRun,
    ExitPredictor Predictor, TrainingRun PredictorRun);

/// <summary>
/// The settings and runs of the speculative-decoding experiments, shared by the benchmark and notebook 05 so both
/// measure the same thing: accelerators for one exit layer, a small separate draft model, the exit predictor, and a
/// race of plain greedy decoding against each drafter on the same prompts.
/// </summary>
public static class SpeculativeExperiments
{
    /// <summary>The exit layer of the experiments (of the pretrained model's 8).</summary>
    public const int ExitLayer = 4;

    /// <summary>Draft tokens per round in the race.</summary>
    public const int Gamma = 3;

    /// <summary>Rank of the accelerators.</summary>
    public const int Rank = 64;

    /// <summary>Accelerator (and exit-predictor) training: 600 steps of 16×128 bytes (quick: 40 steps of 8×128).</summary>
    public static TrainingOptions AcceleratorTraining(bool quick) => new()
    {
        Steps = quick ? 40 : 600, BatchSize = quick ? 8 : 16, BlockSize = 128, LearningRate = 2e-3, WarmupSteps = quick ? 5 : 30,
        WeightDecay = 0, EvalEvery = quick ? 20 : 100, EvalBatches = quick ? 2 : 8, Seed = 6,
    };

    /// <summary>The separate draft model: the pretrained model subcloned to 2 layers of width 64, then trained on the same text.</summary>
    public static SubcloneOptions DraftShape { get; } = new() { Dim = 64, Layers = 2 };

    /// <summary>Training of the draft model: 800 steps of 16×128 bytes at 3e-3 (quick: 40 steps).</summary>
    public static TrainingOptions DraftTraining(bool quick) => new()
    {
        Steps = quick ? 40 : 800, BatchSize = 16, BlockSize = 128, LearningRate = 3e-3, WarmupSteps = quick ? 5 : 40,
        EvalEvery = quick ? 20 : 200, EvalBatches = quick ? 2 : 8, Seed = 8,
    };

    /// <summary>
    /// Accelerators for <paramref name="exit"/> trained on <paramref name="model"/> with the experiment's settings; with
    /// <paramref name="everyExit"/>, aligned at every exit 1 … <paramref name="exit"/> at once (one set of adapters serving each).
    /// </summary>
    public static (AcceleratorAdapters Adapters, TrainingRun Run) Accelerators(TinyGpt model, TextCorpus corpus, bool quick, int exit = ExitLayer,
        Action<TrainingRun>? progress = null, CancellationToken cancellation = default, bool everyExit = false)
    {
        var adapters = AcceleratorAdapters.For(model, maxExit: exit, rank: Rank, seed: 5);
        var run = Speculative.AcceleratorTraining.Train(model, adapters, corpus, AcceleratorTraining(quick),
            new AcceleratorOptions { Exits = everyExit ? null : new[] { exit } }, progress, cancellation);
        return (adapters, run);
    }

    /// <summary>The small separate draft model: subcloned from <paramref name="model"/> and trained on the same text.</summary>
    public static (TinyGpt Draft, TrainingRun Run) DraftModel(TinyGpt model, TextCorpus corpus, bool quick, Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        var (calibration, evaluation) = CloningExperiments.CalibrationTokens(corpus, quick);
        var (draft, _) = Subcloning.Shrink(model, DraftShape, calibration, evaluation);
        var run = LanguageModelTraining.Train(draft, corpus, DraftTraining(quick), "draft model", progress, cancellation);
        draft.eval();
        return (draft, run);
    }

    /// <summary>Prompts for the race: <paramref name="count"/> passages of up to 64 characters spread over the validation text, whole words.</summary>
    public static IReadOnlyList<int[]> Prompts(TextCorpus corpus, int count)
    {
        long length = corpus.ValidationText.Length;
        return Enumerable.Range(0, count)
            .Select(i => corpus.Tokenizer.Encode(corpus.ValidationExcerpt((int)(length * (2 * i + 1) / (2 * count + 1)), 64)))
            .ToList();
    }

    /// <summary>New tokens per prompt in the race (quick: 40).</summary>
    public static int RaceTokens(bool quick) => quick ? 40 : 200;

    /// <summary>
    /// Plain cached greedy decoding against each drafter on the same prompts, with the same γ. Every repeat decodes all
    /// prompts with every method in turn (so machine noise hits all alike) after one warm-up pass; speed-ups are medians
    /// of per-repeat ratios. Also checks that each output equals plain greedy decoding's. Stops with
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellation"/> is set (checked between two decodings).
    /// </summary>
    public static IReadOnlyList<RaceLine> Race(TinyGpt target, IReadOnlyList<Drafter> drafters, IReadOnlyList<int[]> prompts, SpeculationOptions options,
        int repeats = 3, Action<string>? log = null, CancellationToken cancellation = default)
    {
        var plainTimes = new List<double>();
        var times = drafters.Select(_ => new List<double>()).ToArray();
        var results = drafters.Select(_ => new List<SpeculativeResult>()).ToArray();
        var same = drafters.Select(_ => true).ToArray();
        var decoders = drafters.Select(d => new SpeculativeDecoder(target, d)).ToArray();
        var generation = options.AsGeneration();
        for (int r = -1; r < repeats; r++)
        {
            double plainSeconds = 0;
            var plainOut = new List<int[]>();
            foreach (var p in prompts)
            {
                cancellation.ThrowIfCancellationRequested();
                var clock = Stopwatch.StartNew();
                plainOut.Add(target.Generate(p, generation, cancellation: cancellation));
                plainSeconds += clock.Elapsed.TotalSeconds;
            }
            var seconds = new double[drafters.Count];
            for (int d = 0; d < drafters.Count; d++)
                for (int i = 0; i < prompts.Count; i++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    var result = decoders[d].Generate(prompts[i], options, cancellation: cancellation);
                    seconds[d] += result.Seconds;
                    if (r < 0) continue;
                    results[d].Add(result);
                    if (options.Temperature == 0 && !result.Tokens.SequenceEqual(plainOut[i])) same[d] = false;
                }
            if (r < 0) continue;                                                 // warm-up
            plainTimes.Add(plainSeconds);
            for (int d = 0; d < drafters.Count; d++) times[d].Add(seconds[d]);
            log?.Invoke($"repeat {r + 1}: plain {plainSeconds:F2} s; " + string.Join("; ", drafters.Select((x, d) => $"{x.Name} {seconds[d]:F2} s")));
        }
        long tokens = prompts.Count * (long)options.MaxNewTokens;
        var lines = new List<RaceLine> { new("plain greedy (KV cache)", tokens / BatchStatistics.Median(plainTimes), 1, 0, 1, true, 0) };
        for (int d = 0; d < drafters.Count; d++)
        {
            var all = results[d];
            int drafted = all.Sum(x => x.Drafted);
            double acceptance = drafted == 0 ? 0 : (double)all.Sum(x => x.Rounds.Sum(y => y.Accepted)) / drafted;
            double perPass = (double)all.Sum(x => x.Stream.Count) / all.Sum(x => x.Rounds.Count);
            var ratios = plainTimes.Zip(times[d], (p, s) => p / s).ToList();
            double meanGamma = (double)drafted / all.Sum(x => x.Rounds.Count);
            lines.Add(new RaceLine(drafters[d].Name, tokens / BatchStatistics.Median(times[d]), BatchStatistics.Median(ratios), acceptance, perPass, same[d],
                all.Average(x => x.DraftShare), meanGamma));
        }
        return lines;
    }

    /// <summary>Confidence thresholds of the dynamic-compute sweep (early exit) and exit-probability thresholds (M2R2).</summary>
    public static double[] Thresholds { get; } = { 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99 };

    /// <summary>
    /// Dynamic compute, both rules at every threshold of <see cref="Thresholds"/> on 4 validation batches (quick: 1):
    /// confidence-based early exit, and M2R2 with accelerators for every exit and an exit predictor on their fast states,
    /// trained here with <see cref="AcceleratorTraining"/>'s settings (the predictor at learning rate 3e-3).
    /// </summary>
    public static DynamicComputeStudy DynamicCompute(TinyGpt model, TextCorpus corpus, bool quick)
    {
        var accelerators = AcceleratorAdapters.For(model, rank: Rank, seed: 5);
        var acceleratorRun = Speculative.AcceleratorTraining.Train(model, accelerators, corpus, AcceleratorTraining(quick));
        var predictor = ExitPredictor.For(model);
        var predictorRun = ExitPredictor.Train(predictor, model, accelerators, corpus, AcceleratorTraining(quick) with { LearningRate = 3e-3 });
        int batches = quick ? 1 : 4;
        var points = Speculative.DynamicCompute.EarlyExit(model, corpus, Thresholds, batches)
            .Concat(Speculative.DynamicCompute.M2R2(model, accelerators, predictor, corpus, Thresholds, batches)).ToList();
        return new DynamicComputeStudy(points, accelerators, acceleratorRun, predictor, predictorRun);
    }
}
