using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Routing;

/// <summary>
/// The two fine-tuning runs compared: DynaMoE's (routers learn each token's difficulty label while the language-model
/// loss, with tokens routed by their labels, adapts the nested experts) and the static-width baseline (Flextron-style
/// elastic MLP: each step every token runs through one randomly drawn expert size).
/// </summary>
public static class RoutingFineTuning
{
    /// <summary>A record for <see cref="FineTune"/> (so a caller can show it before the first step).</summary>
    public static TrainingRun NewRun(RoutedGpt routed, TextCorpus corpus, TrainingOptions training, string name = "DynaMoE routers") =>
        LanguageModelTraining.NewRun(routed.model, corpus, training, name);

    /// <summary>
    /// One fine-tuning run: each step labels the batch's tokens with the current weights, runs the model with tokens routed
    /// by their labels, and minimises the language-model loss plus <see cref="RoutingOptions.RouterLossWeight"/> × the
    /// routers' cross-entropy on the labels. Validation losses in the record are the routed model's at
    /// <see cref="RoutingOptions.EvalTheta"/>.
    /// </summary>
    public static TrainingRun FineTune(
        RoutedGpt routed, TextCorpus corpus, RoutingOptions options, TrainingOptions training,
        TrainingRun? run = null, Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        options.Validate();
        run ??= NewRun(routed, corpus, training);
        var o = run.Options;
        int k = routed.Sizes.Count;
        using var sampler = Seeding.Generator(o.Seed);
        var frozen = options.TrainExperts ? [] : routed.model.parameters().Where(p => p.requires_grad).ToList();
        foreach (var p in frozen) p.requires_grad = false;
        try
        {
            return Trainer.Run(
                routed,
                _ =>
                {
                    var (x, y) = corpus.SampleBatch(Split.Train, o.BatchSize, o.BlockSize, sampler, routed.Device);
                    var labels = DifficultyLabels.PerLayer(DifficultyLabels.Compute(routed, x, y, options.Tolerance), routed.Config.Layers);
                    var output = routed.Run(x, new ExpertChoice.Given(labels), withRouterLogits: true);
                    var routerLoss = F.cross_entropy(output.RouterLogits!.reshape(-1, k), labels.reshape(-1));
                    if (!options.TrainExperts) return routerLoss * options.RouterLossWeight;
                    using var dense = routed.Run(x, new ExpertChoice.Static(routed.Sizes.Full));
                    return LmLoss(output.Logits, y) + LmLoss(dense.Logits, y) + routerLoss * options.RouterLossWeight;
                },
                run,
                () => RoutingEvaluation.Evaluate(routed, corpus, ExpertChoice.AtTheta(options.EvalTheta), o.EvalBatches).ValidationLoss,
                progress, cancellation);
        }
        finally
        {
            foreach (var p in frozen) p.requires_grad = true;
        }
    }

    /// <summary>A record for <see cref="ElasticFineTune"/>.</summary>
    public static TrainingRun NewElasticRun(RoutedGpt routed, TextCorpus corpus, TrainingOptions training, string name = "static widths (elastic)") =>
        LanguageModelTraining.NewRun(routed.model, corpus, training, name);

    /// <summary>
    /// The static-width baseline with the same budget of steps and tokens: each step draws one expert size (seeded,
    /// uniformly) and trains the language-model loss with every token of every layer through it. Routers are not used.
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
        var routerParameters = routed.routers.parameters().Where(p => p.requires_grad).ToList();
        foreach (var p in routerParameters) p.requires_grad = false;
        try
        {
            return Trainer.Run(
                routed,
                _ =>
                {
                    var (x, y) = corpus.SampleBatch(Split.Train, o.BatchSize, o.BlockSize, sampler, routed.Device);
                    using var dense = routed.Run(x, new ExpertChoice.Static(routed.Sizes.Full));
                    using var narrow = routed.Run(x, new ExpertChoice.Static(widths.Next(routed.Sizes.Full)));
                    return LmLoss(dense.Logits, y) + LmLoss(narrow.Logits, y);
                },
                run,
                () => Enumerable.Range(0, routed.Sizes.Count)
                    .Average(j => RoutingEvaluation.Evaluate(routed, corpus, new ExpertChoice.Static(j), o.EvalBatches).ValidationLoss),
                progress, cancellation);
        }
        finally
        {
            foreach (var p in routerParameters) p.requires_grad = true;
        }
    }

    static Tensor LmLoss(Tensor logits, Tensor targets) => F.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1));

    /// <summary>Fine-tuning tokens as a share of the tokens the pretrained tiny model was trained on.</summary>
    public static double ShareOfPretraining(TrainingOptions fineTuning)
    {
        var p = PretrainedModels.TinyMobyTraining;
        return (double)fineTuning.Steps * fineTuning.BatchSize * fineTuning.BlockSize / ((double)p.Steps * p.BatchSize * p.BlockSize);
    }
}
