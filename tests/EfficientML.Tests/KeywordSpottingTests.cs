using EfficientML.Core;
using EfficientML.Export;
using EfficientML.Reparam;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;
using static TorchSharp.torch;

namespace EfficientML.Tests;

public class KeywordSpottingTests
{
    static readonly KeywordDatasetOptions Small = new()
    {
        Keywords = ["zero", "one", "seven"],
        TrainSpeakers = 8, ValidationSpeakers = 2, TestSpeakers = 2, RepeatsPerSpeaker = 2, Seed = 11,
    };

    [Fact]
    public void TheRealVoiceTestLabelsKeywordsAndUnknownWordsAndVariesEachRecording()
    {
        var items = RealVoiceTest.Make(Small, variations: 2, seed: 1);
        var originals = items.Where(i => i.Original).ToList();
        Assert.DoesNotContain(items, i => i.Word == "oh");
        Assert.Equal(RealVoiceSet.Load().Clips.Count(c => c.Word != "oh"), originals.Count);    // every recording once, "goodbye" twice
        Assert.Equal(2, originals.Count(i => i.Word == "goodbye"));
        Assert.Equal(originals.Count * 3, items.Count);
        Assert.Equal(2, originals.Single(i => i.Word == "seven").Label);
        Assert.Equal(3, originals.Single(i => i.Word == "minus").Label);                      // not a keyword: unknown
        Assert.All(items, i => Assert.Equal(16000, i.Samples.Length));
        Assert.All(items.Where(i => !i.Original), i => Assert.Contains("dB", i.Variation));
        Assert.Equal(items.Select(i => i.Samples), RealVoiceTest.Make(Small, variations: 2, seed: 1).Select(i => i.Samples));
        var withoutUnknown = RealVoiceTest.Make(Small with { IncludeUnknown = false }, variations: 0);
        Assert.All(withoutUnknown, i => Assert.Contains(i.Word, Small.Keywords));
    }

    [Fact]
    public void FeaturesHaveEachBandsMeanRemoved()
    {
        var data = KeywordDatasetBuilder.Build(Small, useCache: false);
        using var logMel = new LogMel();
        using var features = KeywordFeatures.Of(data.Test, logMel);
        Assert.Equal(new long[] { data.Test.Count, 40, 98 }, features.Features.shape);
        using var mean = features.Features.mean([-1]).abs().max();
        Assert.True(mean.item<float>() < 1e-4, $"band means {mean.item<float>()}");
        Assert.Equal(data.Test.Labels.Select(l => (long)l), features.Labels.data<long>().ToArray());
    }

