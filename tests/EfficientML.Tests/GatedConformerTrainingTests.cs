using EfficientML.Core;
using EfficientML.GatedConformer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EfficientML.Tests;

public class GatedConformerTrainingTests
{
    readonly ITestOutputHelper output;

    public GatedConformerTrainingTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchThreads.Set(1);
    }

    static readonly GatedConformerConfig Small = new() { Width = 32, Heads = 4, Blocks = 2, FeedForwardWidth = 64 };

    [Fact]
    public void Recordings_have_disjoint_voices_and_per_step_targets_where_the_words_are()
    {
        var options = new GatedStreamOptions().Quick() with { StreamSeconds = 12 };
        using var data = GatedStreamData.Build(options, Small);
        var trainVoices = data.Train.SelectMany(s => s.Events).Select(e => e.Speaker).ToHashSet();
        var testVoices = data.Test.SelectMany(s => s.Events).Select(e => e.Speaker).ToHashSet();
        Assert.NotEmpty(testVoices);
        Assert.Empty(trainVoices.Intersect(testVoices));
        Assert.Contains(data.Train, s => s.Kind != StreamKind.Speech);
        foreach (var stream in data.Train.Where(s => s.Kind != StreamKind.Speech)) Assert.All(stream.StepLabels, l => Assert.Equal(Small.NoneClass, l));
        var speech = data.Train.First(s => s.Kind == StreamKind.Speech);
        var keyword = speech.Events.First(e => e.Label < Small.Keywords);
        int end = (int)Math.Ceiling(keyword.End / speech.StepSeconds) - 1;
        Assert.Equal(keyword.Label, speech.StepLabels[end]);                                   // the word's last step names it …
        Assert.Equal(-100, speech.StepLabels[(int)Math.Floor(keyword.Start / speech.StepSeconds)]); // … its first is left out
        Assert.True(speech.StepBounds[end, 0] > 0);
        Assert.Equal(Small.Keywords + 1, data.Labels.Count);
    }

    [Fact]
    public void The_spotter_learns_on_a_tiny_set()
    {
        var options = new GatedStreamOptions().Quick() with { StreamSeconds = 12, TrainStreams = 2, TrainNoiseStreams = 1 };
        using var data = GatedStreamData.Build(options, Small);
        Seeding.Everything(3);
        using var model = new ConformerSpotter(Small);
        var training = new GatedTrainingOptions { Training = new TrainingOptions { Steps = 200, BatchSize = 8, LearningRate = 3e-3, WarmupSteps = 10, EvalEvery = 0, Seed = 3 } };
        var stream = data.Train[0];
        double before = KeywordStepLoss(model, stream);
        var run = GatedTraining.Train(model, data, training).ThrowIfDiverged();
        double first = run.Steps.Take(10).Average(s => s.Loss), last = run.Steps.TakeLast(10).Average(s => s.Loss);
        double after = KeywordStepLoss(model, stream);
        output.WriteLine($"loss {first:0.000} → {last:0.000}; cross-entropy on keyword steps {before:0.000} → {after:0.000}");
        Assert.True(last < 0.6 * first, $"the loss fell only from {first:0.000} to {last:0.000}");
        // Not just "none" everywhere: the keywords' own steps are predicted better than by the untrained model.
        Assert.True(after < 0.8 * before, $"cross-entropy on keyword steps went from {before:0.000} to {after:0.000}");
    }

    /// <summary>Mean −log p(keyword) over the steps labelled with a keyword, the model run as a stream.</summary>
    static double KeywordStepLoss(ConformerSpotter model, LabelledStream stream)
    {
        var streamed = ConformerStream.Run(model, stream.Features);
        var losses = Enumerable.Range(0, streamed.Steps).Where(t => stream.StepLabels[t] >= 0 && stream.StepLabels[t] < model.Config.Keywords)
            .Select(t => -Math.Log(Math.Max(streamed.Posteriors[t, stream.StepLabels[t]], 1e-9))).ToList();
        Assert.NotEmpty(losses);
        return losses.Average();
    }
}
