using EfficientML.Core;
namespace EfficientML.Clustering;

/// <summary>How the centroids of a table are chosen before the first differentiable step.</summary>
public enum CentroidInit
{
    /// <summary>k-means++ seeding (seeded), then <see cref="DkmOptions.KMeansIterations"/> hard k-means steps.</summary>
    KMeansPlusPlus,

    /// <summary>The (j + ½)/k quantiles of the weights, then <see cref="DkmOptions.KMeansIterations"/> hard k-means steps.</summary>
    Quantile,
}

/// <summary>The 16-bit format the weights are rounded to before clustering (as in the eDKM paper).</summary>
public enum WeightPrecision
{
    /// <summary>bfloat16: 8 exponent bits, 7 mantissa bits.</summary>
    BFloat16,

    /// <summary>IEEE half: 5 exponent bits, 10 mantissa bits.</summary>
    Float16,
}

/// <summary>Settings of differentiable k-means (DKM, Cho et al. 2021) for one weight tensor. See techniques.md §3.</summary>
public sealed record DkmOptions
{
    /// <summary>Bits per weight: the table has k = 2^Bits centroids. 1 to 8.</summary>
    public int Bits { get; init; } = 3;

    /// <summary>
    /// Temperature τ of the soft assignment softmax(−(w − c)²/τ), in squared weight units (coremltools' convention and
    /// default). Smaller is harder. It is absolute, so it must suit the weights' scale: measured on TinyGpt's default MLP
    /// weight (σ = 0.02) with k-means centroids, the mean largest attention (<see cref="DkmClusterer.Sharpness"/>) is
    /// 0.85 / 0.60 / 0.33 at 2 / 3 / 4 bits for τ = 1e-4, and 0.98 / 0.95 / 0.78 for τ = 1e-5. At 4 bits on such
    /// weights 1e-5 keeps the soft weights closer to the hard ones; weights of σ = 0.1 take τ about 25× larger.
    /// </summary>
    public double Temperature { get; init; } = 1e-4;

    /// <summary>Centroid updates per training step (DKM uses at most 3); each is differentiated through.</summary>
    public int Iterations { get; init; } = 3;

    /// <summary>Stop iterating early when no centroid moved by more than this (absolute, weight units); 0 = never.</summary>
    public double Tolerance { get; init; } = 1e-4;

    /// <summary>
    /// Lower clamp of the attention (coremltools clamps the softmax at this value and does not renormalise),
    /// so that no centroid's attention sum vanishes. Must be below 1/k.
    /// </summary>
    public double AttentionFloor { get; init; } = 1e-7;

    /// <summary>Initialisation of the centroids.</summary>
    public CentroidInit Init { get; init; } = CentroidInit.KMeansPlusPlus;

    /// <summary>Hard k-means (Lloyd) steps after the seeding; 0 keeps the seeds as they are.</summary>
    public int KMeansIterations { get; init; } = 10;

    /// <summary>
    /// Null: one table per tensor. G: the output channels (rows) are taken in blocks of G, one table per block
    /// (coremltools' per-grouped-channel granularity). Must divide the number of rows.
    /// </summary>
    public int? GroupSize { get; init; }

    /// <summary>16-bit format the weights are held in for clustering.</summary>
    public WeightPrecision WeightPrecision { get; init; } = WeightPrecision.BFloat16;

    /// <summary>Seed of the k-means++ sampling.</summary>
    public long Seed { get; init; } = 1234;

    /// <summary>Number of centroids per table, 2^<see cref="Bits"/>.</summary>
    public int Clusters => 1 << Bits;

