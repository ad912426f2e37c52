using EfficientML.Audio;
using EfficientML.Core;
using EfficientML.Reparam;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.KeywordSpotting;

/// <summary>
/// One trained keyword spotter's results: its training run, synthetic test and real-voice evaluations (all real-voice
/// clips, the recordings as they are, and their variations, separately), and its analytic deploy cost.
/// </summary>
public sealed record KeywordSpotterResult(string Name, TrainingRun Run, KeywordEvaluation Test, KeywordEvaluation RealVoice,
    KeywordEvaluation RealOriginal, KeywordEvaluation RealVariations, ModelCost Cost)
{
    /// <summary>The unknown-class threshold fitted on the synthetic validation set (null when it has no unknown-word clips).</summary>
    public UnknownCalibration? Calibration { get; init; }

    /// <summary>The real recordings as they are, decided with <see cref="Calibration"/> (null without one).</summary>
    public KeywordEvaluation? RealOriginalCalibrated { get; init; }

    /// <summary>
    /// The real recordings of unknown words whose word is in the training's unknown vocabulary (heard there from synthetic
    /// voices only): how well the model rejects a word it was taught, in a voice it never heard. Null when not split.
    /// </summary>
    public KeywordEvaluation? RealUnknownTrainedWords { get; init; }

    /// <summary>The real recordings of unknown words that training never had, in any voice: rejection of a new word. Null when not split.</summary>
    public KeywordEvaluation? RealUnknownNewWords { get; init; }

    /// <summary>" (taught words …, new words …)" after the real voice's unknown rejection, or nothing when not split.</summary>
    string VocabularyNote => RealUnknownTrainedWords is { } taught && RealUnknownNewWords is { } fresh
        ? $" (taught words {Rejection(taught)}, new words {Rejection(fresh)})" : "";

    static string Rejection(KeywordEvaluation e) => e.Truth.Length == 0 ? "none" : $"{e.UnknownRejection:P1} of {e.Truth.Length}";

    /// <summary>Accuracy on the real recordings as they are.</summary>
    public double RealOriginalAccuracy => RealOriginal.Truth.Length == 0 ? double.NaN : RealOriginal.Accuracy;

    /// <summary>Accuracy on the real recordings' variations.</summary>
    public double RealVariationAccuracy => RealVariations.Truth.Length == 0 ? double.NaN : RealVariations.Accuracy;

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name}: test {Test.Accuracy:P1} (balanced {Test.BalancedAccuracy:P1}), real voice as recorded {RealOriginalAccuracy:P1} " +
        $"(balanced {RealOriginal.BalancedAccuracy:P1}, keywords {RealOriginal.KeywordRecall:P1}, unknown rejected {RealOriginal.UnknownRejection:P1}{VocabularyNote}, " +
        $"always-unknown {RealOriginal.AlwaysUnknownAccuracy:P1}) / varied {RealVariationAccuracy:P1}, " +
        (RealOriginalCalibrated is { } calibrated && Calibration is { } c
            ? $"calibrated (unknown bias {c.Bias:+0.00;-0.00}): real voice balanced {calibrated.BalancedAccuracy:P1}, keywords {calibrated.KeywordRecall:P1}, unknown rejected {calibrated.UnknownRejection:P1}, "
            : "") +
        $"{Cost.Parameters:N0} parameters, {Cost.Macs / 1e6:0.00} M MACs per second of audio";
}

/// <summary>One way of running a keyword spotter on one second of audio: median milliseconds per window (batch 1) and its analytic cost.</summary>
public sealed record DeployLatency(string Name, double Milliseconds, ModelCost Cost);

/// <summary>
/// The settings and recipes shared by notebook 06 and the <c>speech</c> benchmark: the dataset, the three models compared on
/// one training budget (RepCNN trained multi-branch, the same deploy network trained single-branch, BC-ResNet-1), BC-ResNet-2
/// on twice that budget, and how each is evaluated.
/// </summary>
public static class KeywordSpottingExperiments
{
    /// <summary>The dataset: the default keyword options, smaller in quick mode.</summary>
    public static KeywordDatasetOptions Dataset(bool quick) => quick ? new KeywordDatasetOptions().Quick() : new KeywordDatasetOptions();

    /// <summary>Variations of each real recording in the real-voice test.</summary>
    public static int RealVoiceVariations(bool quick) => quick ? 1 : 8;

    /// <summary>The RepCNN (five blocks, kernel 5) trained with <paramref name="branches"/>.</summary>
    public static RepCnnConfig RepCnn(int classes, BranchSet branches) => new() { Classes = classes, Branches = branches };

    /// <summary>The BC-ResNet-1 baseline (about 9 k parameters, as in the paper's smallest model).</summary>
    public static BcResNetConfig BcResNet(int classes) => BcResNetConfig.Scaled(1, classes);

