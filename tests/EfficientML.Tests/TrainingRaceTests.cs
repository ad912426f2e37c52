using EfficientML.Cloning;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;

namespace EfficientML.Tests;

public class TrainingRaceTests
{
    static readonly Lazy<TextCorpus> Corpus = new(() => TextCorpus.MobyDick());

    static TrainingOptions Quick => new() { Steps = 12, BatchSize = 4, BlockSize = 32, LearningRate = 3e-3, WarmupSteps = 2, EvalEvery = 4, EvalBatches = 2 };

    [Fact]
    public void Racing_side_by_side_gives_the_same_records_as_training_alone()
    {
        using var a = TestModels.Random(seed: 1);
        using var b = TestModels.Random(seed: 2);
        using var a2 = TestModels.Random(seed: 1);
        var race = TrainingRace.Run(a, b, Corpus.Value, Quick, "a", "b");
        var alone = LanguageModelTraining.Train(a2, Corpus.Value, Quick with { EvalAtStart = true });
        Assert.Equal(alone.Steps.Select(s => s.Loss), race.Challenger.Steps.Select(s => s.Loss));
        Assert.Equal(alone.Evaluations, race.Challenger.Evaluations);
        Assert.Equal(new[] { 0, 4, 8, 12 }, race.Baseline.Evaluations.Select(e => e.Step));
        Assert.Equal(TrainingOutcome.Completed, race.Baseline.Outcome);
    }

    [Fact]
    public void A_model_already_at_the_mark_needs_no_steps_and_the_speed_up_says_so()
    {
        using var a = TestModels.Random(seed: 1);
        using var b = TestModels.Random(seed: 2);
        using var copy = TestModels.Random(seed: 1);
        var first = TrainingRace.Run(a, b, Corpus.Value, Quick with { Steps = 36 });
        // Trained three times as long, it starts below where a fresh model ends after the race budget.
        var second = TrainingRace.Run(a, copy, Corpus.Value, Quick);
        Assert.Equal(0, second.ChallengerSteps);
        Assert.Equal(double.PositiveInfinity, second.SpeedUp);
        Assert.Contains("needs no steps", second.Summary);
        Assert.NotNull(first.BaselineSteps);
    }

    [Fact]
    public void Steps_to_reach_a_loss_interpolate_between_evaluations()
    {
        using var model = TestModels.Random();
        var run = LanguageModelTraining.Train(model, Corpus.Value, Quick with { EvalAtStart = true });
        var e = run.Evaluations;
        Assert.Equal(0, e[0].Step);
        double mid = (e[0].ValidationLoss + e[1].ValidationLoss) / 2;
        Assert.Equal((e[0].Step + e[1].Step) / 2.0, run.StepsToReach(mid)!.Value, 6);
        Assert.Null(run.StepsToReach(e.Min(p => p.ValidationLoss) - 1));
    }

    [Fact]
    public void Models_of_different_shapes_cannot_race()
    {
        using var a = TestModels.Random(TestModels.Small(layers: 2));
        using var b = TestModels.Random(TestModels.Small(layers: 3));
        Assert.Throws<InvalidSettingsException>(() => TrainingRace.NewRace(a, b, Corpus.Value, Quick, "a", "b"));
    }
}
