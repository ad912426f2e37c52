using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using static TorchSharp.torch;

namespace EfficientML.Routing;

/// <summary>
/// The DynaMoE experiment on the pretrained tiny model, with the settings the benchmark and the notebook share:
/// convert, fine-tune routers (and the experts, elastically), sweep θ, and compare with static widths of the same
/// weights and of the elastic baseline fine-tuned with the same budget.
/// </summary>
public static class RoutingExperiments
{
    /// <summary>Routing settings: ¼, ½, ¾, 1 of the MLP, 2-layer routers of width 32, label tolerance 0.1 nats.</summary>
    public static RoutingOptions Options { get; } = new();

    /// <summary>Seed of the routers' initial weights.</summary>
    public const long RouterSeed = 11;

    /// <summary>The fine-tuning budget of both runs (router and elastic baseline).</summary>
    public static TrainingOptions FineTuning(bool quick) => quick
        ? new TrainingOptions { Steps = 6, BatchSize = 4, BlockSize = 64, LearningRate = 5e-4, WarmupSteps = 2, EvalEvery = 3, EvalBatches = 1 }
        : new TrainingOptions { Steps = 100, BatchSize = 16, BlockSize = 256, LearningRate = 5e-4, WarmupSteps = 10, EvalEvery = 20, EvalBatches = 8 };

    /// <summary>Validation windows (16 × 256 bytes each) behind every point of the sweep.</summary>
    public static int EvalBatches(bool quick) => quick ? 1 : 8;

    /// <summary>Sensitivities swept.</summary>
    public static IReadOnlyList<double> Thetas(bool quick) => quick ? [0, 0.5, 1] : RoutingEvaluation.DefaultThetas;

    /// <summary>Seeded calibration tokens (B, T) from the training split for ranking the neurons.</summary>
    public static Tensor Calibration(TextCorpus corpus, bool quick, long seed = 3)
    {
        using var generator = Seeding.Generator(seed);
        var (tokens, _) = corpus.SampleBatch(Split.Train, quick ? 4 : 16, quick ? 64 : 256, generator);
        return tokens;
    }

    /// <summary>
    /// Converts <paramref name="pretrained"/> (left unchanged), fine-tunes, sweeps θ and the static widths; with
    /// <paramref name="baseline"/>, also fine-tunes the elastic baseline from the same start with the same budget.
    /// Returns the routed model (the caller disposes it) and what was measured.
    /// </summary>
    public static (RoutedGpt Model, RoutingStudy Study) Study(
        TinyGpt pretrained, TextCorpus corpus, bool quick, bool baseline = true,
        Action<TrainingRun>? progress = null, RoutingOptions? options = null, TrainingOptions? training = null)
    {
        options ??= Options;
        training ??= FineTuning(quick);
        int evalBatches = EvalBatches(quick);
        using var calibration = Calibration(corpus, quick);
        var routed = RoutedGpt.FromDense(pretrained, calibration, options, RouterSeed);
        try
        {
            var study = Measure(routed, corpus, options, training, Thetas(quick), evalBatches, routerFitBatches: quick ? 1 : 4,
                baseline ? () => RoutedGpt.FromDense(pretrained, calibration, options, RouterSeed) : null, progress: progress);
            return (routed, study!);
        }
        catch
        {
            routed.Dispose();
            throw;
        }
    }

    /// <summary>Times dense against routed execution at <paramref name="theta"/> on one seeded validation batch.</summary>
    public static RoutingSpeed Speed(RoutedGpt routed, TextCorpus corpus, double theta, bool quick)
    {
        using var generator = Seeding.Generator(5);
        var (tokens, _) = corpus.SampleBatch(Split.Validation, quick ? 4 : 16, quick ? 64 : 256, generator, routed.Device);
        using (tokens) return RoutingSpeed.Measure(routed, tokens, theta, quick ? 3 : 9);
    }

    /// <summary>
    /// Everything after the conversion: the routers' fit before and after, the fine-tuning (into <paramref name="run"/>
    /// when given), the θ sweep and the static widths of <paramref name="routed"/>, and, when <paramref name="baseline"/>
    /// makes a fresh copy of the starting model, the elastic baseline's fine-tuning (into <paramref name="elasticRun"/>)
    /// and static widths. <paramref name="trained"/> sees each finished fine-tuning record (e.g. to stop on divergence);
    /// <paramref name="stage"/> is told what is being measured (text, and whether to show it at once). Returns null when
    /// <paramref name="cancellation"/> is triggered.
    /// </summary>
    public static RoutingStudy? Measure(
        RoutedGpt routed, TextCorpus corpus, RoutingOptions options, TrainingOptions training, IReadOnlyList<double> thetas,
        int? evalBatches, int routerFitBatches, Func<RoutedGpt>? baseline,
        TrainingRun? run = null, TrainingRun? elasticRun = null, Action<TrainingRun>? progress = null, Action<TrainingRun>? trained = null,
        Action<string, bool>? stage = null, CancellationToken cancellation = default)
    {
        stage?.Invoke("Measuring how well the untrained routers predict the difficulty labels…", true);
        var before = RoutingEvaluation.RouterFit(routed, corpus, options.Tolerance, routerFitBatches);
        if (cancellation.IsCancellationRequested) return null;
        stage?.Invoke("", true);
        run = RoutingFineTuning.FineTune(routed, corpus, options, training, run, progress, cancellation);
        if (cancellation.IsCancellationRequested || run.Outcome == TrainingOutcome.Cancelled) return null;
        trained?.Invoke(run);
        IReadOnlyList<RoutingPoint>? elastic = null;
        if (baseline is not null)
        {
            using var other = baseline();
            elasticRun = RoutingFineTuning.ElasticFineTune(other, corpus, training, elasticRun, progress, cancellation);
            if (cancellation.IsCancellationRequested || elasticRun.Outcome == TrainingOutcome.Cancelled) return null;
            trained?.Invoke(elasticRun);
            stage?.Invoke("Measuring the elastic baseline's static widths…", true);
            elastic = RoutingEvaluation.StaticWidths(other, corpus, "elastic baseline", evalBatches);
        }
        stage?.Invoke("Measuring how well the fine-tuned routers predict the difficulty labels…", true);
        var after = RoutingEvaluation.RouterFit(routed, corpus, options.Tolerance, routerFitBatches);
        var points = new List<RoutingPoint>();
        for (int i = 0; i < thetas.Count; i++)
        {
            if (cancellation.IsCancellationRequested) return null;
            stage?.Invoke($"Measuring the routed model at θ = {thetas[i].ToString(System.Globalization.CultureInfo.InvariantCulture)} ({i + 1} of {thetas.Count})…", false);
            points.Add(RoutingEvaluation.Evaluate(routed, corpus, ExpertChoice.AtTheta(thetas[i]), evalBatches));
        }
        if (cancellation.IsCancellationRequested) return null;
        stage?.Invoke("Measuring the static widths of the same weights…", true);
        var widths = RoutingEvaluation.StaticWidths(routed, corpus, "same weights", evalBatches);
        return cancellation.IsCancellationRequested ? null : new RoutingStudy(routed.Sizes, options, run, points, widths, elastic, elasticRun, before, after);
    }
}