    /// <summary>
    /// The training budget every model gets: the same steps and batch size. The learning rate is each model's own
    /// (3e-3 for RepCNN; BC-ResNet trains best at 1e-2, measured on this data).
    /// </summary>
    public static TrainingOptions Training(bool quick, bool bcResNet = false) => new()
    {
        Steps = quick ? 40 : 1000,
        BatchSize = 64,
        LearningRate = bcResNet ? 1e-2 : 3e-3,
        WarmupSteps = quick ? 5 : 50,
        WeightDecay = 0.01,
        EvalEvery = quick ? 20 : 100,
        Seed = 1,
    };

    /// <summary>
    /// BC-ResNet-2 (twice the channels, about 28 k parameters, about three times BC-ResNet-1's multiply-adds per second of
    /// audio), the capacity step the paper takes next.
    /// </summary>
    public static BcResNetConfig BcResNetWide(int classes) => BcResNetConfig.Scaled(2, classes);

    /// <summary>
    /// The training budget of <see cref="BcResNetWideName"/>: <see cref="Training"/> for BC-ResNet with twice the steps. The
    /// full voice recipe is a harder training set than espeak-ng alone, and a wider model needs the longer budget to fit it;
    /// the <c>speech</c> benchmark compares it with BC-ResNet-1 on the shared budget, so the gain is weighed against its cost.
    /// </summary>
    public static TrainingOptions LongerTraining(bool quick)
    {
        var shared = Training(quick, bcResNet: true);
        return shared with { Steps = shared.Steps * 2 };
    }

    /// <summary>The models <see cref="Create"/> makes, by name.</summary>
    public static IReadOnlyList<string> Models { get; } = [MultiBranch, SingleBranch, BcResNetName, BcResNetWideName];

    /// <summary>A fresh model for <paramref name="name"/>: one of <see cref="Models"/>.</summary>
    public static (nn.Module<Tensor, Tensor> Model, ModelCost Cost, TrainingOptions Training) Create(string name, int classes, bool quick, long seed = 1)
    {
        switch (name)
        {
            case MultiBranch:
            case SingleBranch:
                var config = RepCnn(classes, name == MultiBranch ? BranchSet.MultiBranch : BranchSet.SingleBranch);
                return (new RepCnn(config, seed), KeywordSpotterCost.Of(config, reparameterized: true), Training(quick) with { Seed = seed });
            case BcResNetName:
                var bc = BcResNet(classes);
                return (new BcResNet(bc, seed), KeywordSpotterCost.Of(bc), Training(quick, bcResNet: true) with { Seed = seed });
            case BcResNetWideName:
                var wide = BcResNetWide(classes);
                return (new BcResNet(wide, seed), KeywordSpotterCost.Of(wide), LongerTraining(quick) with { Seed = seed });
            default:
                throw new InvalidSettingsException($"No model '{name}': use {string.Join(", ", Models)}.");
        }
    }

    /// <summary>Name of the RepCNN trained with all three branches.</summary>
    public const string MultiBranch = "multi-branch";

    /// <summary>Name of the same deploy network trained with its k-wide branch only.</summary>
    public const string SingleBranch = "single-branch";

    /// <summary>Name of the BC-ResNet-1 baseline.</summary>
    public const string BcResNetName = "bc-resnet";

    /// <summary>Name of BC-ResNet-2 on the longer budget (<see cref="LongerTraining"/>).</summary>
    public const string BcResNetWideName = "bc-resnet-2";

    /// <summary>Trains <paramref name="model"/> on <paramref name="data"/> and evaluates it on the synthetic test and the real voice.</summary>
    public static KeywordSpotterResult TrainAndEvaluate(string name, nn.Module<Tensor, Tensor> model, ModelCost cost, TrainingOptions training,
        KeywordSpottingData data, CancellationToken cancellation = default) =>
        TrainAndEvaluate(model, cost, KeywordSpotterTraining.NewRun(name, training), data, cancellation);

    /// <summary>
    /// Trains <paramref name="model"/> into <paramref name="run"/> (which a notebook may be following live) and evaluates it;
    /// a run that diverged throws <see cref="TrainingDivergedException"/> instead of reporting accuracies.
    /// </summary>
    public static KeywordSpotterResult TrainAndEvaluate(nn.Module<Tensor, Tensor> model, ModelCost cost, TrainingRun run,
        KeywordSpottingData data, CancellationToken cancellation = default)
    {
        KeywordSpotterTraining.Train(model, data.Train, data.Validation, run, cancellation: cancellation).ThrowIfDiverged();
        return Evaluate(run.Name, model, run, cost, data);
    }

