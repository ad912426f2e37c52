using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.GatedConformer;

/// <summary>
/// How a gated spotter trains: the project's training loop options, crop length, and the loss weights. The loss is
/// cross-entropy over steps + <see cref="BoundsWeight"/> × smooth-L1 on keyword bounds + <see cref="CostWeight"/> ×
/// (max(0, run share − <see cref="CostTarget"/>) + <see cref="CostPull"/> × pulled share), where run share is the gates'
/// mean probability of running their module (weighted by <see cref="ModuleCosts"/> when given): a hinge that holds the
/// compute under the target, and a steady pull that closes gates on inputs that do not need them (noise) below it. The
/// pulled share counts gate blocks where a word sounds at <see cref="SpeechPullScale"/> of a block of noise (by default −2:
/// there the pull becomes a push, twice as strong, that opens the gates); <see cref="GateLogitDecay"/> × the mean squared
/// gate logit keeps every gate within the cost's reach. The
/// gates start open and the cost weight grows from 0 over the first <see cref="CostWarmupShare"/> of the steps, so the
/// model learns the task before it learns to skip.
/// </summary>
public sealed record GatedTrainingOptions
{
    public TrainingOptions Training { get; init; } = new() { Steps = 2000, BatchSize = 16, LearningRate = 3e-3, WarmupSteps = 30, EvalEvery = 100, WeightDecay = 0.01, Seed = 1 };

    /// <summary>Steps per training crop (a multiple of the model's gate block).</summary>
    public int CropSteps { get; init; } = 64;

    public double CostWeight { get; init; } = 1.0;

    /// <summary>
    /// Share of modules allowed to run on average, 0 … 1. The training recordings hold speech about a quarter of the
    /// time, so a target above that leaves room to run everything on speech and nothing on noise.
    /// </summary>
    public double CostTarget { get; init; } = 0.35;

    /// <summary>Weight of the linear pull on the run share, below the target too.</summary>
    public double CostPull { get; init; } = 1.5;

    /// <summary>Share of the training steps over which the cost weight grows from 0 to <see cref="CostWeight"/>.</summary>
    public double CostWarmupShare { get; init; } = 0.3;

    public double BoundsWeight { get; init; } = 0.5;

    /// <summary>
    /// Relative cost of running each module kind (half feed-forward, attention, convolution, half feed-forward), e.g. their
    /// measured times (<see cref="ConformerTiming.ModuleCosts"/>); the run share in the cost is weighted by them. Null: every
    /// module costs the same.
    /// </summary>
    public IReadOnlyList<double>? ModuleCosts { get; init; }

    /// <summary>
    /// Probability that a gate's decision is forced to skip in training (structured dropout of whole modules), so no module
    /// becomes one the model cannot do without, whose gate stays open on everything, noise included; on this task it costs
    /// accuracy, and <see cref="GateLogitDecay"/> keeps such gates closable without it.
    /// </summary>
    public double GateDropout { get; init; }

    /// <summary>
    /// Share of the gated model's steps trained with every gate open (the model as the ungated one, no cost), before the gates
    /// start deciding: the modules first learn the task, then the gates learn which of them a stretch of audio can do
    /// without, within the same number of steps as the ungated model. The cost warm-up counts from the end of this phase.
    /// </summary>
    public double OpenGateShare { get; init; }

    /// <summary>
    /// Scale of the pull (<see cref="CostPull"/>) on gate blocks where a word sounds, against 1 on blocks of noise or
    /// silence, −10 … 10. The training recordings say where their words are, so the cost can ask the gates to close on what
    /// holds no word and leave the words their modules; the gates still see only the audio, in training and in use. 1: every
    /// block pays alike; 0: running a module on a word costs nothing; below 0: running it there is rewarded (a push).
    /// </summary>
    public double SpeechPullScale { get; init; } = -2;

    /// <summary>
    /// Weight of learning from a teacher when one is given to <see cref="GatedTraining.Train"/> (as <see cref="GatedExperiment"/>
    /// gives the gated model the ungated one it trained on the same data), 0 … 1: the classification loss becomes
    /// (1 − weight) × cross-entropy on the labels + weight × T² × KL from the teacher's per-step class probabilities at
    /// temperature <see cref="DistillTemperature"/> to the model's. Without a teacher, or at 0, the labels alone are learnt.
    /// </summary>
    public double DistillWeight { get; init; }

