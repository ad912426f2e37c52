using EfficientML.Core;

namespace EfficientML.Slick;

/// <summary>
/// The ROC curve of match scores against labels: at each threshold the false-positive rate (share of non-matches scored
/// at or above it) and the true-positive rate (share of matches), from the highest threshold (0, 0) to the lowest (1, 1).
/// <see cref="Auc"/> is the area under it (the chance that a random match outscores a random non-match, ties counting
/// half); <see cref="Eer"/> the equal error rate, where the false-positive rate equals the false-negative rate
/// (interpolated linearly between the two ROC points it lies between).
/// </summary>
public sealed record SlickRoc(double[] FalsePositiveRates, double[] TruePositiveRates, double[] Thresholds, double Auc, double Eer, double EerThreshold, int Positives, int Negatives)
{
    /// <summary>The ROC of <paramref name="scores"/> (higher: more likely a match) against <paramref name="labels"/> (1: match).</summary>
    public static SlickRoc Of(IReadOnlyList<float> scores, IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(labels);
        if (scores.Count != labels.Count) throw new InvalidSettingsException($"{scores.Count} scores but {labels.Count} labels.");
        int positives = labels.Count(l => l == 1), negatives = labels.Count - positives;
        if (positives == 0 || negatives == 0)
            throw new InvalidSettingsException($"A ROC curve needs both matches and non-matches; there are {positives} and {negatives}.");
        if (scores.Any(s => !float.IsFinite(s))) throw new InvalidSettingsException("Every score must be a finite number.");
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        var fpr = new List<double> { 0 };
        var tpr = new List<double> { 0 };
        var thresholds = new List<double> { double.PositiveInfinity };
        int tp = 0, fp = 0;
        for (int k = 0; k < order.Length;)
        {
            float threshold = scores[order[k]];
            for (; k < order.Length && scores[order[k]] == threshold; k++)
                if (labels[order[k]] == 1) tp++; else fp++;
            fpr.Add((double)fp / negatives);
            tpr.Add((double)tp / positives);
            thresholds.Add(threshold);
        }
        double auc = 0;
        for (int i = 1; i < fpr.Count; i++) auc += (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2;
        var (eer, eerThreshold) = EqualError(fpr, tpr, thresholds);
        return new SlickRoc(fpr.ToArray(), tpr.ToArray(), thresholds.ToArray(), auc, eer, eerThreshold, positives, negatives);
    }

    static (double Eer, double Threshold) EqualError(List<double> fpr, List<double> tpr, List<double> thresholds)
    {
        // d = FPR − FNR rises from −1 at the first point to +1 at the last; find where it crosses 0.
        for (int i = 1; i < fpr.Count; i++)
        {
            double before = fpr[i - 1] - (1 - tpr[i - 1]), after = fpr[i] - (1 - tpr[i]);
            if (after < 0) continue;
            double t = after == before ? 0 : -before / (after - before);
            double eer = fpr[i - 1] + t * (fpr[i] - fpr[i - 1]);
            double threshold = i == 1 ? thresholds[1] : thresholds[i - 1] + t * (thresholds[i] - thresholds[i - 1]);
            return (eer, threshold);
        }
        return (0.5, thresholds[^1]);
    }

    /// <inheritdoc/>
    public override string ToString() => $"AUC {Auc:P1}, EER {Eer:P1} ({Positives} matches, {Negatives} non-matches)";
}