    /// <summary>
    /// Evaluates a trained <paramref name="model"/> on the synthetic test and the real voice, as it decides and with the
    /// unknown threshold fitted on the synthetic validation set (<see cref="UnknownCalibration"/>).
    /// </summary>
    public static KeywordSpotterResult Evaluate(string name, nn.Module<Tensor, Tensor> model, TrainingRun run, ModelCost cost, KeywordSpottingData data)
    {
        var test = KeywordSpotterTraining.Evaluate(model, data.Test, data.Labels);
        var real = KeywordSpotterTraining.Evaluate(model, data.RealVoice, data.Labels);
        var (original, varied) = RealVoiceSplit(real, data.RealItems);
        var (trainedWords, newWords) = UnknownVocabularySplit(original, data.RealItems.Where(i => i.Original).ToList(), data.Dataset.Options);
        var validation = KeywordSpotterTraining.Evaluate(model, data.Validation, data.Labels);
        var calibration = UnknownCalibration.CanFit(validation) ? UnknownCalibration.Fit(validation) : null;
        return new KeywordSpotterResult(name, run, test, real, original, varied, cost)
        {
            Calibration = calibration, RealOriginalCalibrated = calibration?.Apply(original),
            RealUnknownTrainedWords = trainedWords, RealUnknownNewWords = newWords,
        };
    }

    /// <summary>
    /// The unknown-word recordings of <paramref name="evaluation"/> (one per item of <paramref name="items"/>) split by whether
    /// their word is in <paramref name="options"/>' unknown vocabulary: words the model was taught to reject (in other voices),
    /// and words it never heard at all.
    /// </summary>
    public static (KeywordEvaluation TrainedWords, KeywordEvaluation NewWords) UnknownVocabularySplit(KeywordEvaluation evaluation,
        IReadOnlyList<RealVoiceItem> items, KeywordDatasetOptions options)
    {
        if (evaluation.Truth.Length != items.Count) throw new InvalidSettingsException($"{evaluation.Truth.Length} predictions for {items.Count} items.");
        var taught = options.EffectiveUnknownWords.ToHashSet();
        int unknown = evaluation.UnknownClass;
        bool Unknown(int i) => unknown >= 0 && evaluation.Truth[i] == unknown;
        return (evaluation.Where(i => Unknown(i) && taught.Contains(KeywordDatasetOptions.Normalise(items[i].Word))),
            evaluation.Where(i => Unknown(i) && !taught.Contains(KeywordDatasetOptions.Normalise(items[i].Word))));
    }

    /// <summary>A real-voice evaluation split into the recordings as they are and their variations.</summary>
    public static (KeywordEvaluation Original, KeywordEvaluation Variations) RealVoiceSplit(KeywordEvaluation evaluation, IReadOnlyList<RealVoiceItem> items)
    {
        if (evaluation.Truth.Length != items.Count) throw new InvalidSettingsException($"{evaluation.Truth.Length} predictions for {items.Count} items.");
        return (evaluation.Where(i => items[i].Original), evaluation.Where(i => !items[i].Original));
    }

    /// <summary>
    /// Median time per one-second window (batch 1, features already computed) of: the trained multi-branch RepCNN in
    /// TorchSharp, its folded copy in TorchSharp, the folded model in ONNX Runtime (exported to <paramref name="onnxPath"/>),
    /// and <paramref name="baseline"/> (e.g. BC-ResNet) in TorchSharp; plus the log-mel features of one second, for scale.
    /// They run in turn, <paramref name="repeats"/> times.
    /// </summary>
    public static IReadOnlyList<DeployLatency> DeployLatencies(RepCnn multiBranch, RepCnn folded, string onnxPath,
        (string Name, nn.Module<Tensor, Tensor> Model, ModelCost Cost)? baseline, KeywordSpottingData data, int repeats = 200)
    {
        if (!folded.IsReparameterized) throw new InvalidSettingsException("Pass the folded copy (Reparameterization.FoldCopy) as folded.");
        using var window = data.Test.Features[..1].cpu();
        var features = window.data<float>().ToArray();
        int frames = (int)window.shape[2];
        var audio = data.Dataset.Test.Audio(0);
        using var onnx = new Export.OnnxKeywordSpotter(onnxPath, threads: 1);
        using var evalMulti = new EvalMode(multiBranch);
        using var evalBaseline = baseline is { } b ? new EvalMode(b.Model) : default;
        using var noGrad = no_grad();
        var runs = new List<(string Name, Action Run, ModelCost? Cost)>
        {
            ("RepCNN multi-branch (TorchSharp)", () => multiBranch.call(window).Dispose(), KeywordSpotterCost.Of(multiBranch.Config)),
            ("RepCNN folded (TorchSharp)", () => folded.call(window).Dispose(), KeywordSpotterCost.Of(folded.Config, reparameterized: true)),
            ("RepCNN folded (ONNX Runtime)", () => onnx.Run(features, 1, frames), KeywordSpotterCost.Of(folded.Config, reparameterized: true)),
        };
        if (baseline is { } bl) runs.Add(($"{bl.Name} (TorchSharp)", () => bl.Model.call(window).Dispose(), bl.Cost));
        runs.Add(("log-mel features of 1 s (TorchSharp)", () => data.LogMel.Compute(audio).Dispose(), null));
        var ms = Latency.Medians(runs.Select(r => r.Run).ToList(), repeats, warmup: 10);
        return runs.Select((r, i) => new DeployLatency(r.Name, ms[i], r.Cost ?? new ModelCost("log-mel", 0, 0, 0, frames))).ToList();
    }
}
