namespace EfficientML.Benchmarks;

/// <summary>The median, the benchmarks' summary of repeated timings (robust to a burst of load on a shared machine).</summary>
public static class Median
{
    /// <summary>Median of <paramref name="values"/> (the mean of the middle two for an even count).</summary>
    public static double Of(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        if (sorted.Length == 0) throw new ArgumentException("No values to take the median of.", nameof(values));
        int m = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }
}
