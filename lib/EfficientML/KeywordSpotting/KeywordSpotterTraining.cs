using EfficientML.Audio;
using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.KeywordSpotting;

/// <summary>
/// SpecAugment-style masking applied to training batches: up to <see cref="TimeMasks"/> stretches of at most
/// <see cref="MaxTimeFrames"/> frames and up to <see cref="FrequencyMasks"/> bands of at most <see cref="MaxBands"/> mel
/// bands set to zero (the mean of normalised features).
/// </summary>
public sealed record SpecAugmentOptions(int TimeMasks = 2, int MaxTimeFrames = 10, int FrequencyMasks = 2, int MaxBands = 5)
{
    /// <summary>No masking.</summary>
    public static readonly SpecAugmentOptions None = new(0, 0, 0, 0);
}

/// <summary>A classifier's results on a set of clips: accuracy, the confusion matrix and every prediction.</summary>
public sealed record KeywordEvaluation(IReadOnlyList<string> Labels, int[] Truth, int[] Predictions, double Loss)
{
    /// <summary>The model's logits, one row of <see cref="Labels"/>.Count values per clip, when the evaluation kept them (for <see cref="UnknownCalibration"/>).</summary>
    public float[][]? Logits { get; init; }

    /// <summary>Share of clips classified correctly.</summary>
    public double Accuracy => Truth.Length == 0 ? 0 : Truth.Zip(Predictions).Count(p => p.First == p.Second) / (double)Truth.Length;

    /// <summary>Counts [true class, predicted class].</summary>
    public int[,] Confusion
    {
        get
        {
            var counts = new int[Labels.Count, Labels.Count];
            foreach (var (t, p) in Truth.Zip(Predictions)) counts[t, p]++;
            return counts;
        }
    }

    /// <summary>The index of the "unknown word" class, or −1 when the labels have none.</summary>
    public int UnknownClass => IndexOf(KeywordDatasetOptions.UnknownLabel);

    /// <summary>The index of the "silence" class, or −1 when the labels have none.</summary>
    public int SilenceClass => IndexOf(KeywordDatasetOptions.SilenceLabel);

    int IndexOf(string label)
    {
        for (int i = 0; i < Labels.Count; i++) if (Labels[i] == label) return i;
        return -1;
    }

    /// <summary>Whether <paramref name="label"/> is a keyword (not unknown, not silence).</summary>
    public bool IsKeyword(int label) => label != UnknownClass && label != SilenceClass;

    /// <summary>Share of the clips of class <paramref name="label"/> classified as it; NaN when there are none.</summary>
    public double Recall(int label)
    {
        int count = 0, right = 0;
        for (int i = 0; i < Truth.Length; i++)
            if (Truth[i] == label) { count++; if (Predictions[i] == label) right++; }
        return count == 0 ? double.NaN : right / (double)count;
    }

    /// <summary>Share of keyword clips classified as their keyword; NaN when there are none.</summary>
    public double KeywordRecall => Share(IsKeyword);

    /// <summary>Share of unknown-word clips classified as unknown; NaN when there are none.</summary>
    public double UnknownRejection => UnknownClass < 0 ? double.NaN : Share(t => t == UnknownClass);

    double Share(Func<int, bool> which)
    {
        int count = 0, right = 0;
        for (int i = 0; i < Truth.Length; i++)
            if (which(Truth[i])) { count++; if (Predictions[i] == Truth[i]) right++; }
        return count == 0 ? double.NaN : right / (double)count;
    }

    /// <summary>
    /// Balanced accuracy: the mean recall over the classes present in <see cref="Truth"/> (macro recall). A model that always
    /// answers one class scores 1 / (classes present), whatever the classes' sizes.
    /// </summary>
    public double BalancedAccuracy
    {
        get
        {
            var present = Truth.Distinct().ToList();
            return present.Count == 0 ? double.NaN : present.Average(Recall);
        }
    }

    /// <summary>The accuracy of always answering "unknown" on these clips (the share of unknown-word clips); NaN without that class.</summary>
    public double AlwaysUnknownAccuracy => UnknownClass < 0 || Truth.Length == 0 ? double.NaN : Truth.Count(t => t == UnknownClass) / (double)Truth.Length;

    /// <summary>The clips for which <paramref name="keep"/> is true (by index), as an evaluation of their own (loss kept).</summary>
    public KeywordEvaluation Where(Func<int, bool> keep)
    {
        var chosen = Enumerable.Range(0, Truth.Length).Where(keep).ToArray();
        return this with
        {
            Truth = chosen.Select(i => Truth[i]).ToArray(), Predictions = chosen.Select(i => Predictions[i]).ToArray(),
            Logits = Logits is null ? null : chosen.Select(i => Logits[i]).ToArray(),
        };
    }

    /// <inheritdoc/>
    public override string ToString() => $"accuracy {Accuracy:P1} on {Truth.Length} clips, loss {Loss:0.###}";
}

/// <summary>Trains and evaluates keyword spotters (any module mapping features [B, mels, frames] to logits [B, classes]).</summary>
public static class KeywordSpotterTraining
{
    /// <summary>
    /// Trains <paramref name="model"/> on <paramref name="train"/> with cross-entropy, random batches of
    /// <see cref="TrainingOptions.BatchSize"/> clips and <paramref name="augment"/> masking, using the project's
    /// <see cref="Trainer"/> (AdamW, warmup and cosine decay, clipping); the validation loss is measured on all of
    /// <paramref name="validation"/> every <see cref="TrainingOptions.EvalEvery"/> steps.
    /// </summary>
    public static TrainingRun Train(nn.Module<Tensor, Tensor> model, KeywordFeatures train, KeywordFeatures validation,
        TrainingOptions options, SpecAugmentOptions? augment = null, string name = "keyword spotter",
        Action<TrainingRun>? progress = null, CancellationToken cancellation = default) =>
        Train(model, train, validation, NewRun(name, options), augment, progress, cancellation);

