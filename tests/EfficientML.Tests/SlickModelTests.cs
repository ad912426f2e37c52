using EfficientML.Core;
using EfficientML.Slick;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Tests;

[Trait("Category", "Invariant")] // run under every ATen CPU capability in CI (.ci/run)
public class SlickModelTests
{
    static SlickModel NewModel(int seed = 1, int length = 12)
    {
        Seeding.Everything(seed);
        return new SlickModel(new SlickModelConfig { MaxKeywordLength = length, Width = 32, Heads = 4, HeadHidden = 16 });
    }

    static Tensor Keywords(params int[][] keywords) =>
        tensor(keywords.SelectMany(k => Phonemizer.Pad(k, 12).Select(i => (long)i)).ToArray(), [keywords.Length, 12]);

    [Fact]
    public void WhatStandsInThePaddingDoesNotChangeAShorterKeywordsScore()
    {
        using var model = NewModel();
        model.eval();
        using var noGrad = no_grad();
        var features = randn(3, 40, 100, generator: Seeding.Generator(5));
        int[] shortKeyword = [3, 17, 9, 22];
        using var padded = Keywords(shortKeyword, shortKeyword, shortKeyword);
        using var garbage = padded.clone();
        garbage[1, TensorIndex.Slice(4)] = randint(1, Phonemizer.Count, [8], generator: Seeding.Generator(6));   // phonemes where padding was
        garbage[2, TensorIndex.Slice(4)] = 40;
        using var lengths = tensor(new long[] { 4, 4, 4 });
        var clean = model.Forward(features, padded);
        var noisy = model.Forward(features, garbage, lengths);
        Assert.Equal(clean.Utterance.data<float>().ToArray(), noisy.Utterance.data<float>().ToArray());
        Assert.Equal(clean.Subsequence.narrow(1, 0, 4).data<float>().ToArray(), noisy.Subsequence.narrow(1, 0, 4).data<float>().ToArray());
        // Without the lengths, the phonemes in the padding are part of the keyword, and the score changes.
        var longer = model.Forward(features, garbage);
        Assert.NotEqual(clean.Utterance[1].item<float>(), longer.Utterance[1].item<float>());
    }

    [Fact]
    public void APrefixesSubsequenceScoresDoNotDependOnWhatFollowsIt()
    {
        using var model = NewModel(2);
        model.eval();
        using var noGrad = no_grad();
        var features = randn(1, 40, 90, generator: Seeding.Generator(8)).expand(3, -1, -1);
        using var keywords = Keywords([5, 30, 2], [5, 30, 2, 33, 18], [5, 30, 2, 7, 7, 7, 12, 1]);
        var output = model.Forward(features, keywords);
        var first = output.Subsequence[0].narrow(0, 0, 3).data<float>().ToArray();
        Assert.Equal(first, output.Subsequence[1].narrow(0, 0, 3).data<float>().ToArray());
        Assert.Equal(first, output.Subsequence[2].narrow(0, 0, 3).data<float>().ToArray());
        Assert.NotEqual(output.Utterance[0].item<float>(), output.Utterance[1].item<float>());
        // Every keyword position's attention over the audio is a distribution.
        var sums = output.Attention.sum(-1).data<float>().ToArray();
        Assert.All(sums, s => Assert.Equal(1f, s, 4));
    }

    [Fact]
    public void SubsequenceLabelsMarkThePrefixesTheAudioContains()
    {
        int[] bravo = [1, 2, 3, 4, 5];
        Assert.Equal([1, 1, 1, 1, 1, 0, 0], SlickTargets.Prefixes(bravo, bravo, 7));
        Assert.Equal([1, 1, 1, 1, 0, 0, 0], SlickTargets.Prefixes(bravo, [1, 2, 3, 4, 9], 7));     // "brave" against "bravo"
        Assert.Equal([1, 1, 1, 0, 0, 0, 0], SlickTargets.Prefixes([9, 3, 4, 5], [3, 4, 5, 6], 7));   // a prefix found inside the audio
        Assert.Equal([0, 0, 0, 0, 0, 0, 0], SlickTargets.Prefixes(bravo, [8, 2, 3], 7));            // a first phoneme never said
        Assert.Equal([1, 0, 0], SlickTargets.Prefixes([4, 1, 4], [4, 4, 1, 4], 3));                   // contiguous, not scattered
    }

