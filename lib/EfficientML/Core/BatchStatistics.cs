using static TorchSharp.torch;

namespace EfficientML.Core;

/// <summary>Small averages the evaluations and timings share.</summary>
internal static class BatchStatistics
{
    /// <summary>Mean of a scalar <paramref name="loss"/> over <paramref name="batches"/>, each computed in its own dispose scope (0 when there are none).</summary>
    public static double MeanLoss(IEnumerable<(Tensor Inputs, Tensor Targets)> batches, Func<Tensor, Tensor, Tensor> loss)
    {
        double sum = 0;
        int n = 0;
        foreach (var (x, y) in batches)
        {
            using var scope = NewDisposeScope();
            sum += loss(x, y).item<float>();
            n++;
        }
        return sum / Math.Max(1, n);
    }

    /// <summary>Median of <paramref name="values"/> (the mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var s = values.OrderBy(v => v).ToArray();
        if (s.Length == 0) throw new InvalidSettingsException("The median of no values is undefined.");
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>Mean and sample standard deviation of <paramref name="values"/> (spread 0 for a single value).</summary>
    public static (double Mean, double Spread) MeanSpread(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new InvalidSettingsException("The mean of no values is undefined.");
        double mean = values.Average();
        double spread = values.Count < 2 ? 0 : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        return (mean, spread);
    }
}
