using EfficientML.Core;

namespace EfficientML.Slick;

/// <summary>One way of training SLiCK: a name and the loss weights.</summary>
public sealed record SlickVariant(string Name, SlickLossWeights Weights)
{
    /// <summary>The baseline: utterance-level matching and CTC, no subsequence-level task.</summary>
    public static SlickVariant Baseline => new("without subsequence", SlickLossWeights.WithoutSubsequence);

    /// <summary>SLiCK: utterance + subsequence + CTC.</summary>
    public static SlickVariant Slick => new("SLiCK", SlickLossWeights.Slick);

    /// <summary>SLiCK without the phoneme-recognition (CTC) task.</summary>
    public static SlickVariant WithoutCtc => new("SLiCK, no CTC", SlickLossWeights.Slick with { Ctc = 0 });

    /// <summary>The three of the ablation, baseline first.</summary>
    public static IReadOnlyList<SlickVariant> Ablation => [Baseline, Slick, WithoutCtc];
}

/// <summary>What the ablation trains and measures.</summary>
public sealed record SlickExperimentOptions
{
    /// <summary>The pairs (the same for every variant and seed).</summary>
    public SlickDatasetOptions Dataset { get; init; } = new() { TrainPairs = 4800, ValidationPairs = 300, TestPairs = 900 };

    /// <summary>The model's shape (its L is the dataset's).</summary>
    public SlickModelConfig Model { get; init; } = new();

    /// <summary>The training budget, the same for every variant (the seed is replaced by each of <see cref="Seeds"/>).</summary>
    public TrainingOptions Training { get; init; } = new()
    {
        Steps = 2500, BatchSize = 32, LearningRate = 2e-3, WarmupSteps = 50, EvalEvery = 250, WeightDecay = 0.01,
    };

    /// <summary>Seeds: each variant is trained once per seed (model initialisation and the order of pairs).</summary>
    public IReadOnlyList<int> Seeds { get; init; } = [1, 2, 3];

    /// <summary>The variants compared.</summary>
    public IReadOnlyList<SlickVariant> Variants { get; init; } = SlickVariant.Ablation;

    /// <summary>Also score the real-voice set (<c>datasets/slick-real-voice</c>).</summary>
    public bool RealVoice { get; init; } = true;

    /// <summary>A small version for tests and quick runs: fewer pairs and steps, one seed.</summary>
    public static SlickExperimentOptions Quick => new()
    {
        Dataset = new SlickDatasetOptions { TrainPairs = 600, ValidationPairs = 90, TestPairs = 300 },
        Training = new TrainingOptions { Steps = 150, BatchSize = 32, LearningRate = 2e-3, WarmupSteps = 20, EvalEvery = 75, WeightDecay = 0.01 },
        Seeds = [1],
    };

    /// <summary>Throws one clear message for settings that cannot work.</summary>
    public SlickExperimentOptions Validate()
    {
        Dataset.Validate();
        Model.Validate();
        Training.Validate();
        if (Seeds.Count == 0) throw new InvalidSettingsException("Give at least one seed.");
        if (Seeds.Distinct().Count() != Seeds.Count) throw new InvalidSettingsException("The seeds repeat; give distinct seeds.");
        if (Variants.Count == 0) throw new InvalidSettingsException("Give at least one variant to train.");
        if (Variants.Select(v => v.Name).Distinct().Count() != Variants.Count) throw new InvalidSettingsException("Two variants have the same name; name each differently.");
        foreach (var v in Variants) v.Weights.Validate();
        if (Dataset.TrainPairs < 1 || Dataset.ValidationPairs < 3 || Dataset.TestPairs < 3)
            throw new InvalidSettingsException("The ablation needs training pairs and at least 3 validation and 3 test pairs (a positive, an easy and a hard negative).");
        return this;
    }
}

/// <summary>
/// One trained model of the ablation: its variant, seed, training record, decision threshold (the equal-error point of
/// the validation pairs) and scores on the test and real-voice pairs.
/// </summary>
public sealed record SlickTrial(SlickVariant Variant, int Seed, TrainingRun Run, double Threshold, SlickScores Test, SlickScores? Real)
{
    /// <summary>ROC of the named set: "easy", "hard", "real easy" or "real hard".</summary>
    public SlickRoc Roc(string set) => set switch
    {
        "easy" => Test.Easy,
        "hard" => Test.Hard,
        "real easy" => (Real ?? throw new InvalidSettingsException("This ablation did not score the real-voice set.")).Easy,
        "real hard" => (Real ?? throw new InvalidSettingsException("This ablation did not score the real-voice set.")).Hard,
        _ => throw new InvalidSettingsException($"There is no set '{set}'; the sets are easy, hard, real easy and real hard."),
    };
}

/// <summary>A variant's AUC and EER on one set, over its seeds: means and sample standard deviations (0 for one seed).</summary>
public sealed record SlickSummaryRow(string Variant, string Set, int Seeds, double Auc, double AucSpread, double Eer, double EerSpread);

/// <summary>The ablation's result: the data it used and every trial.</summary>
public sealed record SlickAblation(SlickExperimentOptions Options, int MaxKeywordLength, int TrainClips, int TestPairs, int RealPairs, IReadOnlyList<SlickTrial> Trials)
{
    /// <summary>The sets scored.</summary>
    public IReadOnlyList<string> Sets => RealPairs > 0 ? ["easy", "hard", "real easy", "real hard"] : ["easy", "hard"];

