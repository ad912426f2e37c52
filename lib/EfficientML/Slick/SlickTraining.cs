using EfficientML.Core;
using EfficientML.KeywordSpotting;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Slick;

/// <summary>
/// The weights of SLiCK's multi-task loss: utterance-level match (binary cross-entropy), subsequence-level match (binary
/// cross-entropy at every keyword position, padding excluded) and phoneme recognition on the audio (CTC). The baseline
/// of the ablation sets <see cref="Subsequence"/> to 0; "CTC off" sets <see cref="Ctc"/> to 0.
/// </summary>
public sealed record SlickLossWeights(double Utterance = 1, double Subsequence = 1, double Ctc = 0.5)
{
    /// <summary>SLiCK: all three tasks.</summary>
    public static SlickLossWeights Slick => new();

    /// <summary>The baseline: no subsequence-level task.</summary>
    public static SlickLossWeights WithoutSubsequence => new(Subsequence: 0);

    /// <summary>Throws one clear message for weights that cannot train a matcher.</summary>
    public SlickLossWeights Validate()
    {
        if (!(Utterance > 0) || !double.IsFinite(Utterance)) throw new InvalidSettingsException($"The utterance loss weight must be above 0 (got {Utterance}); it is the task the score comes from.");
        if (!(Subsequence >= 0) || !double.IsFinite(Subsequence)) throw new InvalidSettingsException($"The subsequence loss weight must be 0 or more (got {Subsequence}).");
        if (!(Ctc >= 0) || !double.IsFinite(Ctc)) throw new InvalidSettingsException($"The CTC loss weight must be 0 or more (got {Ctc}).");
        return this;
    }

    /// <inheritdoc/>
    public override string ToString() => $"utterance {Utterance:0.##} + subsequence {Subsequence:0.##} + CTC {Ctc:0.##}";
}

/// <summary>
/// Training pairs drawn afresh at every step: each clip of the pool (its spoken phrase known) is paired, with equal
/// chances, with itself (a positive), a random other phrase of the split (an easy negative) or a similar-sounding keyword
/// (a hard negative, as <see cref="SlickPairs"/> makes them), so every clip is heard against many keywords. The draws
/// come from the seed alone, so two models trained with the same seed see the same pairs.
/// </summary>
public sealed class SlickPairSampler(SlickFeatures pool, IReadOnlyList<SlickPhrase> phrases, int seed)
{
    readonly Random _rng = new(seed);
    readonly Dictionary<string, IReadOnlyList<(int Index, int Distance)>> _neighbours = new(StringComparer.Ordinal);

    /// <summary>Clip indices [B] into the pool, keywords [B, L], utterance labels [B] and subsequence labels [B, L].</summary>
    public (Tensor Clips, Tensor Keywords, Tensor Labels, Tensor Subsequence) Draw(int batch)
    {
        int length = pool.MaxKeywordLength;
        var clips = new long[batch];
        var keywords = new long[batch * length];
        var labels = new float[batch];
        var subsequence = new float[batch * length];
        for (int b = 0; b < batch; b++)
        {
            int clip = _rng.Next(pool.Count);
            var anchor = pool.Examples[clip].Pair.Anchor;
            var kind = (SlickPairKind)_rng.Next(3);
            var keyword = kind switch
            {
                SlickPairKind.Positive => anchor.Phonemes,
                SlickPairKind.EasyNegative => SlickPairs.Easy(anchor, phrases, _rng).Keyword,
                _ => Similar(anchor),
            };
            clips[b] = clip;
            labels[b] = kind == SlickPairKind.Positive ? 1 : 0;
            for (int k = 0; k < Math.Min(keyword.Length, length); k++) keywords[b * length + k] = keyword[k];
            SlickTargets.Prefixes(anchor.Phonemes, keyword, length).CopyTo(subsequence, b * length);
        }
        return (tensor(clips), tensor(keywords, [batch, length]), tensor(labels), tensor(subsequence, [batch, length]));
    }

    int[] Similar(SlickPhrase anchor)
    {
        if (!_neighbours.TryGetValue(anchor.Text, out var near)) _neighbours[anchor.Text] = near = SlickPairs.Neighbours(anchor, phrases);
        var keyword = near.Count > 0 && _rng.Next(2) == 0
            ? phrases[near[_rng.Next(near.Count)].Index].Phonemes
            : SlickPairs.Substitute(anchor.Phonemes, _rng.Next(1, SlickPairs.HardDistance + 1), _rng);
        return keyword.Length <= pool.MaxKeywordLength ? keyword : SlickPairs.Substitute(anchor.Phonemes, 1, _rng);
    }
}

/// <summary>Match scores of a set of pairs: the utterance-level probability of each pair, with its label and kind.</summary>
public sealed record SlickScores(float[] Scores, int[] Labels, SlickPairKind[] Kinds, double Loss)
{
    /// <summary>The scores of the pairs of <paramref name="kind"/>, in order.</summary>
    public float[] Of(SlickPairKind kind) => Enumerable.Range(0, Scores.Length).Where(i => Kinds[i] == kind).Select(i => Scores[i]).ToArray();

    /// <summary>The ROC over the positives and the negatives of <paramref name="kind"/> (null: every negative).</summary>
    public SlickRoc Roc(SlickPairKind? kind = null)
    {
        var keep = Enumerable.Range(0, Scores.Length).Where(i => Kinds[i] == SlickPairKind.Positive || kind is null || Kinds[i] == kind).ToArray();
        return SlickRoc.Of(keep.Select(i => Scores[i]).ToArray(), keep.Select(i => Labels[i]).ToArray());
    }

    /// <summary>Positives against easy negatives.</summary>
    public SlickRoc Easy => Roc(SlickPairKind.EasyNegative);

