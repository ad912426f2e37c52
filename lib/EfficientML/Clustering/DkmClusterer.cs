using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Clustering;

/// <summary>
/// Differentiable k-means (DKM) for one weight tensor, with its centroids kept between steps (warm start), like
/// coremltools' DKM layer. <see cref="Soft(Tensor)"/> is the training view: W̃ = A C through custom autograd functions
/// whose saved tensors go to <see cref="Store"/> (plain DKM, or eDKM's packing: same values, same gradients).
/// <see cref="Hard"/> and <see cref="Palettize"/> are the evaluation/export view: every weight its nearest centroid.
/// Weights are rounded to 16 bits first (bf16 by default), keeping autograd's identity gradient to the float32 master.
/// </summary>
public sealed class DkmClusterer : IDisposable
{
    readonly bool _ownsStore;
    Tensor? _centroids;

    /// <summary>
    /// A clusterer with <paramref name="options"/> (defaults: 3 bits, τ = 1e-4, 3 iterations) saving into
    /// <paramref name="store"/> (default: a plain-DKM store of its own; pass one store to many clusterers to measure a model).
    /// </summary>
    public DkmClusterer(DkmOptions? options = null, SavedTensorStore? store = null)
    {
        Options = (options ?? new DkmOptions()).Validate();
        _ownsStore = store is null;
        Store = store ?? new SavedTensorStore();
    }

    /// <summary>The clustering settings.</summary>
    public DkmOptions Options { get; }

    /// <summary>Where the training step keeps what backward needs.</summary>
    public SavedTensorStore Store { get; }

    /// <summary>What <see cref="Store"/> holds for backward, now and at its peak.</summary>
    public SavedTensorReport Memory => Store.Report;

    /// <summary>
    /// A copy of the current centroids, (tables, k) float32 (null before the first use); the next step starts from them.
    /// A copy, because each step replaces (and frees) the clusterer's own.
    /// </summary>
    public Tensor? Centroids => _centroids?.clone();

    /// <summary>Centroid updates the last <see cref="Soft(Tensor)"/> ran.</summary>
    public int LastIterations { get; private set; }

    /// <summary>
    /// The weight rounded to the 16-bit format, as float32; the gradient passes straight through to the weight in full
    /// float32 precision (w + (round(w) − w) with the correction detached: exact, since the difference is representable,
    /// whereas autograd's own backward of <c>w.to(bf16)</c> would round the gradient to bf16 too).
    /// </summary>
    public Tensor Round(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var half = Options.WeightPrecision == WeightPrecision.Float16 ? ScalarType.Float16 : ScalarType.BFloat16;
        var w = weight.to(ScalarType.Float32);
        if (!w.requires_grad) return w.to(half).to(ScalarType.Float32);
        var delta = w.detach().to(half).to(ScalarType.Float32) - w.detach();                 // no graph: built from detached values
        return w + delta;
    }

    /// <summary>(tables G, weights per table n) for a weight of this shape.</summary>
    public (long Tables, long PerTable) Layout(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        long count = weight.numel();
        if (count == 0) throw new InvalidSettingsException("DKM cannot cluster an empty tensor.");
        if (Options.GroupSize is not int size) return (1, count);
        long rows = weight.dim() == 0 ? 1 : weight.shape[0];
        if (rows % size != 0)
            throw new InvalidSettingsException($"GroupSize {size} does not divide the {rows} output channels (rows) of this weight of shape [{string.Join(", ", weight.shape)}]; " +
                $"use a divisor of {rows}, or null for one table per tensor.");
        long tables = rows / size;
        return (tables, count / tables);
    }

    /// <summary>Sets the centroids by hard k-means on the 16-bit weights (k-means++ or quantile seeding, then Lloyd steps).</summary>
    public void Initialise(Tensor weight)
    {
        var (g, n) = Layout(weight);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var w = Round(weight.detach()).reshape(g, n);
        SetCentroids(KMeans.Fit(w, Options.Clusters, Options.Init, Options.KMeansIterations, Options.Seed));
    }

    /// <summary>Forgets the centroids: the next use initialises again.</summary>
    public void Reset()
    {
        _centroids?.Dispose();
        _centroids = null;
    }

    /// <summary>
    /// Training view: W̃ = A C after the centroid updates, same shape as <paramref name="weight"/>, float32, differentiable
    /// with respect to the weight. Starts from the kept centroids (initialising them on first use) and keeps the new ones.
    /// </summary>
    public Tensor Soft(Tensor weight) => Step(weight, null).Weights;

