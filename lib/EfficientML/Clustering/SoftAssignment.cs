using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Clustering;

/// <summary>
/// DKM's soft assignment A = softmax(−(w − c)²/τ) (clamped as DKM clamps it) for a sample of one weight table: rows are
/// <see cref="Weights"/> spread evenly over the sorted values, columns the <see cref="Centroids"/> in order. Each row sums
/// to about 1; a sharp row is a weight that already belongs to one centroid.
/// </summary>
/// <param name="Weights">The sampled weights, ascending.</param>
/// <param name="Centroids">The centroids of the first table, ascending.</param>
/// <param name="Attention">A[i][j]: the share of weight i given to centroid j.</param>
/// <param name="TotalWeights">Weights in the table the sample came from.</param>
/// <param name="Temperature">τ, in squared weight units.</param>
public sealed record SoftAssignment(float[] Weights, float[] Centroids, double[][] Attention, long TotalWeights, double Temperature)
{
    /// <summary>
    /// Samples <paramref name="rows"/> weights of <paramref name="weight"/> (the first table's rows when
    /// <paramref name="centroids"/> holds one row of centroids per table) and computes their soft assignment.
    /// </summary>
    public static SoftAssignment Sample(Tensor weight, Tensor centroids, double temperature, int rows = 64)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(centroids);
        if (!double.IsFinite(temperature) || temperature <= 0)
            throw new InvalidSettingsException($"τ must be a positive number in squared weight units, e.g. 1e-4 (got {temperature}).");
        if (rows < 1) throw new InvalidSettingsException($"Show at least one weight (got {rows}).");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var c = centroids.detach().to(CPU).to_type(ScalarType.Float32);
        if (c.dim() == 2)
        {
            long perTable = weight.shape[0] / c.shape[0];
            weight = weight.detach().narrow(0, 0, perTable);
            c = c[0];
        }
        c = c.sort().Values;                                                                   // (k)
        var w = weight.detach().to(CPU).to_type(ScalarType.Float32).flatten().sort().Values;   // (N)
        long total = w.numel();
        long n = Math.Min(rows, total);
        var picks = n == 1 ? tensor(new long[] { 0 }) : linspace(0, total - 1, n).round().to_type(ScalarType.Int64);
        var sample = w.index_select(0, picks);                                                 // (n)
        var a = DkmMath.Attention(DkmMath.Logits(sample.unsqueeze(1), c.unsqueeze(0), temperature),
            new DkmOptions().AttentionFloor);                                                  // (n, k)
        var flat = a.contiguous().data<float>().ToArray();
        long k = c.numel();
        var attention = Enumerable.Range(0, (int)n).Select(i => Enumerable.Range(0, (int)k).Select(j => (double)flat[i * k + j]).ToArray()).ToArray();
        return new SoftAssignment(sample.data<float>().ToArray(), c.contiguous().data<float>().ToArray(), attention, total, temperature);
    }
}