    /// <summary>Positives against hard negatives (similar-sounding keywords).</summary>
    public SlickRoc Hard => Roc(SlickPairKind.HardNegative);
}

/// <summary>Trains SLiCK with its multi-task loss and scores pairs.</summary>
public static class SlickTraining
{
    /// <summary>A training record made beforehand (pairs per step = batch size), so a notebook can follow it live.</summary>
    public static TrainingRun NewRun(string name, TrainingOptions options) => new(name, options, options.BatchSize, item: "pair");

    /// <summary>
    /// Trains <paramref name="model"/> on pairs drawn afresh every step (<see cref="SlickPairSampler"/>) from the clips of
    /// <paramref name="train"/> and the keyword phrases <paramref name="phrases"/> of the training split, with the loss
    /// <paramref name="weights"/>, SpecAugment masking of the features, and the project's <see cref="Trainer"/> (AdamW,
    /// warmup and cosine decay, clipping). The validation loss is the utterance-level cross-entropy on
    /// <paramref name="validation"/>'s fixed pairs, the same for every variant of the loss.
    /// </summary>
    public static TrainingRun Train(SlickModel model, SlickFeatures train, IReadOnlyList<SlickPhrase> phrases, SlickFeatures validation,
        TrainingRun run, SlickLossWeights? weights = null, SpecAugmentOptions? augment = null,
        Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        weights = (weights ?? new SlickLossWeights()).Validate();
        augment ??= new SpecAugmentOptions(TimeMasks: 2, MaxTimeFrames: 15, FrequencyMasks: 2, MaxBands: 5);
        if (train.Count == 0) throw new InvalidSettingsException("The training set is empty.");
        if (train.MaxKeywordLength != model.Config.MaxKeywordLength)
            throw new InvalidSettingsException($"The data's keywords are padded to L = {train.MaxKeywordLength}, the model's to {model.Config.MaxKeywordLength}; make the model with MaxKeywordLength = {train.MaxKeywordLength}.");
        var options = run.Options;
        var sampler = new SlickPairSampler(train, phrases, (int)options.Seed);
        var generator = new Generator((ulong)options.Seed, train.Features.device);
        var ctc = weights.Ctc > 0 ? nn.CTCLoss(blank: Phonemizer.Padding, zero_infinity: true) : null;
        try
        {
            return Trainer.Run(model, step =>
            {
                var (clips, keywords, labels, subsequence) = sampler.Draw(options.BatchSize);
                var features = KeywordSpotterTraining.Mask(train.Features.index_select(0, clips), augment, generator);
                var output = model.Forward(features, keywords);
                var loss = F.binary_cross_entropy_with_logits(output.Utterance, labels).mul(weights.Utterance);
                if (weights.Subsequence > 0) loss = loss + SubsequenceLoss(output, subsequence).mul(weights.Subsequence);
                if (ctc is not null) loss = loss + CtcLoss(ctc, output, clips, train).mul(weights.Ctc);
                return loss;
            }, run, () => Score(model, validation).Loss, progress, cancellation);
        }
        finally
        {
            ctc?.Dispose();
        }
    }

    /// <summary>Binary cross-entropy of the subsequence logits [B, L] against their labels, averaged over the keyword positions (padding excluded).</summary>
    public static Tensor SubsequenceLoss(SlickOutput output, Tensor labels)
    {
        var mask = output.Mask.to_type(ScalarType.Float32);
        var each = F.binary_cross_entropy_with_logits(output.Subsequence, labels, reduction: nn.Reduction.None);
        return each.mul(mask).sum().div(mask.sum().clamp_min(1));
    }

    static Tensor CtcLoss(nn.Module<Tensor, Tensor, Tensor, Tensor, Tensor> ctc, SlickOutput output, Tensor clips, SlickFeatures train)
    {
        var indices = clips.data<long>().ToArray();
        var spoken = indices.Select(i => train.Spoken((int)i)).ToArray();
        using var targets = tensor(spoken.SelectMany(s => s.Select(p => (long)p)).ToArray());
        using var targetLengths = tensor(spoken.Select(s => (long)s.Length).ToArray());
        long frames = output.CtcLogProbs.shape[1];
        using var inputLengths = full([indices.Length], frames, dtype: ScalarType.Int64);
        return ctc.call(output.CtcLogProbs.transpose(0, 1), targets, inputLengths, targetLengths);
    }

    /// <summary>
    /// The utterance-level match probability of every pair of <paramref name="data"/> (eval mode, no gradients), with
    /// the mean utterance cross-entropy as the loss. Refuses a model whose weights are not finite.
    /// </summary>
    public static SlickScores Score(SlickModel model, SlickFeatures data, int batch = 256)
    {
        ModelHealth.EnsureFinite(model, "score pairs");
        using var evalMode = new EvalMode(model);
        using var noGrad = no_grad();
        var scores = new float[data.Count];
        double loss = 0;
        for (int start = 0; start < data.Count; start += batch)
        {
            using var scope = NewDisposeScope();
            using var indices = arange(start, Math.Min(start + batch, data.Count), dtype: ScalarType.Int64);
            var output = model.Forward(data.Features.index_select(0, indices), data.Keywords.index_select(0, indices));
            loss += F.binary_cross_entropy_with_logits(output.Utterance, data.Labels.index_select(0, indices), reduction: nn.Reduction.Sum).item<float>();
            output.Utterance.sigmoid().data<float>().CopyTo(scores, start);
        }
        return new SlickScores(scores, data.Examples.Select(e => e.Label).ToArray(), data.Examples.Select(e => e.Kind).ToArray(), loss / data.Count);
    }
}
