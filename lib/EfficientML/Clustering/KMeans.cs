using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Clustering;

/// <summary>
/// Ordinary (hard) k-means on scalar weights, one table per row of a (G, n) tensor: the initialisation of DKM and,
/// on its own, post-training clustering without fine-tuning. Nearest centroids are found by sorting (O(n log k)
/// memory O(n)), never with an n × k distance matrix.
/// </summary>
public static class KMeans
{
    /// <summary>
    /// k centroids per row of <paramref name="weights"/> (G, n): seeded by <paramref name="init"/>, then
    /// <paramref name="iterations"/> Lloyd steps (fewer if they stop moving). Returns (G, k) float32, ascending per row.
    /// </summary>
    public static Tensor Fit(Tensor weights, int k, CentroidInit init = CentroidInit.KMeansPlusPlus, int iterations = 10, long seed = 1234)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.dim() != 2 || weights.numel() == 0)
            throw new InvalidSettingsException($"KMeans.Fit takes non-empty weights as (tables, weights per table); got shape [{string.Join(", ", weights.shape)}].");
        if (k < 2) throw new InvalidSettingsException($"KMeans.Fit needs at least 2 centroids; got {k}.");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var w = weights.detach().to(ScalarType.Float32).contiguous();                       // (G, n)
        var c = init == CentroidInit.Quantile ? Quantiles(w, k) : PlusPlus(w, k, seed);     // (G, k)
        for (int step = 0; step < iterations; step++)
        {
            var next = Lloyd(w, c);
            bool moved = !next.eq(c).all().item<bool>();
            c = next;
            if (!moved) break;
        }
        return c.sort(1).Values.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Index of the nearest centroid for every weight: weights (G, n), centroids (G, k) → (G, n) int64.</summary>
    public static Tensor Assign(Tensor weights, Tensor centroids)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var w = weights.detach().to(ScalarType.Float32).contiguous();                        // (G, n)
        var (sorted, order) = centroids.detach().to(ScalarType.Float32).sort(1);           // (G, k) each
        long k = sorted.shape[1];
        // Nearest centroid = which gap between consecutive sorted centroids' midpoints the weight falls in.
        var mid = ((sorted.narrow(1, 1, k - 1) + sorted.narrow(1, 0, k - 1)) / 2).contiguous(); // (G, k−1)
        var bucket = searchsorted(mid, w);                                                  // (G, n) in 0..k−1
        return order.gather(1, bucket).MoveToOuterDisposeScope();
    }

    /// <summary>k-means++: the first seed uniformly, each next one with probability ∝ squared distance to the nearest seed.</summary>
    static Tensor PlusPlus(Tensor w, int k, long seed)
    {
        using var generator = Seeding.Generator(seed);
        long g = w.shape[0];
        var pick = multinomial(ones_like(w), 1, false, generator);                          // (G, 1)
        var seeds = new List<Tensor> { w.gather(1, pick) };                                  // k × (G, 1)
        var d2 = (w - seeds[0]).square();                                                    // (G, n)
        for (int j = 1; j < k; j++)
        {
            // A row whose weights all sit on seeds already (fewer distinct values than k) draws uniformly: a repeat.
            var empty = d2.sum(1, keepdim: true).eq(0);                                      // (G, 1)
            var weights = where(empty, ones_like(d2), d2);
            pick = multinomial(weights, 1, false, generator);
            var next = w.gather(1, pick);                                                    // (G, 1)
            seeds.Add(next);
            d2 = minimum(d2, (w - next).square());
        }
        return cat(seeds, 1);                                                                // (G, k)
    }

    /// <summary>The weights at the (j + ½)/k quantiles of each row.</summary>
    static Tensor Quantiles(Tensor w, int k)
    {
        long g = w.shape[0], n = w.shape[1];
        var sorted = w.sort(1).Values;                                                       // (G, n)
        var positions = Enumerable.Range(0, k).Select(j => Math.Min(n - 1, (long)Math.Floor((j + 0.5) / k * n))).ToArray();
        var index = tensor(positions, device: w.device).unsqueeze(0).expand(g, k);           // (G, k)
        return sorted.gather(1, index);
    }

    /// <summary>One Lloyd step: every centroid moves to the mean of its weights (an empty one stays put).</summary>
    static Tensor Lloyd(Tensor w, Tensor c)
    {
        long g = w.shape[0], k = c.shape[1];
        var labels = Assign(w, c) + arange(g, device: w.device).unsqueeze(1) * k;          // (G, n) flat cluster id
        var flat = labels.flatten();
        var sums = zeros(g * k, dtype: ScalarType.Float64, device: w.device).index_add_(0, flat, w.flatten().to(ScalarType.Float64), 1);
        var counts = zeros(g * k, dtype: ScalarType.Float64, device: w.device).index_add_(0, flat, ones(flat.shape[0], dtype: ScalarType.Float64, device: w.device), 1);
        var means = (sums / counts.clamp_min(1)).to(ScalarType.Float32);                     // (G·k)
        return where(counts.gt(0), means, c.flatten()).view(g, k);
    }
}
