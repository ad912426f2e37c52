using EfficientML.Cloning;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// HyperCloning and weight subcloning: steps a cloned model needs to reach the loss a randomly initialised model of the
/// same shape reaches with the whole budget (same batches, schedule and seed), as a ratio. Settings: <see cref="CloningRecipes"/>.
/// </summary>
public sealed class CloningSuite : IBenchmarkSuite
{
    /// <inheritdoc />
    public string Name => "cloning";

    /// <inheritdoc />
    public string Description => "HyperCloning ×2 and subcloning to half size: training steps to the random-init model's final loss, as ratios";

    /// <inheritdoc />
    public IReadOnlyList<Measurement> Run(bool quick, TextWriter log)
    {
        using var corpus = TextCorpus.MobyDick();
        using var pretrained = PretrainedModels.LoadTinyMoby();
        var rows = new List<Measurement>();
        var budget = CloningRecipes.Race(quick);
        string setting = $"{budget.Steps} steps of {budget.BatchSize}×{budget.BlockSize} bytes, peak lr {budget.LearningRate:G2}";

        var grow = CloningExperiments.Grow(pretrained, corpus, quick);
        log.WriteLine(grow.Expansion);
        rows.Add(new("hypercloning ×2: max |Δlogit| after growing", grow.Expansion.MaxLogitDifference, "logit",
            Note: $"{grow.Expansion.ParametersBefore:N0} → {grow.Expansion.ParametersAfter:N0} parameters, noise {CloningRecipes.NoiseSnrDb} dB"));
        AddRace(rows, log, "hypercloning ×2 of the pretrained model", grow.PretrainedRace, setting);
        var brief = grow.BriefSource;
        rows.Add(new("small model trained from scratch: validation loss", Bits(brief.LastValidationLoss), "bits/byte",
            Note: $"{brief.Steps.Count} steps, then grown ×2"));
        AddRace(rows, log, "hypercloning ×2 of the small model", grow.FairRace, setting);
        if (grow.SpeedUpIncludingSource is double fair)
            rows.Add(new("hypercloning ×2 counting the small model's training", fair, "×", "random-init steps", fair,
                $"small-model steps costed at {grow.SmallToLargeCost:F2} large-model steps (FLOPs per token)"));

        var shrink = CloningExperiments.Shrink(pretrained, corpus, quick);
        log.WriteLine(shrink.Subclone);
        rows.Add(new("subclone before training: validation loss", Bits(shrink.Subclone.LossBeforeTraining), "bits/byte", "random init",
            shrink.Subclone.LossBeforeTraining / shrink.Subclone.RandomInitLoss,
            $"source {Bits(shrink.Subclone.SourceLoss):F3}, random init {Bits(shrink.Subclone.RandomInitLoss):F3} bits/byte; " +
            $"{shrink.Subclone.ParametersBefore:N0} → {shrink.Subclone.ParametersAfter:N0} parameters, blocks {string.Join(",", shrink.Subclone.KeptLayers)}"));
        AddRace(rows, log, "subcloning to half width and depth", shrink.Race, setting);
        return rows;
    }

    static void AddRace(List<Measurement> rows, TextWriter log, string name, RaceResult race, string setting)
    {
        log.WriteLine(race.Summary);
        rows.Add(new($"{name}: random-init final loss", Bits(race.TargetLoss), "bits/byte", Note: setting));
        rows.Add(new($"{name}: clone's loss at the end", Bits(race.Challenger.LastValidationLoss), "bits/byte",
            Note: $"starts at {Bits(race.Challenger.Evaluations[0].ValidationLoss):F3}"));
        var steps = race.ChallengerSteps;
        rows.Add(new($"{name}: steps to the random-init final loss", steps ?? double.NaN, "steps", "random-init steps", race.SpeedUp,
            steps switch
            {
                null => "never reached within the budget",
                0 => "the clone starts below the mark: no steps needed (ratio unbounded)",
                _ => $"random init needs {race.BaselineSteps:F0}",
            }));
    }

    static double Bits(double? nats) => (nats ?? double.NaN) / Math.Log(2);
}
