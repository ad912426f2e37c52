using EfficientML.Core;
using EfficientML.Models;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// Why verifying γ + 1 tokens costs more than one plain step here: the cost of one linear layer of the widest grown
/// target's MLP for T rows at once against one row, its weights read from memory as in decoding
/// (<see cref="MachineLimits.RowCosts"/>). If the matmul library read each weight once for all rows, T rows would cost
/// about one row's time until the arithmetic catches up.
/// </summary>
static class VerificationRowCost
{
    public static IEnumerable<Measurement> Rows(TinyGptConfig small, int widthFactor, bool quick, TextWriter log)
    {
        int inputs = small.Dim * widthFactor, outputs = small.MlpDim * widthFactor;
        int[] rows = [1, 2, 3, 5, 9];
        // Enough distinct weights to exceed any cache (at least 128 MB), as a decode step streams its layers.
        int matrices = (int)Math.Max(4, Math.Ceiling((128.0 * (1 << 20)) / (4.0 * inputs * outputs)));
        var costs = MachineLimits.RowCosts(TorchSharp.torch.CPU, inputs, outputs, rows, matrices, quick ? 3 : 15);
        log.WriteLine($"linear {inputs}→{outputs}, weights streamed: " + string.Join("; ", costs.Select(c => $"T={c.Key} {c.Value:F0} µs ({c.Value / costs[1]:F2}× one row)")));
        foreach (var (t, microseconds) in costs.Where(c => c.Key > 1))
            yield return new($"linear {inputs}→{outputs} (the ×{widthFactor} target's MLP), {t} rows at once", microseconds, "µs", "the same product for 1 row", microseconds / costs[1],
                $"ratio: time of {t} rows ÷ time of 1 row ({costs[1]:F0} µs); {matrices} distinct weights cycled so each is read from memory; " +
                $"{2.0 * t * inputs * outputs / (microseconds * 1e3):F1} GFLOP/s");
    }
}