    [Fact]
    public void AKeywordSpotterLearnsAndItsFoldAndOnnxExportKeepItsLogits()
    {
        var data = KeywordDatasetBuilder.Build(Small, useCache: false);
        using var logMel = new LogMel();
        using var train = KeywordFeatures.Of(data.Train, logMel);
        using var validation = KeywordFeatures.Of(data.Validation, logMel);
        var model = new RepCnn(new RepCnnConfig { Classes = data.Labels.Count, Channels = [16, 16, 24] }, seed: 2);
        var options = new TrainingOptions { Steps = 60, BatchSize = 16, LearningRate = 3e-3, WarmupSteps = 5, EvalEvery = 30, EvalAtStart = true, Seed = 3 };
        var run = KeywordSpotterTraining.Train(model, train, validation, options);
        Assert.Equal(TrainingOutcome.Completed, run.Outcome);
        Assert.Equal("clip", run.Item);
        Assert.True(run.Evaluations[^1].ValidationLoss < run.Evaluations[0].ValidationLoss,
            $"validation loss {run.Evaluations[0].ValidationLoss:0.000} → {run.Evaluations[^1].ValidationLoss:0.000}");
        var before = KeywordSpotterTraining.Evaluate(model, train, data.Labels);
        Assert.True(before.Accuracy > 1.5 / data.Labels.Count, $"training accuracy {before.Accuracy:P0}");

        var (folded, report) = Reparameterization.FoldCopy(model, train.Features, repeats: 2);
        Assert.True(report.Same, $"trained model: folded logits differ by {report.MaxAbsDifference} on logits up to {report.LogitScale}");
        Assert.True(report.ParametersAfter < report.ParametersBefore);
        Assert.Equal(before.Predictions, KeywordSpotterTraining.Evaluate(folded, train, data.Labels).Predictions);
        Assert.False(model.IsReparameterized);

        var path = Path.Combine(Path.GetTempPath(), $"kws-{Guid.NewGuid():N}.onnx");
        try
        {
            RepCnnOnnx.Export(folded, path);
            using var onnx = new OnnxKeywordSpotter(path);
            using var noGrad = no_grad();
            using var torchLogits = folded.call(train.Features);
            using var onnxLogits = onnx.Run(train.Features);
            double gap = TestModels.MaxRelativeDiff(torchLogits, onnxLogits);
            Assert.True(gap <= 1e-5, $"ONNX Runtime differs by {gap:E2} of the logits' scale");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AnEvaluationCountsAccuracyAndConfusion()
    {
        var evaluation = new KeywordEvaluation(["a", "b", "c"], [0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 0.7);
        Assert.Equal(0.6, evaluation.Accuracy, 10);
        var confusion = evaluation.Confusion;
        Assert.Equal(1, confusion[0, 0]);
        Assert.Equal(1, confusion[0, 1]);
        Assert.Equal(1, confusion[2, 0]);
        Assert.Equal(5, confusion.Cast<int>().Sum());
        var (original, varied) = KeywordSpottingExperiments.RealVoiceSplit(evaluation,
            [.. new[] { true, false, true, false, false }.Select(o => new RealVoiceItem("w", 0, o, "", []))]);
        Assert.Equal(1.0, original.Accuracy);
        Assert.Equal(1.0 / 3, varied.Accuracy, 10);
    }

    [Fact]
    public void Honest_metrics_separate_keywords_from_unknown_words_and_see_through_always_answering_unknown()
    {
        string[] labels = ["yes", "no", KeywordDatasetOptions.UnknownLabel, KeywordDatasetOptions.SilenceLabel];
        // Six unknown words and four keywords; the model answers "unknown" to everything.
        int[] truth = [2, 2, 2, 2, 2, 2, 0, 0, 1, 1];
        var lazy = new KeywordEvaluation(labels, truth, [.. truth.Select(_ => 2)], 1.0);
        Assert.Equal(0.6, lazy.Accuracy, 10);
        Assert.Equal(0.6, lazy.AlwaysUnknownAccuracy, 10);
        Assert.Equal(0, lazy.KeywordRecall);
        Assert.Equal(1, lazy.UnknownRejection);
        Assert.Equal(1.0 / 3, lazy.BalancedAccuracy, 10);          // three classes present: recalls 0, 0, 1
        // One that finds three of the four keywords and lets two unknown words through as "yes".
        var eager = new KeywordEvaluation(labels, truth, [2, 2, 2, 2, 0, 0, 0, 0, 1, 2], 1.0);
        Assert.Equal(0.75, eager.KeywordRecall, 10);
        Assert.Equal(4.0 / 6, eager.UnknownRejection, 10);
        Assert.Equal((1 + 0.5 + 4.0 / 6) / 3, eager.BalancedAccuracy, 10);
        Assert.Equal(0.5, eager.Recall(1), 10);
        Assert.True(double.IsNaN(eager.Recall(3)));               // no silence clips
        Assert.Equal((2, 3), (eager.UnknownClass, eager.SilenceClass));
        Assert.True(double.IsNaN(new KeywordEvaluation(["a", "b"], [0], [0], 0).UnknownRejection));
    }

    [Fact]
    public void Every_named_model_is_made_and_BC_ResNet_2_is_wider_and_trains_twice_as_long()
    {
        foreach (var name in KeywordSpottingExperiments.Models)
        {
            var (model, cost, training) = KeywordSpottingExperiments.Create(name, classes: 16, quick: false, seed: 3);
            using (model)
            {
                Assert.Equal(3, training.Seed);
                // A BC-ResNet deploys as trained; a RepCNN's cost is its folded network's, never more than it trains with.
                if (model is BcResNet bc) Assert.Equal(bc.ParameterCount, cost.Parameters);
                else Assert.InRange(cost.Parameters, 1, ((RepCnn)model).ParameterCount);
            }
        }
        var (one, oneCost, oneTraining) = KeywordSpottingExperiments.Create(KeywordSpottingExperiments.BcResNetName, 16, quick: false);
        var (two, twoCost, twoTraining) = KeywordSpottingExperiments.Create(KeywordSpottingExperiments.BcResNetWideName, 16, quick: false);
        using (one) using (two)
        {
            Assert.Equal(2.0, ((BcResNet)two).Config.Width);
            Assert.True(twoCost.Parameters > 2.5 * oneCost.Parameters, $"{twoCost.Parameters} vs {oneCost.Parameters}");
            Assert.Equal(2 * oneTraining.Steps, twoTraining.Steps);
            Assert.Equal(oneTraining.LearningRate, twoTraining.LearningRate);
            Assert.Equal(2 * KeywordSpottingExperiments.Training(quick: true, bcResNet: true).Steps, KeywordSpottingExperiments.LongerTraining(quick: true).Steps);
        }
        var message = Assert.Throws<InvalidSettingsException>(() => KeywordSpottingExperiments.Create("bc-resnet-8", 16, quick: true)).Message;
        Assert.Contains("bc-resnet-2", message);
    }

    [Fact]
    public void Real_unknown_words_split_into_words_training_taught_and_words_it_never_had()
    {
        var options = new KeywordDatasetOptions { Keywords = ["yes", "no"], UnknownWords = ["Cat", "dog", "yes"] };
        string[] labels = ["yes", "no", KeywordDatasetOptions.UnknownLabel, KeywordDatasetOptions.SilenceLabel];
        string[] words = ["cat", "Dog", "bird", "fish", "yes", "cat"];
        int[] truth = [2, 2, 2, 2, 0, 2];
        var evaluation = new KeywordEvaluation(labels, truth, [2, 0, 2, 1, 0, 2], 1.0);
        var items = words.Select((w, i) => new RealVoiceItem(w, truth[i], true, "", [])).ToList();
        var (taught, fresh) = KeywordSpottingExperiments.UnknownVocabularySplit(evaluation, items, options);
        // cat, Dog, cat were taught (case aside): two of three rejected; bird and fish never were: one of two.
        Assert.Equal(3, taught.Truth.Length);
        Assert.Equal(2.0 / 3, taught.UnknownRejection, 10);
        Assert.Equal(2, fresh.Truth.Length);
        Assert.Equal(0.5, fresh.UnknownRejection, 10);
        // The keyword recording is in neither part, and together they are every unknown-word recording.
        Assert.Equal(evaluation.Truth.Count(t => t == 2), taught.Truth.Length + fresh.Truth.Length);
        Assert.Throws<InvalidSettingsException>(() => KeywordSpottingExperiments.UnknownVocabularySplit(evaluation, items[..3], options));
    }

    [Fact]
    public void LatencyTimesEveryRunAndRefusesNothingToTime()
    {
        int a = 0, b = 0;
        var ms = Latency.Medians([() => a++, () => { b++; Thread.Sleep(2); }], repeats: 5, warmup: 1);
        Assert.Equal((6, 6), (a, b));
        Assert.True(ms[1] > ms[0], $"{ms[0]} vs {ms[1]}");
        Assert.Throws<InvalidSettingsException>(() => Latency.Medians([]));
    }
}