    /// <summary>Temperature that softens the teacher's and the model's class probabilities for <see cref="DistillWeight"/>.</summary>
    public double DistillTemperature { get; init; } = 2;

    /// <summary>
    /// Weight of a penalty on the gates' squared logits (mean over gates and gate blocks), 0 … 10. Without it a gate can
    /// grow so sure of running its module (logit +15) that the sigmoid passes the cost no gradient, and that module then
    /// runs on everything, noise included; the penalty keeps every gate within reach of the cost.
    /// </summary>
    public double GateLogitDecay { get; init; } = 0.01;

    /// <summary>A short run for tests and quick notebooks.</summary>
    public GatedTrainingOptions Quick() => this with { Training = Training with { Steps = 20, BatchSize = 8, EvalEvery = 10, WarmupSteps = 2 } };

    public GatedTrainingOptions Validate(GatedConformerConfig config)
    {
        Training.Validate();
        if (!(CostTarget >= 0 && CostTarget <= 1))
            throw new InvalidSettingsException($"The cost target is the share of modules allowed to run, from 0 to 1 (got {CostTarget}).");
        if (!(CostWarmupShare >= 0 && CostWarmupShare <= 1))
            throw new InvalidSettingsException($"The cost warm-up is a share of the steps, from 0 to 1 (got {CostWarmupShare}).");
        if (!(CostPull >= 0 && CostPull <= 10)) throw new InvalidSettingsException($"The cost pull must be 0 to 10 (got {CostPull}).");
        if (!(CostWeight >= 0 && double.IsFinite(CostWeight))) throw new InvalidSettingsException($"The cost weight must be 0 or more (got {CostWeight}).");
        if (ModuleCosts is { } costs && (costs.Count != 4 || costs.Any(c => !(c > 0 && double.IsFinite(c)))))
            throw new InvalidSettingsException("Give ModuleCosts as four positive numbers, one per module kind (half feed-forward, attention, convolution, half feed-forward).");
        if (!(OpenGateShare >= 0 && OpenGateShare < 1)) throw new InvalidSettingsException($"The open-gate phase is a share of the steps from 0 to below 1 (got {OpenGateShare}).");
        if (!(SpeechPullScale >= -10 && SpeechPullScale <= 10)) throw new InvalidSettingsException($"The pull on speech is a scale from -10 to 10 (got {SpeechPullScale}).");
        if (!(DistillWeight >= 0 && DistillWeight <= 1)) throw new InvalidSettingsException($"The distillation weight is a share from 0 to 1 (got {DistillWeight}).");
        if (!(DistillTemperature >= 0.1 && DistillTemperature <= 100)) throw new InvalidSettingsException($"The distillation temperature must be 0.1 to 100 (got {DistillTemperature}).");
        if (!(GateLogitDecay >= 0 && GateLogitDecay <= 10)) throw new InvalidSettingsException($"The gate logit decay must be 0 to 10 (got {GateLogitDecay}).");
        if (!(GateDropout >= 0 && GateDropout <= 0.9)) throw new InvalidSettingsException($"Gate dropout is a probability from 0 to 0.9 (got {GateDropout}).");
        if (!(BoundsWeight >= 0 && double.IsFinite(BoundsWeight))) throw new InvalidSettingsException($"The bounds weight must be 0 or more (got {BoundsWeight}).");
        if (CropSteps < config.GateSteps || CropSteps % config.GateSteps != 0 || CropSteps > 100_000)
            throw new InvalidSettingsException($"A crop is a whole number of gate blocks of {config.GateSteps} steps (got {CropSteps}).");
        return this;
    }
}

/// <summary>The losses of one batch.</summary>
public sealed record GatedLoss(Tensor Total, Tensor Classification, Tensor Bounds, Tensor? RunShare);

/// <summary>Trains gated and ungated conformer spotters on <see cref="GatedStreamData"/>.</summary>
public static class GatedTraining
{
    /// <summary>A training record made beforehand, so a notebook can follow it live before training fills it.</summary>
    public static TrainingRun NewRun(string name, GatedTrainingOptions options) => new(name, options.Training, options.Training.BatchSize, item: "crop");

