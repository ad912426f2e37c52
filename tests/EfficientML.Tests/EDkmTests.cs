using EfficientML.Clustering;
using EfficientML.Core;
using EfficientML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Tests;

[Trait("Category", "Invariant")] // run under every ATen CPU capability in CI (.ci/run)
public class EDkmTests
{
    static EDkmTests() => TorchThreads.Set(1);

    /// <summary>Each trick alone, then all together at 1, 4 and 8 shards.</summary>
    public static IEnumerable<object[]> Tricks() => new[]
    {
        new EDkmOptions { Uniquify = true },
        new EDkmOptions { Shards = 4 },
        new EDkmOptions { Deduplicate = true },
        new EDkmOptions { Offload = true },
        EDkmOptions.All(shards: 1),
        EDkmOptions.All(shards: 4),
        EDkmOptions.All(shards: 8),
    }.Select(o => new object[] { o.Uniquify, o.Shards, o.Deduplicate, o.Offload });

    static EDkmOptions Make(bool uniquify, int shards, bool deduplicate, bool offload) =>
        new() { Uniquify = uniquify, Shards = shards, Deduplicate = deduplicate, Offload = offload };

    [Theory]
    [MemberData(nameof(Tricks))]
    public void EDkm_gives_the_same_output_and_gradients_as_DKM_on_random_tensors(bool uniquify, int shards, bool deduplicate, bool offload)
    {
        var tricks = Make(uniquify, shards, deduplicate, offload);
        foreach (var (bits, group) in new[] { (3, (int?)null), (2, 4), (4, null) })
        {
            using var scope = NewDisposeScope();
            var options = new DkmOptions { Bits = bits, GroupSize = group, Tolerance = 0 };
            var weight = DkmRuns.Weight(seed: 31 + bits, rows: 24, cols: 50, std: 0.03);
            var probe = DkmRuns.Probe(weight, seed: 7);
            var c0 = DkmRuns.InitialCentroids(weight, options);
            using var dkm = new SavedTensorStore();
            using var edkm = new SavedTensorStore(tricks);
            var expected = DkmRuns.Custom(weight, c0, options, dkm, probe);
            var actual = DkmRuns.Custom(weight, c0, options, edkm, probe);
            DkmRuns.AssertSame(expected, actual, 1e-6, $"{tricks}, {bits} bits, group {group}");
            Assert.Equal(0, edkm.Report.Current.Total);
            Assert.Equal(0, edkm.Pending);
        }
    }

    [Theory]
    [MemberData(nameof(Tricks))]
    public void EDkm_gives_the_same_output_and_gradients_as_DKM_on_a_TinyGpt_layer(bool uniquify, int shards, bool deduplicate, bool offload)
    {
        var tricks = Make(uniquify, shards, deduplicate, offload);
        using var scope = NewDisposeScope();
        using var model = new TinyGpt(TestModels.Small(), seed: 17);
        var weight = model.blocks[0].mlp.fc.weight!.detach().clone();                       // (64, 32), std 0.02
        var probe = DkmRuns.Probe(weight, seed: 8);
        var options = new DkmOptions { Bits = 3 };
        var c0 = DkmRuns.InitialCentroids(weight, options);
        using var dkm = new SavedTensorStore();
        using var edkm = new SavedTensorStore(tricks);
        var expected = DkmRuns.Custom(weight, c0, options, dkm, probe);
        var actual = DkmRuns.Custom(weight, c0, options, edkm, probe);
        DkmRuns.AssertSame(expected, actual, 1e-6, tricks.ToString());
        DkmRuns.AssertSame(DkmRuns.Reference(weight, c0, options, probe), actual, 1e-6, tricks + " against plain autograd");
    }