    [Fact]
    public void RocAreaAndEqualErrorRateAreTheTextbookOnes()
    {
        var perfect = SlickRoc.Of([0.9f, 0.8f, 0.2f, 0.1f], [1, 1, 0, 0]);
        Assert.Equal(1, perfect.Auc, 12);
        Assert.Equal(0, perfect.Eer, 12);
        var inverted = SlickRoc.Of([0.1f, 0.2f, 0.8f, 0.9f], [1, 1, 0, 0]);
        Assert.Equal(0, inverted.Auc, 12);
        Assert.Equal(1, inverted.Eer, 12);
        var ties = SlickRoc.Of([0.5f, 0.5f, 0.5f, 0.5f], [1, 0, 1, 0]);
        Assert.Equal(0.5, ties.Auc, 12);
        Assert.Equal(0.5, ties.Eer, 12);
        // Mann–Whitney: matches 0.8, 0.6, 0.3 against non-matches 0.7, 0.2: pairs won 2 + 1 + 1 of 6.
        var mixed = SlickRoc.Of([0.8f, 0.6f, 0.3f, 0.7f, 0.2f], [1, 1, 1, 0, 0]);
        Assert.Equal(4.0 / 6, mixed.Auc, 12);
        // The ROC runs (0,0) (0,1/3) (1/2,1/3) (1/2,2/3) (1/2,1) (1,1); FPR − FNR turns from −1/6 to +1/6 between the third
        // and fourth points (thresholds 0.7 and 0.6), halfway: FPR = FNR = 1/2 there, at threshold 0.65.
        Assert.Equal(0.5, mixed.Eer, 12);
        Assert.Equal(0.65, mixed.EerThreshold, 6);
        Assert.Throws<InvalidSettingsException>(() => SlickRoc.Of([0.1f, 0.2f], [1, 1]));
    }

    [Fact]
    public void EnrollingBadKeywordsSaysWhatToType()
    {
        using var model = NewModel();
        using var spotter = new SlickSpotter(model);
        Assert.Contains("empty", Assert.Throws<InvalidSettingsException>(() => spotter.Enrol("   ")).Message);
        Assert.Contains("a to z", Assert.Throws<InvalidSettingsException>(() => spotter.Enrol("héllo")).Message);
        Assert.Contains("shorter keyword", Assert.Throws<InvalidSettingsException>(() => spotter.Enrol("the quick brown fox jumps")).Message);
        var keyword = spotter.Enrol("Brave");
        Assert.Equal("brave", keyword.Text);
        Assert.Equal("b r eI v", keyword.PhonemeNames);
        var match = spotter.Match(new float[16000], [keyword])[0];
        Assert.Equal(4, match.Prefixes.Length);
        Assert.Equal(4, match.Attention.GetLength(0));
        Assert.InRange(match.Score, 0, 1);
        // A scan decides at the model's threshold unless told otherwise.
        model.DecisionThreshold = 0.7;
        Assert.Equal(0.7, spotter.Scan(new float[48000], [keyword]).Threshold);
        Assert.Equal(0.2, spotter.Scan(new float[48000], [keyword], new SlickScanOptions { Threshold = 0.2 }).Threshold);
        Assert.Contains("threshold", Assert.Throws<InvalidSettingsException>(() => spotter.Scan(new float[48000], [keyword], new SlickScanOptions { Threshold = 1 })).Message);
    }