    /// <summary>Throws one clear message for the first setting that cannot work; returns this.</summary>
    public DkmOptions Validate()
    {
        static void Need(bool ok, string message) { if (!ok) throw new InvalidSettingsException($"Invalid DKM options: {message}"); }
        Need(Bits is >= 1 and <= 8, $"Bits must be 1 to 8 (2 to 256 centroids per table); got {Bits}.");
        Need(double.IsFinite(Temperature) && Temperature > 0,
            $"Temperature τ must be a positive number in squared weight units (e.g. 1e-4); got {Temperature}.");
        Need(Iterations is >= 1 and <= 100, $"Iterations must be 1 to 100 centroid updates per step (DKM uses up to 3); got {Iterations}.");
        Need(double.IsFinite(Tolerance) && Tolerance >= 0, $"Tolerance must be 0 or a positive number (e.g. 1e-4); got {Tolerance}.");
        Need(double.IsFinite(AttentionFloor) && AttentionFloor >= 0 && AttentionFloor < 1.0 / Clusters,
            $"AttentionFloor must be at least 0 and below 1/k = {1.0 / Clusters:G3} (e.g. 1e-7); got {AttentionFloor}.");
        Need(KMeansIterations is >= 0 and <= 1000, $"KMeansIterations must be 0 to 1000; got {KMeansIterations}.");
        Need(GroupSize is null or >= 1, $"GroupSize must be a positive number of output channels, or null for one table per tensor; got {GroupSize}.");
        Need(Enum.IsDefined(Init), $"Init must be KMeansPlusPlus or Quantile; got {Init}.");
        Need(Enum.IsDefined(WeightPrecision), $"WeightPrecision must be BFloat16 or Float16; got {WeightPrecision}.");
        return this;
    }
}

/// <summary>
/// The eDKM tricks (Cho et al. 2023) for what the DKM step keeps for backward. Each is a switch so a benchmark can add
/// them one at a time; all off is plain DKM. The forward values and the gradients are the same either way.
/// </summary>
public sealed record EDkmOptions
{
    /// <summary>
    /// Keep the attention as its table of unique rows (one per distinct 16-bit weight value, at most 65,536 per table)
    /// plus a small integer index per weight, instead of N × k floats; the weights likewise as unique values + index.
    /// </summary>
    public bool Uniquify { get; init; }

    /// <summary>Split every saved tensor into this many pieces, one per (simulated) worker; backward gathers them. 1 = no sharding.</summary>
    public int Shards { get; init; } = 1;

    /// <summary>
    /// When the same tensor (same storage) is saved again within one clustering step, keep the first copy instead of
    /// packing a second one; the index of a weight tensor is then also shared by everything saved for it.
    /// </summary>
    public bool Deduplicate { get; init; }

    /// <summary>Move what is saved to host memory when the tensors live on a GPU (no-op on the CPU).</summary>
    public bool Offload { get; init; }

    /// <summary>Plain DKM: dense tensors kept where they are, shared by reference when saved twice.</summary>
    public static EDkmOptions None => new();

    /// <summary>Every trick on, sharded over <paramref name="shards"/> workers.</summary>
    public static EDkmOptions All(int shards = 1) => new() { Uniquify = true, Shards = shards, Deduplicate = true, Offload = true };

    /// <summary>True when packing a saved tensor makes new tensors (so saving it twice would store it twice).</summary>
    internal bool Copies(bool onAccelerator) => Uniquify || Shards > 1 || (Offload && onAccelerator);

    /// <summary>Throws one clear message for the first setting that cannot work; returns this.</summary>
    public EDkmOptions Validate()
    {
        if (Shards is < 1 or > 4096)
            throw new InvalidSettingsException($"Invalid eDKM options: Shards must be 1 to 4096 workers (1 = no sharding); got {Shards}.");
        return this;
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var tricks = new List<string>();
        if (Uniquify) tricks.Add("uniquify");
        if (Shards > 1) tricks.Add($"shard×{Shards}");
        if (Deduplicate) tricks.Add("deduplicate");
        if (Offload) tricks.Add("offload");
        return tricks.Count == 0 ? "DKM (dense)" : "eDKM: " + string.Join(" + ", tricks);
    }
}
