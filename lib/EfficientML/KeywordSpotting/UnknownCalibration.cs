using EfficientML.Core;

namespace EfficientML.KeywordSpotting;

/// <summary>
/// A decision threshold for the "unknown" class: <see cref="Bias"/> is added to the unknown logit before the arg-max, so a
/// positive bias makes the spotter answer "unknown" more often (fewer false keywords, fewer keywords found). It is chosen
/// on validation data (<see cref="Fit"/>) where keyword recall and unknown rejection are closest, then applied unchanged to
/// any other set (<see cref="Apply"/>).
/// </summary>
/// <param name="Bias">What is added to the unknown logit.</param>
/// <param name="KeywordRecall">Keyword recall on the validation set at this bias.</param>
/// <param name="UnknownRejection">Unknown rejection on the validation set at this bias.</param>
/// <param name="UncalibratedKeywordRecall">Keyword recall on the validation set at bias 0.</param>
/// <param name="UncalibratedUnknownRejection">Unknown rejection on the validation set at bias 0.</param>
public sealed record UnknownCalibration(double Bias, double KeywordRecall, double UnknownRejection,
    double UncalibratedKeywordRecall, double UncalibratedUnknownRejection)
{
    /// <summary>
    /// The bias at which keyword recall and unknown rejection on <paramref name="validation"/> are closest (of equal gaps,
    /// the one with the higher balanced accuracy, then the one nearest 0). Every bias at which some clip's decision changes
    /// is tried. <paramref name="validation"/> needs its logits (<see cref="KeywordSpotterTraining.Evaluate"/> keeps them),
    /// an unknown class, and clips of a keyword and of unknown words.
    /// </summary>
    public static UnknownCalibration Fit(KeywordEvaluation validation)
    {
        ArgumentNullException.ThrowIfNull(validation);
        var logits = validation.Logits ?? throw new InvalidSettingsException("The evaluation has no logits; evaluate with KeywordSpotterTraining.Evaluate, which keeps them.");
        int unknown = validation.UnknownClass;
        if (unknown < 0) throw new InvalidSettingsException("The labels have no unknown class, so there is nothing to calibrate.");
        if (!validation.Truth.Any(validation.IsKeyword) || !validation.Truth.Contains(unknown))
            throw new InvalidSettingsException("Calibration needs validation clips of keywords and of unknown words.");
        // A clip's decision changes where the bias makes the unknown logit meet the best other class: try just above each such point.
        var candidates = new SortedSet<double> { 0 };
        foreach (var row in logits)
        {
            double other = row.Where((_, c) => c != unknown).Max();
            double flip = other - row[unknown];
            candidates.Add(flip + 1e-4);
            candidates.Add(flip - 1e-4);
        }
        var start = Score(validation, 0);
        (double Bias, double Recall, double Rejection, double Balanced)? best = null;
        foreach (var bias in candidates)
        {
            var (recall, rejection, balanced) = Score(validation, bias);
            if (best is not { } b || Better(recall, rejection, balanced, bias, b)) best = (bias, recall, rejection, balanced);
        }
        var chosen = best!.Value;
        return new UnknownCalibration(chosen.Bias, chosen.Recall, chosen.Rejection, start.Recall, start.Rejection);
    }

    /// <summary>Whether <see cref="Fit"/> can fit on <paramref name="validation"/>: logits, an unknown class, clips of a keyword and of unknown words.</summary>
    public static bool CanFit(KeywordEvaluation validation) =>
        validation.Logits is not null && validation.UnknownClass >= 0 &&
        validation.Truth.Any(validation.IsKeyword) && validation.Truth.Contains(validation.UnknownClass);

    static bool Better(double recall, double rejection, double balanced, double bias, (double Bias, double Recall, double Rejection, double Balanced) best)
    {
        double gap = Math.Abs(recall - rejection), bestGap = Math.Abs(best.Recall - best.Rejection);
        if (Math.Abs(gap - bestGap) > 1e-12) return gap < bestGap;
        if (Math.Abs(balanced - best.Balanced) > 1e-12) return balanced > best.Balanced;
        return Math.Abs(bias) < Math.Abs(best.Bias);
    }

    static (double Recall, double Rejection, double Balanced) Score(KeywordEvaluation evaluation, double bias)
    {
        var shifted = Decide(evaluation, bias);
        return (shifted.KeywordRecall, shifted.UnknownRejection, shifted.BalancedAccuracy);
    }

    /// <summary><paramref name="evaluation"/> decided again with <see cref="Bias"/> added to its unknown logits (it needs its logits).</summary>
    public KeywordEvaluation Apply(KeywordEvaluation evaluation)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        if (evaluation.Logits is null) throw new InvalidSettingsException("The evaluation has no logits; evaluate with KeywordSpotterTraining.Evaluate, which keeps them.");
        if (evaluation.UnknownClass < 0) throw new InvalidSettingsException("The labels have no unknown class to calibrate.");
        return Decide(evaluation, Bias);
    }

    static KeywordEvaluation Decide(KeywordEvaluation evaluation, double bias)
    {
        int unknown = evaluation.UnknownClass;
        var predictions = evaluation.Logits!.Select(row =>
        {
            int arg = 0;
            double top = double.NegativeInfinity;
            for (int c = 0; c < row.Length; c++)
            {
                double value = row[c] + (c == unknown ? bias : 0);
                if (value > top) { top = value; arg = c; }
            }
            return arg;
        }).ToArray();
        return evaluation with { Predictions = predictions };
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"unknown bias {Bias:+0.00;-0.00}: validation keyword recall {UncalibratedKeywordRecall:P1} → {KeywordRecall:P1}, " +
        $"unknown rejection {UncalibratedUnknownRejection:P1} → {UnknownRejection:P1}";
}
