using EfficientML.Core;
using EfficientML.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Models;

/// <summary>Next-token training and evaluation of a <see cref="TinyGpt"/> on a <see cref="TextCorpus"/>.</summary>
public static class LanguageModelTraining
{
    /// <summary>
    /// Trains on random windows of the training split; evaluates on the first validation windows
    /// (<see cref="TrainingOptions.EvalBatches"/>). The same options and seed give the same batches.
    /// </summary>
    public static TrainingRun Train(
        TinyGpt model, TextCorpus corpus, TrainingOptions options, string name = "TinyGpt",
        Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
        => Train(model, corpus, NewRun(model, corpus, options, name), progress, cancellation);

    /// <summary>An empty record for <see cref="Train(TinyGpt, TextCorpus, TrainingRun, Action{TrainingRun}, CancellationToken)"/>; checks the options against the model.</summary>
    public static TrainingRun NewRun(TinyGpt model, TextCorpus corpus, TrainingOptions options, string name = "TinyGpt")
    {
        options.Validate();
        if (options.BlockSize > model.Config.ContextLength)
            throw new InvalidSettingsException($"BlockSize {options.BlockSize} exceeds the model's context length {model.Config.ContextLength}.");
        if (corpus.Tokenizer.VocabSize > model.Config.VocabSize)
            throw new InvalidSettingsException($"The corpus uses the '{corpus.Tokenizer.Name}' tokenizer ({corpus.Tokenizer.VocabSize} ids) but the model knows only {model.Config.VocabSize}.");
        MemoryBudget.Require(TrainingBytes(model.Config, options.BatchSize, options.BlockSize),
            $"Training with batches of {options.BatchSize:N0}×{options.BlockSize:N0} tokens", "Use a smaller batch or block (--batch, --block).");
        return new TrainingRun(name, options, (long)options.BatchSize * options.BlockSize);
    }

    /// <summary>
    /// A generous estimate of the memory one training step needs: the activations kept for the backward pass (per token and
    /// layer: the projections, the MLP, the norms and the attention weights over the block; then the logits) and, per
    /// weight, the weight, its gradient and AdamW's two moments. Used to refuse what cannot fit before the first step.
    /// </summary>
    public static double TrainingBytes(TinyGptConfig c, int batchSize, int blockSize)
    {
        double tokens = (double)batchSize * blockSize;
        double perTokenLayer = 12.0 * c.Dim + 2.0 * c.MlpDim + 2.0 * c.Heads * blockSize;
        double activations = 4 * tokens * (c.Layers * perTokenLayer + 3.0 * c.VocabSize);
        return activations + 16.0 * c.ParameterCount;
    }

    /// <summary>Trains into a record from <see cref="NewRun"/> (handed out or subscribed to before the first step).</summary>
    public static TrainingRun Train(TinyGpt model, TextCorpus corpus, TrainingRun run, Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        var options = run.Options;
        using var sampler = Seeding.Generator(options.Seed);
        var device = model.Device;
        return Trainer.Run(
            model,
            _ =>
            {
                var (x, y) = corpus.SampleBatch(Split.Train, options.BatchSize, options.BlockSize, sampler, device);
                return model.Loss(x, y);
            },
            run,
            () => MeanLoss(model, corpus, Split.Validation, options.BatchSize, options.BlockSize, options.EvalBatches),
            progress, cancellation);
    }

    /// <summary>Mean next-token loss (nats per token) over non-overlapping windows of a split, without gradients.</summary>
    public static double Evaluate(TinyGpt model, TextCorpus corpus, Split split = Split.Validation, int batchSize = 16, int? blockSize = null, int? maxBatches = null) =>
        Trainer.Evaluate(model, () => MeanLoss(model, corpus, split, batchSize, blockSize ?? model.Config.ContextLength, maxBatches));

    static double MeanLoss(TinyGpt model, TextCorpus corpus, Split split, int batchSize, int blockSize, int? maxBatches)
    {
        double total = 0;
        long count = 0;
        foreach (var (x, y) in corpus.EvaluationBatches(split, batchSize, blockSize, maxBatches, model.Device))
        {
            using var scope = NewDisposeScope();
            var tokens = y.numel();
            total += model.Loss(x, y).item<float>() * tokens;
            count += tokens;
        }
        return count == 0 ? double.NaN : total / count;
    }
}
