using EfficientML.Core;

namespace EfficientML.KeywordSpotting;

/// <summary>A figure measured once per seed: its values, their mean and sample standard deviation, written in percent.</summary>
public sealed record SeedSpread(IReadOnlyList<double> Values, double Mean, double Spread)
{
    /// <summary>The spread of <paramref name="values"/> (one per seed).</summary>
    public static SeedSpread Of(IReadOnlyList<double> values)
    {
        var (mean, spread) = BatchStatistics.MeanSpread(values);
        return new SeedSpread(values, mean, spread);
    }

    /// <summary>The spread of <paramref name="pick"/> over <paramref name="runs"/>.</summary>
    public static SeedSpread Of<T>(IEnumerable<T> runs, Func<T, double> pick) => Of(runs.Select(pick).ToList());

    /// <summary>"± 1.2 (sd over 3 seeds: 70.1 / 71.0 / 72.5)" in percent, or "1 run".</summary>
    public string PercentNote =>
        Values.Count == 1 ? "1 run" : $"± {Spread * 100:0.0} (sd over {Values.Count} seeds: {string.Join(" / ", Values.Select(v => $"{v * 100:0.0}"))})";
}