    /// <summary>Mean and spread of AUC and EER for every variant and set.</summary>
    public IReadOnlyList<SlickSummaryRow> Summary()
    {
        var rows = new List<SlickSummaryRow>();
        foreach (var variant in Trials.Select(t => t.Variant.Name).Distinct())
            foreach (var set in Sets)
            {
                var rocs = Trials.Where(t => t.Variant.Name == variant).Select(t => t.Roc(set)).ToList();
                var (auc, aucSpread) = BatchStatistics.MeanSpread(rocs.Select(r => r.Auc).ToList());
                var (eer, eerSpread) = BatchStatistics.MeanSpread(rocs.Select(r => r.Eer).ToList());
                rows.Add(new SlickSummaryRow(variant, set, rocs.Count, auc, aucSpread, eer, eerSpread));
            }
        return rows;
    }
}

/// <summary>
/// The ablation of SLiCK's losses on identical data, seed and budget: every variant (without the subsequence loss, with
/// it, without CTC) trained once per seed on the same synthesised pairs, scored on the test pairs (new keywords, new
/// voices) as positives against easy and against hard negatives, and on the real-voice pairs.
/// </summary>
public static class SlickExperiment
{
    /// <summary>The data of an ablation: the synthesised dataset's features and the real-voice pairs (or null).</summary>
    public sealed class Data : IDisposable
    {
        internal Data(SlickDataset dataset, SlickFeatures train, SlickFeatures validation, SlickFeatures test, SlickFeatures? real)
            => (Dataset, Train, Validation, Test, Real) = (dataset, train, validation, test, real);

        /// <summary>The synthesised dataset.</summary>
        public SlickDataset Dataset { get; }

        /// <summary>Training clips (paired afresh while training).</summary>
        public SlickFeatures Train { get; }

        /// <summary>Validation pairs.</summary>
        public SlickFeatures Validation { get; }

        /// <summary>Test pairs.</summary>
        public SlickFeatures Test { get; }

        /// <summary>Real-voice pairs, or null.</summary>
        public SlickFeatures? Real { get; }

        /// <inheritdoc/>
        public void Dispose()
        {
            Train.Dispose();
            Validation.Dispose();
            Test.Dispose();
            Real?.Dispose();
        }
    }

    /// <summary>Builds the dataset and the features the ablation trains and scores on.</summary>
    public static Data Prepare(SlickExperimentOptions options, CancellationToken cancellation = default)
    {
        options.Validate();
        var dataset = SlickDataset.Build(options.Dataset, cancellation: cancellation);
        var real = options.RealVoice ? SlickFeatures.Of(SlickRealVoice.Load().Pairs(dataset.MaxKeywordLength, options.Dataset.Seed, options.Dataset.ClipSeconds)) : null;
        return new Data(dataset, SlickFeatures.Of(dataset.Train.Examples), SlickFeatures.Of(dataset.Validation.Examples), SlickFeatures.Of(dataset.Test.Examples), real);
    }

    /// <summary>
    /// Trains one variant with one seed on <paramref name="data"/>, sets the model's <see cref="SlickModel.DecisionThreshold"/>
    /// to the equal-error point of the validation pairs, and scores it on the test (and real-voice) pairs.
    /// </summary>
    public static (SlickModel Model, SlickTrial Trial) Train(Data data, SlickVariant variant, int seed, SlickExperimentOptions options,
        Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        Seeding.Everything(seed);
        var model = new SlickModel(options.Model with { MaxKeywordLength = data.Dataset.MaxKeywordLength });
        var run = SlickTraining.NewRun($"{variant.Name}, seed {seed}", options.Training with { Seed = seed });
        SlickTraining.Train(model, data.Train, data.Dataset.Phrases.Train, data.Validation, run, variant.Weights, progress: progress, cancellation: cancellation);
        run.ThrowIfDiverged();
        model.DecisionThreshold = Math.Clamp(SlickTraining.Score(model, data.Validation).Roc().EerThreshold, 1e-3, 1 - 1e-3);
        var test = SlickTraining.Score(model, data.Test);
        var real = data.Real is null ? null : SlickTraining.Score(model, data.Real);
        return (model, new SlickTrial(variant, seed, run, model.DecisionThreshold, test, real));
    }

    /// <summary>
    /// The whole ablation: builds the data once, then trains every variant with every seed (seeds outermost, so a
    /// stopped run still has every variant of its first seeds). <paramref name="trained"/> is told of each trial, with
    /// its model and the data, before the model is freed (e.g. to scan a stream with it).
    /// </summary>
    public static SlickAblation Run(SlickExperimentOptions? options = null, Action<SlickTrial, SlickModel, Data>? trained = null,
        Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        options = (options ?? new SlickExperimentOptions()).Validate();
        using var data = Prepare(options, cancellation);
        var trials = new List<SlickTrial>();
        foreach (var seed in options.Seeds)
            foreach (var variant in options.Variants)
            {
                var (model, trial) = Train(data, variant, seed, options, progress, cancellation);
                using (model)
                {
                    trials.Add(trial);
                    trained?.Invoke(trial, model, data);
                }
            }
        return new SlickAblation(options, data.Dataset.MaxKeywordLength, data.Train.Count, data.Test.Count, data.Real?.Count ?? 0, trials);
    }
}
