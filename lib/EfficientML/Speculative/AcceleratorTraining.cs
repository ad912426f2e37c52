using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Speculative;

/// <summary>What the accelerators are trained for.</summary>
public sealed record AcceleratorOptions
{
    /// <summary>Exit layers whose fast state is aligned with the final one (null: every layer 1 … MaxExit).</summary>
    public int[]? Exits { get; init; }

    /// <summary>Weight of KL(final-layer prediction ‖ fast-state prediction), in nats.</summary>
    public double KlWeight { get; init; } = 1.0;

    /// <summary>Weight of the distance term: mean squared difference of the normalised fast and final states.</summary>
    public double DistanceWeight { get; init; } = 0.1;

    /// <summary>Throws one clear message for a setting that cannot work.</summary>
    public AcceleratorOptions Validate(AcceleratorAdapters adapters)
    {
        foreach (var e in Exits ?? Array.Empty<int>())
            if (e < 1 || e > adapters.MaxExit)
                throw new InvalidSettingsException($"Exit layer {e} is outside 1..{adapters.MaxExit}, the exits these accelerators serve.");
        if (Exits is { Length: 0 }) throw new InvalidSettingsException("Name at least one exit layer to train for (or leave Exits null for all).");
        if (KlWeight < 0 || DistanceWeight < 0 || KlWeight + DistanceWeight == 0)
            throw new InvalidSettingsException("The KL and distance weights must be non-negative and not both 0.");
        return this;
    }
}

/// <summary>
/// Trains M2R2 accelerators on a frozen model: its slow states come from a no-gradient pass, and only the adapters
/// learn to bring the fast state at each chosen exit to where the final layer ends (distance) and to predict what the
/// final layer predicts (KL to its logits).
/// </summary>
public static class AcceleratorTraining
{
    /// <summary>
    /// Trains <paramref name="adapters"/> for <paramref name="model"/> (left unchanged) on <paramref name="corpus"/>'s
    /// training split; the validation value is the same alignment loss on the validation split.
    /// </summary>
    public static TrainingRun Train(TinyGpt model, AcceleratorAdapters adapters, TextCorpus corpus, TrainingOptions training,
        AcceleratorOptions? options = null, Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        var o = (options ?? new AcceleratorOptions()).Validate(adapters);
        adapters.CheckFor(model.Config, adapters.MaxExit);
        training = training.Validate();
        if (training.BlockSize > model.Config.ContextLength)
            throw new InvalidSettingsException($"Blocks of {training.BlockSize} tokens exceed the model's context {model.Config.ContextLength}.");
        var exits = o.Exits ?? Enumerable.Range(1, adapters.MaxExit).ToArray();
        using var generator = Seeding.Generator(training.Seed);
        using var evalMode = new EvalMode(model);
        using var frozen = new FrozenParameters(model.parameters());
        var run = new TrainingRun("M2R2 accelerators", training, (long)training.BatchSize * training.BlockSize);
        return Trainer.Run(adapters, step =>
        {
            var (x, _) = corpus.SampleBatch(Split.Train, training.BatchSize, training.BlockSize, generator, model.Device);
            return Loss(model, adapters, x, exits, o);
        }, run, () => Validate(model, adapters, corpus, training, exits, o), progress, cancellation);
    }

    /// <summary>The alignment loss of <paramref name="adapters"/> on token ids (B, T), summed over <paramref name="exits"/>.</summary>
    public static Tensor Loss(TinyGpt model, AcceleratorAdapters adapters, Tensor idx, IReadOnlyList<int> exits, AcceleratorOptions options)
    {
        Tensor slow, finalLogProbs, finalNorm;
        using (no_grad())
        {
            slow = model.HiddenStates(idx);                                            // (L+1, B, T, C)
            finalLogProbs = model.Logits(slow[-1]).log_softmax(-1);
            finalNorm = F.layer_norm(slow[-1], new long[] { model.Config.Dim });
        }
        var taps = Enumerable.Range(0, adapters.MaxExit + 1).Select(i => slow[i]).ToArray();
        Tensor? total = null;
        foreach (var exit in exits)
        {
            var fast = adapters.Fast(taps, exit);
            Tensor loss = zeros(1, device: idx.device).squeeze();
            if (options.KlWeight > 0)
            {
                var logProbs = model.Logits(fast).log_softmax(-1);
                var kl = (finalLogProbs.exp() * (finalLogProbs - logProbs)).sum(-1).mean();
                loss = loss + options.KlWeight * kl;
            }
            if (options.DistanceWeight > 0)
                loss = loss + options.DistanceWeight * F.mse_loss(F.layer_norm(fast, new long[] { model.Config.Dim }), finalNorm);
            total = total is null ? loss : total + loss;
        }
        return total! / exits.Count;
    }

    static double Validate(TinyGpt model, AcceleratorAdapters adapters, TextCorpus corpus, TrainingOptions training, IReadOnlyList<int> exits, AcceleratorOptions o) =>
        BatchStatistics.MeanLoss(corpus.EvaluationBatches(Split.Validation, training.BatchSize, training.BlockSize, training.EvalBatches, model.Device),
            (x, _) => Loss(model, adapters, x, exits, o));
}
