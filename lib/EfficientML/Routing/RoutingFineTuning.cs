using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Routing;

/// <summary>
/// The two fine-tuning runs compared: DynaMoE's (routers learn each token's difficulty label while the language-model
/// loss adapts the nested experts, by default to the mix of widths the routers produce) and the static-width baseline
/// (Flextron-style elastic MLP: each step the full model and one randomly drawn smaller width, every token through it).
/// </summary>
public static class RoutingFineTuning
{
    /// <summary>A record for <see cref="FineTune"/> (so a caller can show it before the first step).</summary>
    public static TrainingRun NewRun(RoutedGpt routed, TextCorpus corpus, TrainingOptions training, string name = "DynaMoE routers") =>
        LanguageModelTraining.NewRun(routed.model, corpus, training, name);

    /// <summary>
    /// One fine-tuning run. Each step labels the batch's tokens with the current weights and minimises
    /// <see cref="RoutingOptions.RouterLossWeight"/> × the routers' cross-entropy on the labels, plus the language-model
    /// losses that <see cref="RoutingOptions.ExpertTraining"/> chooses (by default: the full model, and the model routed
    /// by its own routers at a random θ). The routers learn <see cref="RoutingOptions.RouterLearningRateScale"/> times
    /// faster than the experts. Validation losses in the record are the routed model's at <see cref="RoutingOptions.EvalTheta"/>.
    /// </summary>
    public static TrainingRun FineTune(
        RoutedGpt routed, TextCorpus corpus, RoutingOptions options, TrainingOptions training,
        TrainingRun? run = null, Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        options.Validate();
        run ??= NewRun(routed, corpus, training);
        var o = run.Options;
        int k = routed.Sizes.Count, layers = routed.Config.Layers;
        using var sampler = Seeding.Generator(o.Seed);
        var widths = new Random(unchecked((int)o.Seed));
        var thetas = new Random(unchecked((int)o.Seed) + 1);
        using var frozen = new FrozenParameters(options.ExpertTraining == ExpertTraining.None ? routed.model.parameters() : []);
        return Trainer.Run(
            routed,
            _ =>
            {
                var (x, y) = corpus.SampleBatch(Split.Train, o.BatchSize, o.BlockSize, sampler, routed.Device);
                var labels = DifficultyLabels.PerLayer(DifficultyLabels.Compute(routed, x, y, options.Tolerance), layers);
                Tensor RouterLoss(RoutedForward f) => F.cross_entropy(f.RouterLogits!.reshape(-1, k), labels.reshape(-1)) * options.RouterLossWeight;
                switch (options.ExpertTraining)
                {
                    case ExpertTraining.None:
                        return RouterLoss(routed.Run(x, new ExpertChoice.Given(labels), withRouterLogits: true));
                    case ExpertTraining.Routed: // the routers read the MLP inputs of the routed model, as at inference
                        var mixed = routed.Run(x, new ExpertChoice.Routed(thetas.NextDouble()));
                        return RouterLoss(mixed) + LmLoss(mixed.Logits, y) + LmLoss(routed.Run(x, new ExpertChoice.Static(routed.Sizes.Full)).Logits, y);
                    default: // the routers read the full model's MLP inputs, which the elastic loss computes anyway
                        var full = routed.Run(x, new ExpertChoice.Static(routed.Sizes.Full), withRouterLogits: true);
                        return RouterLoss(full) + ElasticLoss(routed, full, x, y, widths);
                }
            },
            run,
            () => RoutingEvaluation.Evaluate(routed, corpus, ExpertChoice.AtTheta(options.EvalTheta), o.EvalBatches).ValidationLoss,
            progress, cancellation,
            name => name.StartsWith("routers.", StringComparison.Ordinal) ? options.RouterLearningRateScale : 1.0);
    }

    /// <summary>A record for <see cref="ElasticFineTune"/>.</summary>
    public static TrainingRun NewElasticRun(RoutedGpt routed, TextCorpus corpus, TrainingOptions training, string name = "static widths (elastic)") =>
        LanguageModelTraining.NewRun(routed.model, corpus, training, name);

    /// <summary>
    /// The static-width baseline with the same budget of steps and tokens (Flextron-style elastic MLP): each step trains
    /// the language-model loss of the full model plus that of one smaller width drawn at random (seeded), every token
    /// of every layer through it. Routers are not used.
    /// Validation losses in the record are the mean over all widths.
    /// </summary>
    public static TrainingRun ElasticFineTune(
        RoutedGpt routed, TextCorpus corpus, TrainingOptions training,
        TrainingRun? run = null, Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        run ??= NewElasticRun(routed, corpus, training);
        var o = run.Options;
        using var sampler = Seeding.Generator(o.Seed);
        var widths = new Random(unchecked((int)o.Seed));
        using var frozen = new FrozenParameters(routed.routers.parameters());
        return Trainer.Run(
            routed,
            _ =>
            {
                var (x, y) = corpus.SampleBatch(Split.Train, o.BatchSize, o.BlockSize, sampler, routed.Device);
                return ElasticLoss(routed, routed.Run(x, new ExpertChoice.Static(routed.Sizes.Full)), x, y, widths);
            },
            run,
            () => Enumerable.Range(0, routed.Sizes.Count)
                .Average(j => RoutingEvaluation.Evaluate(routed, corpus, new ExpertChoice.Static(j), o.EvalBatches).ValidationLoss),
            progress, cancellation);
    }

    /// <summary>Language-model loss of the full model's output <paramref name="full"/> plus that of one smaller width drawn from <paramref name="widths"/>.</summary>
    static Tensor ElasticLoss(RoutedGpt routed, RoutedForward full, Tensor x, Tensor y, Random widths) =>
        LmLoss(full.Logits, y) + LmLoss(routed.Run(x, new ExpertChoice.Static(widths.Next(routed.Sizes.Full))).Logits, y);

    static Tensor LmLoss(Tensor logits, Tensor targets) => F.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1));

    /// <summary>Fine-tuning tokens as a share of the tokens the pretrained tiny model was trained on.</summary>
    public static double ShareOfPretraining(TrainingOptions fineTuning)
    {
        var p = PretrainedModels.TinyMobyTraining;
        return (double)fineTuning.Steps * fineTuning.BatchSize * fineTuning.BlockSize / ((double)p.Steps * p.BatchSize * p.BlockSize);
    }
}
