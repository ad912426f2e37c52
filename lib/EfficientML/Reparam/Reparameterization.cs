using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Reparam;

/// <summary>
/// What folding a RepCNN did: the largest difference between the multi-branch and the folded logits on the check input
/// and the logits' scale, the parameters before and after, and the median time per call of each on one window (batch 1).
/// </summary>
public sealed record ReparameterizationReport(double MaxAbsDifference, double LogitScale, long ParametersBefore, long ParametersAfter,
    double MillisecondsBefore, double MillisecondsAfter, long[] InputShape, int Repeats)
{
    /// <summary>
    /// The tolerance the project holds folding to, relative to the logits' scale: float32 rounding grows with the size of
    /// the numbers summed, so a trained model with logits near 10 differs by about 1e-6 after folding, 1e-7 of its scale.
    /// </summary>
    public const double Tolerance = 1e-5;

    /// <summary>The largest difference as a share of the largest |logit| of the multi-branch model.</summary>
    public double RelativeDifference => MaxAbsDifference / Math.Max(LogitScale, double.Epsilon);

    /// <summary>Whether the folded model computes the same logits: finite, and within <see cref="Tolerance"/> of their scale.</summary>
    public bool Same => double.IsFinite(MaxAbsDifference) && RelativeDifference <= Tolerance;

    /// <summary>Multi-branch time over folded time.</summary>
    public double SpeedUp => MillisecondsBefore / MillisecondsAfter;

    /// <inheritdoc/>
    public override string ToString() =>
        $"folded: max |Δ| {MaxAbsDifference:0.0e+0} on logits up to {LogitScale:0.0#} ({RelativeDifference:0.0e+0} of their scale: {(Same ? "same" : "DIFFERENT")}), parameters {ParametersBefore:N0} → {ParametersAfter:N0}, " +
        $"{MillisecondsBefore:0.000} → {MillisecondsAfter:0.000} ms per call ({SpeedUp:0.00}×)";
}

/// <summary>Folds a copy of a trained RepCNN and checks it: same logits, fewer parameters, less time.</summary>
public static class Reparameterization
{
    /// <summary>Most timing repeats <see cref="FoldCopy"/> takes.</summary>
    public const int MaxRepeats = 100_000;

    /// <summary>A copy of <paramref name="model"/> (weights and batch-norm statistics) in evaluation mode; the original is untouched.</summary>
    public static RepCnn Copy(RepCnn model)
    {
        if (model.IsReparameterized)
            throw new EfficientMLException("This model is already folded; copy it before folding, or use it as it is.");
        var copy = new RepCnn(model.Config);
        using (no_grad())
        {
            var source = model.state_dict();
            foreach (var (name, target) in copy.state_dict()) target.copy_(source[name]);
        }
        copy.to(model.parameters().First().device);
        copy.eval();
        return copy;
    }

    /// <summary>
    /// Folds a copy of <paramref name="model"/> and compares it with the multi-branch original on
    /// <paramref name="features"/> (e.g. a batch of real log-mel features): largest logit difference, parameters, and
    /// median time per call on one window (the first, batch 1) over <paramref name="repeats"/> alternating calls.
    /// </summary>
    public static (RepCnn Folded, ReparameterizationReport Report) FoldCopy(RepCnn model, Tensor features, int repeats = 50, CancellationToken cancellation = default)
    {
        if (repeats is < 1 or > MaxRepeats) throw new InvalidSettingsException($"Time 1 to {MaxRepeats:N0} repeats (got {repeats:N0}).");
        var folded = Copy(model).Reparameterize();
        using var evalMode = new EvalMode(model);
        using var noGrad = no_grad();
        double difference, scale;
        using (var a = model.call(features))
        using (var b = folded.call(features))
        using (var delta = (a - b).abs().max())
        using (var largest = a.abs().max())
            (difference, scale) = (delta.item<float>(), largest.item<float>());
        using var window = features[..1];
        double[] ms;
        try { ms = Latency.Medians([() => model.call(window).Dispose(), () => folded.call(window).Dispose()], repeats, cancellation: cancellation); }
        catch (OperationCanceledException) { folded.Dispose(); throw; }
        return (folded, new ReparameterizationReport(difference, scale, model.ParameterCount, folded.ParameterCount, ms[0], ms[1], window.shape, repeats));
    }
}