    /// <summary>
    /// Trains <paramref name="model"/> (its feature normalisation is set from the training recordings first) with the
    /// project's <see cref="Trainer"/>; the validation loss is the classification loss on fixed crops of the validation
    /// recordings.
    /// </summary>
    public static TrainingRun Train(ConformerSpotter model, GatedStreamData data, GatedTrainingOptions options, TrainingRun? run = null,
        Action<TrainingRun>? progress = null, CancellationToken cancellation = default, ConformerSpotter? teacher = null)
    {
        options.Validate(model.Config);
        var config = model.Config;
        if (teacher is not null && teacher.Config.Classes != config.Classes)
            throw new InvalidSettingsException($"The teacher has {teacher.Config.Classes} classes but the model {config.Classes}: distil from a model trained on the same keywords.");
        if (ReferenceEquals(teacher, model)) throw new InvalidSettingsException("A model cannot be its own teacher: pass a separately trained model.");
        if (options.DistillWeight == 0) teacher = null;
        if (data.Labels.Count != config.Classes)
            throw new InvalidSettingsException($"The model has {config.Classes} classes but the data {data.Labels.Count}: make the keyword lists agree.");
        if (data.Train.Any(s => s.Steps < options.CropSteps))
            throw new InvalidSettingsException($"A training recording is shorter than one crop of {options.CropSteps} steps: make the recordings longer or the crops shorter.");
        using (var all = cat(data.Train.Select(s => s.Features).ToArray(), 1)) model.SetFeatureStatistics(all.unsqueeze(0));
        run ??= NewRun(config.Gated ? "gated conformer" : "conformer", options);
        var rng = new Random((int)options.Training.Seed);
        var generator = new Generator((ulong)options.Training.Seed);
        var validation = ValidationCrops(data, options, config);
        var gating = model.Gating;
        bool teacherWasTraining = teacher?.training ?? false;
        teacher?.eval();                                                             // the teacher answers as it would in use
        try
        {
            int open = config.Gated ? (int)Math.Round(options.OpenGateShare * options.Training.Steps) : 0;
            int warmup = (int)Math.Round(options.CostWarmupShare * options.Training.Steps);
            return Trainer.Run(model, step =>
            {
                model.Gating = step < open ? GateMode.Keep : gating;
                var batch = data.Batch(rng, options.Training.BatchSize, options.CropSteps, config);
                double costScale = warmup == 0 ? 1 : Math.Clamp((double)(step - open) / warmup, 0, 1);
                var teacherLogits = teacher is null ? null : TeacherLogits(teacher, batch.Features);
                return Loss(model, batch.Features, batch.Labels, batch.Bounds, batch.HasBounds, options, generator, costScale, batch.Speech, teacherLogits).Total;
            }, run, () => ValidationLoss(model, validation), progress, cancellation);
        }
        finally
        {
            model.Gating = gating;
            if (teacherWasTraining) teacher!.train();
            foreach (var crop in validation) crop.Dispose();
        }
    }

