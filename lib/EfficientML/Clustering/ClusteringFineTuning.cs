using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using static TorchSharp.torch;

namespace EfficientML.Clustering;

/// <summary>One way of compressing a model and what it gave: validation loss and size.</summary>
/// <param name="Method">"float32", "k-means (no fine-tuning)" or "DKM fine-tuned".</param>
/// <param name="Bits">Bits per clustered weight's index (0 for the uncompressed model).</param>
/// <param name="ValidationLoss">Next-token loss on the validation windows (nats per token), with hard-clustered weights.</param>
/// <param name="ModelBytes">Size with palettised weights stored as packed indices + float32 tables, the rest float32.</param>
/// <param name="Float32Bytes">Size of the same model in float32.</param>
/// <param name="ClusteredBitsPerWeight">Storage per clustered weight, tables included.</param>
/// <param name="Run">The fine-tuning record (null without fine-tuning).</param>
public sealed record CompressionResult(string Method, int Bits, double ValidationLoss, long ModelBytes, long Float32Bytes, double ClusteredBitsPerWeight, TrainingRun? Run)
{
    /// <summary>The loss in bits per token (per byte for the byte-level model).</summary>
    public double ValidationBits => ValidationLoss / Math.Log(2);

    /// <summary>How many times smaller than float32.</summary>
    public double CompressionRatio => Float32Bytes / (double)ModelBytes;
}

/// <summary>
/// Weight clustering of a <see cref="TinyGpt"/>: post-training k-means (cluster once, no training) against DKM
/// clustering-aware fine-tuning (the weights keep training while their clusters form), evaluated with every clustered
/// weight replaced by its nearest centroid, as it would be deployed.
/// </summary>
public static class ClusteringFineTuning
{
    /// <summary>The uncompressed model's validation loss and size, for comparison.</summary>
    public static CompressionResult Float32(TinyGpt model, TextCorpus corpus, int? evalBatches = 8)
    {
        long bytes = model.ParameterCount * 4;
        return new CompressionResult("float32", 0, Evaluate(model, corpus, evalBatches), bytes, bytes, 32, null);
    }

    /// <summary>Clusters every linear layer once by k-means on its 16-bit weights and evaluates; the model's weights are left unchanged.</summary>
    public static CompressionResult PostTraining(TinyGpt model, TextCorpus corpus, DkmOptions options, int? evalBatches = 8)
    {
        using var layers = new ClusteredLayers(model, options);
        return Measure("k-means (no fine-tuning)", model, corpus, layers, evalBatches, null);
    }

    /// <summary>
    /// Clusters the weights of <paramref name="layers"/> (made on <paramref name="model"/>, e.g. with a layer list or an
    /// eDKM store) once by k-means on their 16-bit values and evaluates; the model's weights are left unchanged, and the
    /// caller keeps the layers (their centroids, <see cref="ClusteredLayers.Palettize"/>, <see cref="ClusteredLayers.ApplyHardWeights"/>).
    /// </summary>
    public static CompressionResult PostTraining(TinyGpt model, TextCorpus corpus, ClusteredLayers layers, int? evalBatches = 8)
    {
        CheckLayers(model, layers);
        return Measure("k-means (no fine-tuning)", model, corpus, layers, evalBatches, null);
    }

    /// <summary>
    /// A record for <c>FineTune</c>, so a caller can show it before the first step. Validation losses in it are those of
    /// the hard-clustered model.
    /// </summary>
    public static TrainingRun NewRun(TinyGpt model, TextCorpus corpus, DkmOptions options, TrainingOptions training) =>
        LanguageModelTraining.NewRun(model, corpus, training, $"DKM {options.Validate().Bits}-bit fine-tuning");

    /// <summary>
    /// Fine-tunes <paramref name="model"/> with every linear layer soft-clustered by DKM (its master weights change),
    /// then evaluates the hard-clustered model. <paramref name="store"/> chooses how the saved-for-backward tensors are
    /// kept (plain DKM by default; eDKM gives the same gradients with less memory). <paramref name="onStep"/> sees the
    /// clustered layers after every step (for live views of the centroids).
    /// </summary>
    public static CompressionResult FineTune(
        TinyGpt model, TextCorpus corpus, DkmOptions options, TrainingOptions training,
        SavedTensorStore? store = null, TrainingRun? run = null, Action<TrainingRun, ClusteredLayers>? onStep = null,
        CancellationToken cancellation = default)
    {
        using var layers = new ClusteredLayers(model, options, store);
        return FineTune(model, corpus, layers, training, run, onStep, cancellation);
    }

    /// <summary>
    /// Fine-tunes <paramref name="model"/> with the weights of <paramref name="layers"/> (made on this model: a chosen
    /// set of layers, an eDKM store) soft-clustered by DKM, then evaluates the hard-clustered model. The caller keeps the
    /// layers: their centroids, their store's memory report, <see cref="ClusteredLayers.ApplyHardWeights"/> to make the
    /// model the palettised one. <paramref name="onStep"/> runs on the training thread after every step and evaluation.
    /// </summary>
    public static CompressionResult FineTune(
        TinyGpt model, TextCorpus corpus, ClusteredLayers layers, TrainingOptions training,
        TrainingRun? run = null, Action<TrainingRun, ClusteredLayers>? onStep = null, CancellationToken cancellation = default)
    {
        CheckLayers(model, layers);
        run ??= NewRun(model, corpus, layers.Options, training);
        using var sampler = Seeding.Generator(run.Options.Seed);
        var o = run.Options;
        Trainer.RunWithOwnBackward(
            model,
            _ =>
            {
                var (x, y) = corpus.SampleBatch(Split.Train, o.BatchSize, o.BlockSize, sampler, model.Device);
                return layers.Step(() => model.Loss(x, y));
            },
            run,
            () => { using (layers.UseHardWeights()) return Evaluate(model, corpus, o.EvalBatches); },
            onStep is null ? null : r => onStep(r, layers),
            cancellation);
        return Measure("DKM fine-tuned", model, corpus, layers, o.EvalBatches, run);
    }

    static void CheckLayers(TinyGpt model, ClusteredLayers layers)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layers);
        if (!layers.BelongTo(model))
            throw new InvalidSettingsException("These clustered layers were made on another model: make them on the model being compressed, " +
                                        "e.g. new ClusteredLayers(model, options).");
    }

    /// <summary>Evaluates with hard-clustered weights and sizes the palettised model.</summary>
    static CompressionResult Measure(string method, TinyGpt model, TextCorpus corpus, ClusteredLayers layers, int? evalBatches, TrainingRun? run)
    {
        double loss;
        using (layers.UseHardWeights()) loss = Evaluate(model, corpus, evalBatches);
        var palettes = layers.Palettize();
        try
        {
            long clusteredCount = palettes.Values.Sum(p => p.Count);
            long paletteBytes = palettes.Values.Sum(p => p.PackedBytes);
            long total = model.ParameterCount;
            long bytes = (total - clusteredCount) * 4 + paletteBytes;
            return new CompressionResult(method, layers.Options.Bits, loss, bytes, total * 4, paletteBytes * 8.0 / clusteredCount, run);
        }
        finally
        {
            foreach (var p in palettes.Values) p.Dispose();
        }
    }

    /// <summary>Validation loss in eval mode without gradients (LanguageModelTraining.Evaluate sees to both).</summary>
    static double Evaluate(TinyGpt model, TextCorpus corpus, int? evalBatches) =>
        LanguageModelTraining.Evaluate(model, corpus, Split.Validation, batchSize: 16, blockSize: model.Config.ContextLength, maxBatches: evalBatches);
}
