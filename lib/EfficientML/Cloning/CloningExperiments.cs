using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;

namespace EfficientML.Cloning;

/// <summary>
/// The settings of the cloning experiments, shared by the notebooks and the benchmark so both draw the same curves.
/// Quick mode only checks that everything runs (a few steps); full mode gives the figures.
/// </summary>
public static class CloningRecipes
{
    /// <summary>Width factor of the growth experiment.</summary>
    public const int WidthFactor = 2;

    /// <summary>Symmetry-breaking noise of the growth experiment, in dB (the paper's setting).</summary>
    public const double NoiseSnrDb = 10;

    /// <summary>Seed of every randomly initialised baseline.</summary>
    public const long RandomInitSeed = 99;

    /// <summary>Seed of the small model trained briefly from scratch for the fair growth race.</summary>
    public const long BriefSourceSeed = 5;

    /// <summary>The race budget: the same for every contestant (batches, schedule, seed).</summary>
    public static TrainingOptions Race(bool quick) => quick
        ? new TrainingOptions { Steps = 8, BatchSize = 4, BlockSize = 64, LearningRate = 2e-3, WarmupSteps = 2, EvalEvery = 4, EvalBatches = 2 }
        : new TrainingOptions { Steps = 300, BatchSize = 16, BlockSize = 128, LearningRate = 2e-3, WarmupSteps = 30, EvalEvery = 25, EvalBatches = 8 };

    /// <summary>Steps of the small model that is trained from scratch and then grown (the fair race).</summary>
    public static int BriefSourceSteps(bool quick) => Race(quick).Steps;

    /// <summary>The subcloning target: half the width of the pretrained model, half its blocks (first two and last two).</summary>
    public static SubcloneOptions Shrink { get; } = new() { Dim = 64, Layers = 4 };

    /// <summary>Calibration batch size of subcloning (sequences × tokens), drawn from the training split.</summary>
    public static (int Batch, int Tokens) Calibration(bool quick) => quick ? (4, 64) : (16, 128);
}

/// <summary>Everything the growth experiment measured.</summary>
/// <param name="Expansion">HyperCloning of the pretrained model (function-preservation check).</param>
/// <param name="PretrainedRace">The grown pretrained model against a random model of its shape.</param>
/// <param name="BriefSource">Training of a small model from scratch for the race budget.</param>
/// <param name="FairRace">That small model grown, against the same random model.</param>
/// <param name="SmallToLargeCost">Training cost of one small-model step in large-model steps (FLOPs per token ratio).</param>
public sealed record GrowthExperiment(CloneReport Expansion, RaceResult PretrainedRace, TrainingRun BriefSource, RaceResult FairRace, double SmallToLargeCost)
{
    /// <summary>
    /// The fair race's speed-up counting the small model's own training, in large-model steps:
    /// baseline steps / (clone steps + source steps × cost ratio).
    /// </summary>
    public double? SpeedUpIncludingSource =>
        FairRace is { BaselineSteps: double b, ChallengerSteps: double c } ? b / (c + BriefSource.Steps.Count * SmallToLargeCost) : null;
}

/// <summary>Everything the subcloning experiment measured.</summary>
public sealed record ShrinkExperiment(SubcloneReport Subclone, RaceResult Race);

/// <summary>The two cloning experiments end to end (the benchmark runs these; the notebooks run the same steps one by one).</summary>
public static class CloningExperiments
{
    /// <summary>
    /// Grows <paramref name="pretrained"/> ×2 and races it against a random model of the grown shape; then trains a small
    /// model from scratch for the same budget, grows it, and races it against the same random model (the paper's setting:
    /// the random model's budget is enough to overtake the small one).
    /// </summary>
    public static GrowthExperiment Grow(TinyGpt pretrained, TextCorpus corpus, bool quick, Action<TrainingRun>? progress = null)
    {
        var options = CloningRecipes.Race(quick);
        var (clone, report) = HyperCloning.Expand(pretrained, CloningRecipes.WidthFactor, new HyperCloneOptions { NoiseSnrDb = CloningRecipes.NoiseSnrDb });
        using (clone)
        using (var random = new TinyGpt(clone.Config, CloningRecipes.RandomInitSeed))
        using (var small = new TinyGpt(pretrained.Config, CloningRecipes.BriefSourceSeed))
        {
            var race = TrainingRace.Run(clone, random, corpus, options, "clone of the pretrained model", "random init", progress);
            var brief = LanguageModelTraining.Train(small, corpus, options with { Steps = CloningRecipes.BriefSourceSteps(quick), EvalAtStart = true }, "small model from scratch", progress);
            var (grownSmall, _) = HyperCloning.Expand(small, CloningRecipes.WidthFactor, new HyperCloneOptions { NoiseSnrDb = CloningRecipes.NoiseSnrDb });
            using (grownSmall)
            {
                var fair = LanguageModelTraining.Train(grownSmall, corpus, options with { EvalAtStart = true }, "clone of the small model", progress);
                return new GrowthExperiment(report, race, brief, new RaceResult(fair, race.Baseline),
                    TrainingFlops.PerToken(pretrained.Config) / TrainingFlops.PerToken(clone.Config));
            }
        }
    }

    /// <summary>Subclones <paramref name="pretrained"/> to half width and half depth and races it against a random model of that size.</summary>
    public static ShrinkExperiment Shrink(TinyGpt pretrained, TextCorpus corpus, bool quick, Action<TrainingRun>? progress = null)
    {
        var (calibration, evaluation) = CalibrationTokens(corpus, quick);
        var (small, report) = Subcloning.Shrink(pretrained, CloningRecipes.Shrink, calibration, evaluation);
        using (small)
        using (var random = new TinyGpt(small.Config, CloningRecipes.RandomInitSeed))
        {
            var race = TrainingRace.Run(small, random, corpus, CloningRecipes.Race(quick), "subclone", "random init", progress);
            return new ShrinkExperiment(report, race);
        }
    }

    /// <summary>Seeded calibration tokens from the training split and evaluation tokens from the validation split.</summary>
    public static (TorchSharp.torch.Tensor Calibration, TorchSharp.torch.Tensor Evaluation) CalibrationTokens(TextCorpus corpus, bool quick, long seed = 3)
    {
        var (batch, tokens) = CloningRecipes.Calibration(quick);
        using var generator = Seeding.Generator(seed);
        var (calibration, _) = corpus.SampleBatch(Split.Train, batch, tokens, generator);
        var (evaluation, _) = corpus.SampleBatch(Split.Validation, batch, tokens, generator);
        return (calibration, evaluation);
    }
}