    [Fact]
    public void TheMatcherLearnsATinySet()
    {
        var options = new SlickDatasetOptions
        {
            Phrases = new SlickPhraseOptions { MaxTrainPhrases = 40, MaxTestPhrases = 20, Seed = 4 },
            TrainPairs = 48, ValidationPairs = 6, TestPairs = 3, TrainSpeakers = 2, ValidationSpeakers = 1, TestSpeakers = 1, NoiseShare = 0, TelephoneShare = 0,
        };
        var dataset = SlickDataset.Build(options);
        using var train = SlickFeatures.Of(dataset.Train.Examples);
        using var validation = SlickFeatures.Of(dataset.Validation.Examples);
        Seeding.Everything(3);
        using var model = new SlickModel(new SlickModelConfig { MaxKeywordLength = dataset.MaxKeywordLength, Width = 64 });
        var before = SlickTraining.Score(model, train);
        var anchors = dataset.Train.Examples.Select(e => e.Pair.Anchor).DistinctBy(a => a.Text).ToList();
        var run = SlickTraining.NewRun("tiny", new TrainingOptions { Steps = 400, BatchSize = 24, LearningRate = 1e-2, WarmupSteps = 10, EvalEvery = 400, WeightDecay = 0 });
        SlickTraining.Train(model, train, anchors, validation, run, augment: KeywordSpotting.SpecAugmentOptions.None);
        Assert.Equal(TrainingOutcome.Completed, run.Outcome);
        var after = SlickTraining.Score(model, train);
        Assert.True(after.Loss < 0.5 * before.Loss, $"training pairs' loss {before.Loss:0.###} → {after.Loss:0.###}");
        Assert.True(after.Roc().Auc > 0.9, $"AUC on the training pairs {after.Roc().Auc:P1}");
    }
}

public class SlickCostAndScanTests
{
    [Fact]
    public void TheCostModelCountsTheModelsParameters()
    {
        foreach (var config in new[] { new SlickModelConfig(), new SlickModelConfig { Width = 64, AudioLayers = 2, AudioStride = 2, MaxKeywordLength = 15, HeadHidden = 32 } })
        {
            using var model = new SlickModel(config);
            var cost = SlickCost.Of(config, windowSeconds: 2.5);
            Assert.Equal(model.AudioParameters, cost.AudioParameters);
            Assert.Equal(model.TextParameters, cost.TextParameters);
            Assert.Equal(model.MatcherParameters, cost.MatcherParameters);
            Assert.Equal(model.parameters().Sum(p => p.numel()), cost.Parameters);
            // The encoder's output length is the one the cost model assumes.
            using var noGrad = no_grad();
            var (encoding, _) = model.EncodeAudio(zeros(1, config.Mels, cost.Frames));
            Assert.Equal((cost.Frames + 4 - 5) / config.AudioStride + 1, encoding.shape[1]);
            Assert.Equal(cost.AudioMacs + 3 * cost.MatcherMacs, cost.MacsFor(3));
        }
    }

    [Fact]
    public void DetectionsKeepTheBestWindowAndScoreAgainstTheWordsSaid()
    {
        var keywords = new[] { new SlickKeyword("brave", [1, 2], [1, 2, 0]) };
        var scores = new float[20, 1];
        foreach (var (w, s) in new[] { (3, 0.6f), (4, 0.9f), (5, 0.7f), (15, 0.8f) }) scores[w, 0] = s;
        var options = new SlickScanOptions { HopSeconds = 0.25, Threshold = 0.5, RefractorySeconds = 1.0, ToleranceSeconds = 0.5 };
        var detections = SlickSpotter.Detect(scores, keywords, options, windowSeconds: 2.0);
        Assert.Equal(2, detections.Count);
        Assert.Equal(4 * 0.25 + 1.0, detections[0].Seconds, 9);        // window 4 (the best of 3–5), centred
        Assert.Equal(0.9, detections[0].Score, 6);
        Assert.Equal(15 * 0.25 + 1.0, detections[1].Seconds, 9);
        var said = new[]
        {
            new Audio.KeywordEvent("brave", 0, "v", 1.5, 2.5),           // hit by the first detection (2.0 s)
            new Audio.KeywordEvent("brave", 0, "v", 8.0, 9.0),           // missed
            new Audio.KeywordEvent("bravo", 1, "v", 4.5, 5.0),           // not the keyword: the detection at 4.75 s is a false alarm
        };
        var score = SlickSpotter.ScoreAgainst(detections, keywords, said, options, seconds: 3600);
        Assert.Equal((2, 1, 1), (score.Said, score.Hits, score.FalseAlarms));
        Assert.Equal(1, score.FalseAlarmsPerHour, 9);
        Assert.Equal(new SlickScanScore(4, 2, 2, 7200), SlickScanScore.Sum([score, score]));
    }