    /// <summary>
    /// The loss of one batch (see <see cref="GatedTrainingOptions"/>), the cost term scaled by <paramref name="costScale"/>;
    /// <paramref name="speech"/> (B, T), where words sound, weighs the pull by <see cref="GatedTrainingOptions.SpeechPullScale"/>;
    /// <paramref name="teacherLogits"/> (B, T, classes), a teacher's outputs on the same features, are learnt from with
    /// <see cref="GatedTrainingOptions.DistillWeight"/>. <see cref="GatedLoss.Classification"/> is the cross-entropy on the labels.
    /// </summary>
    public static GatedLoss Loss(ConformerSpotter model, Tensor features, Tensor labels, Tensor bounds, Tensor hasBounds,
        GatedTrainingOptions options, Generator? generator = null, double costScale = 1, Tensor? speech = null, Tensor? teacherLogits = null)
    {
        var output = model.Forward(features, generator, options.GateDropout);
        var classes = model.Config.Classes;
        var classification = F.cross_entropy(output.Logits.reshape(-1, classes), labels.reshape(-1), ignore_index: -100);
        var learnt = teacherLogits is null || options.DistillWeight == 0
            ? classification
            : classification.mul(1 - options.DistillWeight) + Distillation(output.Logits, teacherLogits, options.DistillTemperature).mul(options.DistillWeight);
        var mask = hasBounds.unsqueeze(-1).to_type(ScalarType.Float32);
        var boundsLoss = F.smooth_l1_loss(output.Bounds.mul(mask), bounds.mul(mask), reduction: nn.Reduction.Sum)
            .div(mask.sum().clamp_min(1));
        var total = learnt + boundsLoss.mul(options.BoundsWeight);
        Tensor? share = null;
        if (output.RunProbability is { } p)
        {
            share = Share(p, options.ModuleCosts);
            var pulled = speech is null ? share : Share(p.mul(BlockWeights(speech, p, options.SpeechPullScale)), options.ModuleCosts);
            total = total + (F.relu(share - options.CostTarget) + pulled.mul(options.CostPull)).mul(options.CostWeight * costScale);
            if (options.GateLogitDecay > 0 && output.RunLogit is { } logit) total = total + logit.square().mean().mul(options.GateLogitDecay);
        }
        return new GatedLoss(total, classification, boundsLoss, share);
    }

    /// <summary>T² × KL(teacher ‖ model) of the per-step class probabilities at temperature T, averaged over the steps.</summary>
    public static Tensor Distillation(Tensor logits, Tensor teacherLogits, double temperature)
    {
        var classes = logits.shape[^1];
        var student = F.log_softmax(logits.reshape(-1, classes).div(temperature), 1);
        var teacher = F.log_softmax(teacherLogits.reshape(-1, classes).div(temperature), 1);
        return F.kl_div(student, teacher, reduction: nn.Reduction.Sum, log_target: true).div(student.shape[0]).mul(temperature * temperature);
    }

    /// <summary>The teacher's logits on <paramref name="features"/> (the teacher in eval mode), no gradient.</summary>
    static Tensor TeacherLogits(ConformerSpotter teacher, Tensor features)
    {
        using var _ = no_grad();
        return teacher.Forward(features).Logits;
    }

    static Tensor Share(Tensor p, IReadOnlyList<double>? costs) => costs is null ? p.mean() : WeightedShare(p, costs);

    /// <summary>Per gate block, (B, 1, J): <paramref name="scale"/> where a word sounds in any of its steps, else 1.</summary>
    static Tensor BlockWeights(Tensor speech, Tensor p, double scale)
    {
        long b = p.shape[0], j = p.shape[2];
        var any = speech.to_type(ScalarType.Float32).view(b, j, -1).amax(2);        // (B, J) 0/1
        return any.mul(scale - 1).add(1).unsqueeze(1);
    }

    /// <summary>Run probabilities (B, modules, J), module m of kind m mod 4, weighted by kind costs normalised to mean 1.</summary>
    static Tensor WeightedShare(Tensor p, IReadOnlyList<double> costs)
    {
        double mean = costs.Average();
        var perModule = Enumerable.Range(0, (int)p.shape[1]).Select(m => (float)(costs[m % 4] / mean)).ToArray();
        using var weights = tensor(perModule, device: p.device).view(1, -1, 1);
        return p.mul(weights).mean();
    }

    static List<GatedBatch> ValidationCrops(GatedStreamData data, GatedTrainingOptions options, GatedConformerConfig config)
    {
        var crops = new List<GatedBatch>();
        if (data.Validation.Count == 0) return crops;
        var rng = new Random(12345);
        for (int i = 0; i < 4; i++) crops.Add(GatedStreamData.Crops(data.Validation, rng, 16, options.CropSteps, config));
        return crops;
    }

    static double ValidationLoss(ConformerSpotter model, List<GatedBatch> crops)
    {
        if (crops.Count == 0) return double.NaN;
        double sum = 0;
        foreach (var crop in crops)
        {
            var logits = model.Forward(crop.Features).Logits;
            sum += F.cross_entropy(logits.reshape(-1, model.Config.Classes), crop.Labels.reshape(-1), ignore_index: -100).item<float>();
        }
        return sum / crops.Count;
    }
}