    /// <summary>
    /// One DKM step from explicit <paramref name="initialCentroids"/> (tables, k); gradients also flow to them when they
    /// require grad. Returns W̃ (the weight's shape) and the final centroids (differentiable); keeps the centroids.
    /// </summary>
    public DkmStepResult Step(Tensor weight, Tensor? initialCentroids)
    {
        Store.ThrowIfFailed();
        var (g, n) = Layout(weight);
        int k = Options.Clusters;
        Tensor c0;
        if (initialCentroids is null)
        {
            if (_centroids is null || _centroids.shape[0] != g) Initialise(weight);
            c0 = _centroids!.to(weight.device);
        }
        else
        {
            if (!initialCentroids.shape.SequenceEqual(new[] { g, (long)k }))
                throw new InvalidSettingsException($"Initial centroids must be (tables, k) = ({g}, {k}) for this weight and options; got [{string.Join(", ", initialCentroids.shape)}].");
            c0 = initialCentroids;
        }
        using var scope = NewDisposeScope();
        var w = Round(weight).reshape(g, n);                                                   // (G, n), differentiable
        bool record = is_grad_enabled() && (w.requires_grad || c0.requires_grad);
        using var unique = record && Store.Options.Uniquify ? UniqueWeights.Of(w) : null;
        using var pass = Store.Begin(unique);
        var step = new DkmStep(pass, Options.Temperature, Options.AttentionFloor, record);
        // Every tensor of the step stays referenced until the pass ends (the store's identity check relies on it).
        Tensor c = c0, a = null!, next = null!;
        int t;
        for (t = 1; ; t++)
        {
            a = SoftAssign.apply(w, c, step);                                                  // (G, n, k)
            next = CentroidUpdate.apply(a, w, step);                                           // (G, k)
            if (t == Options.Iterations || DkmReference.Converged(c, next, Options.Tolerance)) break;
            c = next;
        }
        var output = Reconstruct.apply(a, next, step).view(weight.shape);                      // weight's shape
        LastIterations = t;
        using (no_grad()) SetCentroids(next.detach().clone());
        return new DkmStepResult(output.MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope(), t);
    }

    /// <summary>
    /// How decided the soft assignment is for this weight with the current centroids: the mean over weights of the
    /// largest attention entry (1 = every weight wholly on one centroid, 1/k = spread evenly). Computed on the distinct
    /// 16-bit values weighted by how often they occur, so it costs U × k, not N × k.
    /// </summary>
    public double Sharpness(Tensor weight)
    {
        var (g, n) = Layout(weight);
        if (_centroids is null || _centroids.shape[0] != g) Initialise(weight);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var unique = UniqueWeights.Of(Round(weight.detach()).reshape(g, n));
        var c = _centroids!.to(weight.device).index_select(0, unique.RowTable);              // (R, k)
        var a = DkmMath.Attention(DkmMath.Logits(unique.Values.unsqueeze(1), c, Options.Temperature), Options.AttentionFloor); // (R, k)
        var largest = a.amax(new long[] { -1 });                                               // (R)
        return (largest * unique.Counts).sum().item<float>() / (double)(g * n);
    }

    /// <summary>Evaluation view: every (16-bit) weight replaced by its nearest centroid; at most k distinct values per table.</summary>
    public Tensor Hard(Tensor weight)
    {
        using var palette = Palettize(weight);
        return palette.Decode();
    }

    /// <summary>The palettised weight: (tables, k) centroids and a uint8 index per weight (nearest centroid).</summary>
    public Palette Palettize(Tensor weight)
    {
        var (g, n) = Layout(weight);
        if (_centroids is null || _centroids.shape[0] != g) Initialise(weight);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var w = Round(weight.detach()).reshape(g, n);                                          // (G, n)
        var table = _centroids!.to(weight.device).clone();                                     // (G, k)
        var indices = KMeans.Assign(w, table).to(ScalarType.Byte).view(weight.shape);          // k ≤ 256 fits a byte
        return new Palette(table.MoveToOuterDisposeScope(), indices.MoveToOuterDisposeScope(), Options.Bits, Options.GroupSize);
    }

    void SetCentroids(Tensor centroids)
    {
        var kept = centroids.detach().to(ScalarType.Float32).DetachFromDisposeScope();
        _centroids?.Dispose();
        _centroids = kept;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Reset();
        if (_ownsStore) Store.Dispose();
    }
}