    [Fact]
    public void AWindowCentresTheClipPaddedOrCut()
    {
        Assert.Equal([0, 1, 2, 3, 0, 0], Audio.AudioMixing.Centre([1, 2, 3], 6));          // odd room: one more zero after
        Assert.Equal([2, 3, 4], Audio.AudioMixing.Centre([1, 2, 3, 4, 5], 3));              // the middle of a longer clip
        Assert.Equal([1, 2], Audio.AudioMixing.Centre([1, 2], 2));
    }
}

public class SlickExperimentTests
{
    static readonly SlickDatasetOptions Tiny = new()
    {
        Phrases = new SlickPhraseOptions { MaxTrainPhrases = 60, MaxTestPhrases = 40, Seed = 2 },
        TrainPairs = 24, ValidationPairs = 6, TestPairs = 9, TrainSpeakers = 3, ValidationSpeakers = 1, TestSpeakers = 2,
    };

    [Fact]
    public void TheAblationTrainsEveryVariantPerSeedOnTheSameDataAndSummarisesThem()
    {
        var options = new SlickExperimentOptions
        {
            Dataset = Tiny,
            Model = new SlickModelConfig { Width = 16, Heads = 2, HeadHidden = 8 },
            Training = new TrainingOptions { Steps = 4, BatchSize = 4, WarmupSteps = 1, EvalEvery = 4 },
            Seeds = [1, 2],
            Variants = [SlickVariant.Baseline, SlickVariant.Slick],
        };
        var seen = new List<(string, int, int)>();
        var ablation = SlickExperiment.Run(options, (trial, model, data) =>
        {
            seen.Add((trial.Variant.Name, trial.Seed, data.Train.Count));
            // The model decides at the equal-error point of the validation pairs.
            Assert.Equal(Math.Clamp(SlickTraining.Score(model, data.Validation).Roc().EerThreshold, 1e-3, 1 - 1e-3), model.DecisionThreshold, 6);
            Assert.Equal(model.DecisionThreshold, trial.Threshold);
        });
        Assert.Equal([("without subsequence", 1, 24), ("SLiCK", 1, 24), ("without subsequence", 2, 24), ("SLiCK", 2, 24)], seen);
        Assert.Equal(4, ablation.Trials.Count);
        Assert.Equal(50 * 3, ablation.RealPairs);
        var summary = ablation.Summary();
        Assert.Equal(2 * 4, summary.Count);
        foreach (var row in summary)
        {
            var values = ablation.Trials.Where(t => t.Variant.Name == row.Variant).Select(t => t.Roc(row.Set).Auc).ToArray();
            Assert.Equal(values.Average(), row.Auc, 12);
            Assert.Equal(Math.Abs(values[0] - values[1]) / Math.Sqrt(2), row.AucSpread, 12);   // sample sd of two values
        }
        Assert.Contains("seeds repeat", Assert.Throws<InvalidSettingsException>(() => (options with { Seeds = [1, 1] }).Validate()).Message);
        Assert.Contains("above 0", Assert.Throws<InvalidSettingsException>(() => new SlickLossWeights(Utterance: 0).Validate()).Message);
    }

    [Fact]
    public void AStreamSaysTheKeywordAmongOtherPhrasesInTestVoicesOnly()
    {
        var phrases = SlickPhrases.Build(Tiny.Phrases);
        var keyword = phrases.Test[0].Text;
        var stream = SlickStream.Build(Tiny, phrases, keyword, seconds: 30, seed: 3, keywordShare: 0.5);
        var (train, _, test) = Audio.SpeakerCatalog.Deal(Tiny.TrainSpeakers, Tiny.ValidationSpeakers, Tiny.TestSpeakers, Tiny.Seed);
        Assert.Contains(stream.Events, e => e.Word == keyword);
        Assert.Contains(stream.Events, e => e.Word != keyword);
        Assert.All(stream.Events, e => Assert.Contains(e.Speaker, test.Select(s => s.Name)));
        Assert.All(stream.Events, e => Assert.DoesNotContain(e.Speaker, train.Select(s => s.Name)));
        Assert.All(stream.Events.Where(e => e.Word != keyword), e => Assert.Contains(e.Word, phrases.Test.Select(p => p.Text)));
    }
}