    [Fact]
    public void Byte_counts_match_the_hand_computed_figures_for_a_thousand_bf16_weights()
    {
        using var scope = NewDisposeScope();
        const long n = 1000, k = 8;
        var weight = DkmRuns.Weight(seed: 2, rows: 10, cols: 100, std: 0.05);
        var options = new DkmOptions { Bits = 3, Iterations = 2, Tolerance = 0 };
        var c0 = DkmRuns.InitialCentroids(weight, options);
        var probe = DkmRuns.Probe(weight, seed: 3);
        long u = unique(weight.to(ScalarType.BFloat16)).Item1.numel();                      // distinct bf16 values
        Assert.InRange(u, 257, 1000);                                                       // so the index is int16: 2 bytes
        const long T = 2, index = 2, centroids = (T + 1) * k * 4;                         // c0, c1 for SoftAssign, c2 for Reconstruct

        // Saves per step: SoftAssign A_t, w, c_{t−1}; CentroidUpdate A_t, w; Reconstruct A_T, c_T.
        var dense = Peak(EDkmOptions.None, weight, c0, options, probe);
        Assert.Equal(T * n * k * 4, dense[SavedKind.Attention]);                            // each A once: the three saves share it
        Assert.Equal(n * 4, dense[SavedKind.Weights]);
        Assert.Equal(centroids, dense[SavedKind.Centroids]);
        Assert.Equal(0, dense[SavedKind.Index]);

        var uniq = Peak(new EDkmOptions { Uniquify = true }, weight, c0, options, probe);
        Assert.Equal((2 * T + 1) * u * k * 4, uniq[SavedKind.Attention]);                  // every save packs its own table …
        Assert.Equal((2 * T + 1 + 2 * T) * n * index, uniq[SavedKind.Index]);               // … and its own index
        Assert.Equal(2 * T * u * 4, uniq[SavedKind.Weights]);
        Assert.Equal(centroids, uniq[SavedKind.Centroids]);

        var both = Peak(new EDkmOptions { Uniquify = true, Deduplicate = true }, weight, c0, options, probe);
        Assert.Equal(T * u * k * 4, both[SavedKind.Attention]);
        Assert.Equal(n * index, both[SavedKind.Index]);
        Assert.Equal(u * 4, both[SavedKind.Weights]);
        Assert.Equal(centroids, both[SavedKind.Centroids]);
        // Here U/N ≈ 0.6, so the per-save packings of uniquification alone outweigh the shared dense tensors; together they win.
        Assert.True(both.Total < dense.Total && both.Total < uniq.Total, $"dense {dense.Total}, uniquified {uniq.Total}, + de-duplicated {both.Total}");

        var sharded = Peak(new EDkmOptions { Uniquify = true, Deduplicate = true, Shards = 4 }, weight, c0, options, probe);
        Assert.Equal(both.Total, sharded.Total);
        Assert.Equal(sharded.Total, sharded.PerWorker.Sum());
        // Worker 0 holds the first quarter of each table's rows, of the index, of the values and of each set of centroids.
        long worker0 = T * Part(u, 4) * k * 4 + Part(n, 4) * index + Part(u, 4) * 4 + (T + 1) * Part(k, 4) * 4;
        Assert.Equal(worker0, sharded.PerWorker[0]);
        Assert.Equal(worker0, sharded.MaxPerWorker);
        Assert.Equal(0, sharded.OnHost);                                                    // CPU: offloading has nowhere to go
    }

    /// <summary>Size of the first of <paramref name="parts"/> pieces of <paramref name="length"/> rows (torch.tensor_split).</summary>
    static long Part(long length, long parts) => length / parts + (length % parts > 0 ? 1 : 0);

    static SavedBytes Peak(EDkmOptions tricks, Tensor weight, Tensor c0, DkmOptions options, Tensor probe)
    {
        using var store = new SavedTensorStore(tricks);
        var w = weight.detach().clone().requires_grad_(true);
        using var clusterer = new DkmClusterer(options, store);
        var result = clusterer.Step(w, c0);
        var held = store.Report;
        Assert.Equal(held.Current.Total, held.Peak.Total);
        (result.Weights * probe).sum().backward();
        Assert.Equal(0, store.Report.Current.Total);
        Assert.Equal(held.Peak.Total, store.Report.Peak.Total);
        return held.Peak;
    }