    /// <summary>
    /// A training record made beforehand (clips per step = batch size), so a notebook can follow it live
    /// (<c>LiveView.Follow(run)</c>) before <see cref="Train(nn.Module{Tensor, Tensor}, KeywordFeatures, KeywordFeatures, TrainingRun, SpecAugmentOptions?, Action{TrainingRun}?, CancellationToken)"/> fills it.
    /// </summary>
    public static TrainingRun NewRun(string name, TrainingOptions options) => new(name, options, options.BatchSize, item: "clip");

    /// <summary>Trains into <paramref name="run"/> (from <see cref="NewRun"/>), with its options.</summary>
    public static TrainingRun Train(nn.Module<Tensor, Tensor> model, KeywordFeatures train, KeywordFeatures validation,
        TrainingRun run, SpecAugmentOptions? augment = null, Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        var options = run.Options;
        if (train.Count == 0) throw new InvalidSettingsException("The training set is empty.");
        augment ??= new SpecAugmentOptions();
        var generator = new Generator((ulong)options.Seed, train.Features.device);
        return Trainer.Run(model, step =>
        {
            using var indices = randint(train.Count, [options.BatchSize], generator: generator, dtype: ScalarType.Int64, device: train.Features.device);
            var (x, y) = train.Batch(indices);
            var masked = Mask(x, augment, generator);
            return nn.functional.cross_entropy(model.call(masked), y);
        }, run, () => Evaluate(model, validation).Loss, progress, cancellation);
    }

    /// <summary>
    /// Runs <paramref name="model"/> (in eval mode, without gradients) over every clip of <paramref name="data"/>, keeping the
    /// predictions and each clip's logits. Refuses
    /// (<see cref="EfficientMLException"/>) a model whose weights or batch-norm statistics are not finite.
    /// </summary>
    public static KeywordEvaluation Evaluate(nn.Module<Tensor, Tensor> model, KeywordFeatures data, IReadOnlyList<string>? labels = null, int batch = 512)
    {
        ModelHealth.EnsureFinite(model, "evaluate");
        using var evalMode = new EvalMode(model);
        using var noGrad = no_grad();
        var predictions = new List<int>();
        var rows = new List<float[]>();
        double loss = 0;
        for (int start = 0; start < data.Count; start += batch)
        {
            using var scope = NewDisposeScope();
            using var indices = arange(start, Math.Min(start + batch, data.Count), dtype: ScalarType.Int64, device: data.Features.device);
            var (x, y) = data.Batch(indices);
            var logits = model.call(x);
            loss += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
            predictions.AddRange(logits.argmax(1).cpu().data<long>().ToArray().Select(p => (int)p));
            var values = logits.cpu().data<float>().ToArray();
            int width = (int)logits.shape[1];
            for (int r = 0; r < values.Length / width; r++) rows.Add(values.AsSpan(r * width, width).ToArray());
        }
        var truth = data.Labels.cpu().data<long>().ToArray().Select(l => (int)l).ToArray();
        int classes = labels?.Count ?? (int)Math.Max(truth.DefaultIfEmpty().Max(), predictions.DefaultIfEmpty().Max()) + 1;
        return new KeywordEvaluation(labels ?? Enumerable.Range(0, classes).Select(i => i.ToString()).ToList(), truth, predictions.ToArray(),
            data.Count == 0 ? 0 : loss / data.Count) { Logits = [.. rows] };
    }

    /// <summary>A copy of <paramref name="x"/> [B, mels, frames] with random time and frequency stretches zeroed.</summary>
    internal static Tensor Mask(Tensor x, SpecAugmentOptions augment, Generator generator)
    {
        if (augment.TimeMasks == 0 && augment.FrequencyMasks == 0) return x;
        long batch = x.shape[0], mels = x.shape[1], frames = x.shape[2];
        var keep = ones(batch, mels, frames, device: x.device);
        using (no_grad())
        {
            Span(keep, augment.TimeMasks, augment.MaxTimeFrames, frames, dimension: 2, generator);
            Span(keep, augment.FrequencyMasks, augment.MaxBands, mels, dimension: 1, generator);
        }
        return x.mul(keep);
    }

    static void Span(Tensor keep, int masks, int maxWidth, long size, int dimension, Generator generator)
    {
        if (masks == 0 || maxWidth == 0) return;
        long batch = keep.shape[0];
        var positions = arange(size, device: keep.device).view(dimension == 2 ? new long[] { 1, 1, size } : [1, size, 1]);
        for (int m = 0; m < masks; m++)
        {
            var width = randint(maxWidth + 1, [batch], generator: generator, device: keep.device);
            var start = (rand([batch], generator: generator, device: keep.device) * (size - width + 1)).floor().to_type(ScalarType.Int64);
            var shape = new long[] { batch, 1, 1 };
            var inside = positions.ge(start.view(shape)).logical_and(positions.lt((start + width).view(shape)));
            keep.masked_fill_(inside, 0);
        }
    }
}
