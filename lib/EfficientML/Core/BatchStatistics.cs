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
}