    [Fact]
    public void EDkm_holds_fewer_bytes_than_DKM_on_a_TinyGpt_layer_and_each_trick_helps()
    {
        using var scope = NewDisposeScope();
        // 65,536 weights in one table: many more weights than distinct bf16 values, as in any real layer.
        using var model = new TinyGpt(TestModels.Small() with { Dim = 128, MlpDim = 512, Layers = 1 }, seed: 17);
        var weight = model.blocks[0].mlp.fc.weight!.detach().clone();
        var options = new DkmOptions { Bits = 4 };
        var c0 = DkmRuns.InitialCentroids(weight, options);
        var probe = DkmRuns.Probe(weight, seed: 1);
        var dense = Peak(EDkmOptions.None, weight, c0, options, probe);
        var uniq = Peak(new EDkmOptions { Uniquify = true }, weight, c0, options, probe);
        var sharded = Peak(new EDkmOptions { Uniquify = true, Shards = 8 }, weight, c0, options, probe);
        var all = Peak(EDkmOptions.All(shards: 8), weight, c0, options, probe);
        Assert.True(uniq.Total < dense.Total, $"uniquified {uniq.Total} vs dense {dense.Total}");
        Assert.True(sharded.MaxPerWorker * 7 < uniq.Total, $"one of 8 workers holds {sharded.MaxPerWorker} of {uniq.Total}");
        Assert.True(all.Total < uniq.Total, $"de-duplicated {all.Total} vs {uniq.Total}");
        Assert.True(all.MaxPerWorker * 20 < dense.Total, $"busiest worker {all.MaxPerWorker} vs dense {dense.Total}");
    }

    [Fact]
    public void Uniquified_rows_are_the_distinct_bf16_values_and_never_more_than_65536()
    {
        using var scope = NewDisposeScope();
        // 300,000 weights of wide range: far more weights than 16-bit values.
        var weight = DkmRuns.Weight(seed: 12, rows: 300, cols: 1000, std: 1.0);
        using var clusterer = new DkmClusterer();
        var w16 = clusterer.Round(weight).reshape(1, -1);
        using var u = UniqueWeights.Of(w16);
        long distinct = unique(weight.to(ScalarType.BFloat16)).Item1.numel();
        Assert.Equal(distinct, u.Rows);
        Assert.InRange(u.Rows, 1, 65536);
        Assert.True(TestModels.Same(u.Values.index_select(0, u.LocalIndex.flatten()), w16.flatten()), "index does not give back the weights");
        Assert.Equal(weight.numel(), u.Counts.sum().item<long>());

        var grouped = clusterer.Round(weight).reshape(30, -1);                              // ten rows per table
        using var g = UniqueWeights.Of(grouped);
        for (int t = 0; t < 30; t++)
            Assert.Equal(unique(grouped[t]).Item1.numel(), g.RowsPerTable[t]);
        Assert.True(TestModels.Same(g.Expand(g.Values.unsqueeze(1)).squeeze(-1), grouped), "grouped index does not give back the weights");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Fewer_than_one_shard_is_refused_with_the_allowed_range(int shards)
    {
        var e = Assert.Throws<InvalidSettingsException>(() => new SavedTensorStore(new EDkmOptions { Shards = shards }));
        Assert.Contains("Shards must be 1 to 4096", e.Message);
    }

    [Fact]
    public void A_second_backward_through_the_same_step_gives_NaN_and_says_what_happened()
    {
        using var scope = NewDisposeScope();
        var weight = DkmRuns.Weight(seed: 1, rows: 8, cols: 8).requires_grad_(true);
        using var store = new SavedTensorStore(EDkmOptions.All());
        using var clusterer = new DkmClusterer(new DkmOptions { Bits = 2 }, store);
        var loss = clusterer.Soft(weight).square().sum();
        loss.backward(retain_graph: true);
        Assert.Null(store.Failure);
        loss.backward();                                                                    // the saved tensors are gone
        Assert.True(weight.grad!.isnan().any().item<bool>(), "the gradients of a failed backward must not look valid");
        Assert.Contains("already freed", store.Failure!.Message);
        var e = Assert.Throws<EfficientMLException>(() => clusterer.Soft(weight));     // the next step says so
        Assert.Contains("retain_graph is not supported", e.Message);
        Assert.Null(store.Failure);
    }

    [Fact]
    public void Nothing_is_saved_without_gradients()
    {
        using var scope = NewDisposeScope();
        var weight = DkmRuns.Weight(seed: 1, rows: 8, cols: 8).requires_grad_(true);
        using var store = new SavedTensorStore(EDkmOptions.All(shards: 2));
        using var clusterer = new DkmClusterer(new DkmOptions { Bits = 2 }, store);
        using (no_grad()) clusterer.Soft(weight);
        clusterer.Soft(weight.detach());
        Assert.Equal(0, store.Report.Peak.Total);
        Assert.Equal(0, store.Report.Saves);
    }
}
