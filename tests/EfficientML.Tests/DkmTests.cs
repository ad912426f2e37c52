using EfficientML.Clustering;
using EfficientML.Core;
using EfficientML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Tests;

/// <summary>Runs of the custom-function DKM step and of the plain-autograd reference, and comparisons between them.</summary>
static class DkmRuns
{
    /// <summary>Output, gradient w.r.t. the weight and gradient w.r.t. the initial centroids of loss = Σ W̃ ⊙ probe.</summary>
    public sealed record Run(Tensor Output, Tensor WeightGrad, Tensor CentroidGrad, int Iterations);

    public static Tensor Weight(long seed, long rows, long cols, double std = 0.05)
    {
        var g = new Generator((ulong)seed);
        return randn(rows, cols, generator: g) * std;
    }

    public static Tensor Probe(Tensor weight, long seed)
    {
        var g = new Generator((ulong)seed);
        return randn(weight.shape, generator: g);
    }

    /// <summary>k-means centroids for the weight, as the step would initialise them.</summary>
    public static Tensor InitialCentroids(Tensor weight, DkmOptions options)
    {
        using var clusterer = new DkmClusterer(options);
        clusterer.Initialise(weight);
        return clusterer.Centroids!.clone();
    }

    public static Run Custom(Tensor weight, Tensor c0, DkmOptions options, SavedTensorStore store, Tensor probe)
    {
        var w = weight.detach().clone().requires_grad_(true);
        var c = c0.detach().clone().requires_grad_(true);
        using var clusterer = new DkmClusterer(options, store);
        var result = clusterer.Step(w, c);
        (result.Weights * probe).sum().backward();
        return new Run(result.Weights.detach(), w.grad!.clone(), c.grad!.clone(), result.Iterations);
    }

    public static Run Reference(Tensor weight, Tensor c0, DkmOptions options, Tensor probe)
    {
        var w = weight.detach().clone().requires_grad_(true);
        var c = c0.detach().clone().requires_grad_(true);
        using var clusterer = new DkmClusterer(options);
        var (g, n) = clusterer.Layout(w);
        var result = DkmReference.Step(clusterer.Round(w).reshape(g, n), c, options);
        var output = result.Weights.view(weight.shape);
        (output * probe).sum().backward();
        return new Run(output.detach(), w.grad!.clone(), c.grad!.clone(), result.Iterations);
    }

    /// <summary>max |a − b| / max |b|.</summary>
    public static double Relative(Tensor a, Tensor b)
    {
        double scale = b.abs().max().item<float>();
        return TestModels.MaxAbsDiff(a, b) / Math.Max(scale, 1e-30);
    }

    public static void AssertSame(Run expected, Run actual, double tolerance, string what)
    {
        Assert.Equal(expected.Iterations, actual.Iterations);
        double o = Relative(actual.Output, expected.Output);
        double gw = Relative(actual.WeightGrad, expected.WeightGrad);
        double gc = Relative(actual.CentroidGrad, expected.CentroidGrad);
        Assert.True(o <= tolerance && gw <= tolerance && gc <= tolerance,
            $"{what}: relative difference output {o:G3}, weight gradient {gw:G3}, centroid gradient {gc:G3} (allowed {tolerance:G1})");
        Assert.True(expected.WeightGrad.abs().max().item<float>() > 0, $"{what}: the weight gradient is zero, nothing was tested");
        Assert.True(expected.CentroidGrad.abs().max().item<float>() > 0, $"{what}: the centroid gradient is zero, nothing was tested");
    }
}

public class DkmTests
{
    static DkmTests() => TorchThreads.Set(1);

    [Theory]
    [InlineData(1, null, 0.0)]
    [InlineData(2, null, 1e-4)]
    [InlineData(3, null, 0.0)]
    [InlineData(4, null, 1e-4)]
    [InlineData(3, 4, 0.0)]
    [InlineData(2, 2, 0.0)]
    [InlineData(8, null, 0.0)]
    public void Custom_backward_gives_the_same_output_and_gradients_as_plain_autograd(int bits, int? groupSize, double tolerance)
    {
        using var scope = NewDisposeScope();
        var options = new DkmOptions { Bits = bits, GroupSize = groupSize, Tolerance = tolerance };
        var weight = DkmRuns.Weight(seed: bits * 10 + (groupSize ?? 0), rows: 16, cols: 40);
        var probe = DkmRuns.Probe(weight, seed: 99);
        var c0 = DkmRuns.InitialCentroids(weight, options);
        using var store = new SavedTensorStore();
        var expected = DkmRuns.Reference(weight, c0, options, probe);
        var actual = DkmRuns.Custom(weight, c0, options, store, probe);
        DkmRuns.AssertSame(expected, actual, 1e-6, $"{bits} bits, group {groupSize}");
        Assert.Equal(0, store.Report.Current.Total);
        Assert.Equal(0, store.Pending);
    }

    [Fact]
    public void Custom_backward_matches_where_the_attention_floor_clamps_many_entries()
    {
        using var scope = NewDisposeScope();
        // A small temperature makes most attention entries underflow to the floor.
        var options = new DkmOptions { Bits = 3, Temperature = 1e-5, Tolerance = 0 };
        var weight = DkmRuns.Weight(seed: 5, rows: 12, cols: 30);
        var probe = DkmRuns.Probe(weight, seed: 6);
        var c0 = DkmRuns.InitialCentroids(weight, options);
        using var store = new SavedTensorStore();
        DkmRuns.AssertSame(DkmRuns.Reference(weight, c0, options, probe), DkmRuns.Custom(weight, c0, options, store, probe), 1e-6, "τ = 1e-5");
    }

    [Fact]
    public void Hard_clustering_uses_exactly_k_values_each_the_nearest_centroid()
    {
        using var scope = NewDisposeScope();
        // Eight well-separated clumps, so every centroid is used.
        var g = new Generator(3);
        var centres = tensor(new float[] { -0.3f, -0.2f, -0.1f, -0.02f, 0.05f, 0.12f, 0.2f, 0.33f });
        var which = randint(0, 8, new long[] { 32, 50 }, generator: g);
        var weight = centres[which] + randn(32, 50, generator: g) * 0.004;
        using var clusterer = new DkmClusterer(new DkmOptions { Bits = 3 });
        var hard = clusterer.Hard(weight);
        Assert.Equal(8, unique(hard).Item1.numel());
        AssertNearest(clusterer.Round(weight).reshape(1, -1), hard.reshape(1, -1), clusterer.Centroids!);
    }

    [Theory]
    [InlineData(2, null)]
    [InlineData(3, 8)]
    [InlineData(4, 4)]
    public void Hard_clustering_has_at_most_k_values_per_table_after_soft_steps(int bits, int? groupSize)
    {
        using var scope = NewDisposeScope();
        var weight = DkmRuns.Weight(seed: 11, rows: 32, cols: 24, std: 0.02);
        using var clusterer = new DkmClusterer(new DkmOptions { Bits = bits, GroupSize = groupSize });
        using (no_grad()) clusterer.Soft(weight);                                        // moves the centroids once
        var (tables, perTable) = clusterer.Layout(weight);
        var hard = clusterer.Hard(weight).reshape(tables, perTable);
        for (int t = 0; t < tables; t++)
            Assert.InRange(unique(hard[t]).Item1.numel(), 1, 1 << bits);
        AssertNearest(clusterer.Round(weight).reshape(tables, perTable), hard, clusterer.Centroids!);
    }

    static void AssertNearest(Tensor w, Tensor hard, Tensor centroids)
    {
        var best = (w.unsqueeze(-1) - centroids.unsqueeze(1)).abs().amin(new long[] { -1 });   // (G, n)
        var chosen = (w - hard).abs();
        double worst = (chosen - best).max().item<float>();
        Assert.True(worst <= 1e-7, $"a weight was given a centroid {worst:G3} farther than its nearest");
        var isCentroid = (hard.unsqueeze(-1) - centroids.unsqueeze(1)).abs().amin(new long[] { -1 }).max().item<float>();
        Assert.Equal(0f, isCentroid);
    }

    [Fact]
    public void Soft_steps_keep_the_centroids_as_the_next_start()
    {
        using var scope = NewDisposeScope();
        var weight = DkmRuns.Weight(seed: 4, rows: 16, cols: 16, std: 0.02);
        using var clusterer = new DkmClusterer(new DkmOptions { Bits = 2, Iterations = 1 });
        using (no_grad()) clusterer.Soft(weight);
        var after1 = clusterer.Centroids!.clone();
        var expected = DkmReference.Step(clusterer.Round(weight).reshape(1, -1), after1, clusterer.Options with { Iterations = 1 }).Centroids;
        using (no_grad()) clusterer.Soft(weight);
        Assert.True(TestModels.MaxAbsDiff(clusterer.Centroids!, expected) <= 1e-7);
        Assert.Equal(1, clusterer.LastIterations);
    }

    [Fact]
    public void Soft_weights_are_a_mixture_of_centroids_near_the_weights()
    {
        using var scope = NewDisposeScope();
        var weight = DkmRuns.Weight(seed: 8, rows: 32, cols: 32, std: 0.02);
        using var clusterer = new DkmClusterer(new DkmOptions { Bits = 4 });
        var soft = clusterer.Soft(weight);
        Assert.Equal(weight.shape, soft.shape);
        double error = (soft - weight).square().mean().sqrt().item<float>();
        Assert.True(error < 0.01, $"soft-clustered weights are {error:G3} RMS away from the 0.02-std weights");
        double lo = clusterer.Centroids!.min().item<float>(), hi = clusterer.Centroids!.max().item<float>();
        Assert.True(soft.min().item<float>() >= lo - 1e-6 && soft.max().item<float>() <= hi + 1e-6, "a mixture of centroids stays between them");
    }

    [Fact]
    public void Sharpness_is_the_mean_largest_attention_and_falls_as_the_temperature_rises()
    {
        using var scope = NewDisposeScope();
        var weight = DkmRuns.Weight(seed: 13, rows: 64, cols: 32, std: 0.02);
        double previous = 1.0;
        foreach (var tau in new[] { 1e-6, 1e-5, 1e-4, 1e-3 })
        {
            using var clusterer = new DkmClusterer(new DkmOptions { Bits = 3, Temperature = tau });
            double sharpness = clusterer.Sharpness(weight);
            var w = clusterer.Round(weight).reshape(1, -1, 1);
            var a = nn.functional.softmax((w - clusterer.Centroids!.unsqueeze(1)).square().div(-tau), -1).clamp_min(1e-7);
            double expected = a.amax(new long[] { -1 }).mean().item<float>();
            Assert.True(Math.Abs(sharpness - expected) <= 1e-6, $"τ {tau}: sharpness {sharpness} vs {expected} from the dense attention");
            Assert.InRange(sharpness, 1.0 / 8, previous);
            previous = sharpness;
        }
    }

    [Fact]
    public void Quantile_initialisation_and_kmeans_plus_plus_are_seeded()
    {
        using var scope = NewDisposeScope();
        var weight = DkmRuns.Weight(seed: 21, rows: 8, cols: 64);
        foreach (var init in new[] { CentroidInit.KMeansPlusPlus, CentroidInit.Quantile })
        {
            var options = new DkmOptions { Bits = 3, Init = init, KMeansIterations = 0 };
            var a = DkmRuns.InitialCentroids(weight, options);
            var b = DkmRuns.InitialCentroids(weight, options);
            Assert.True(TestModels.Same(a, b), $"{init} is not reproducible");
            Assert.Equal(new long[] { 1, 8 }, a.shape);
            Assert.True((a[0, 1..] - a[0, ..^1]).min().item<float>() > 0, $"{init} centroids are not distinct and ascending");
        }
    }

    [Theory]
    [InlineData(0, "Bits must be 1 to 8")]
    [InlineData(9, "Bits must be 1 to 8")]
    public void Bits_outside_one_to_eight_are_refused_with_the_allowed_range(int bits, string message)
    {
        var e = Assert.Throws<InvalidSettingsException>(() => new DkmClusterer(new DkmOptions { Bits = bits }));
        Assert.Contains(message, e.Message);
        Assert.Contains($"got {bits}", e.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1e-4)]
    [InlineData(double.NaN)]
    public void A_temperature_that_is_not_positive_is_refused(double tau)
    {
        var e = Assert.Throws<InvalidSettingsException>(() => new DkmOptions { Temperature = tau }.Validate());
        Assert.Contains("Temperature τ must be a positive number", e.Message);
    }

    [Fact]
    public void Other_bad_settings_name_what_is_allowed()
    {
        Assert.Contains("Iterations must be 1 to 100", Assert.Throws<InvalidSettingsException>(() => new DkmOptions { Iterations = 0 }.Validate()).Message);
        Assert.Contains("GroupSize must be a positive", Assert.Throws<InvalidSettingsException>(() => new DkmOptions { GroupSize = 0 }.Validate()).Message);
        Assert.Contains("AttentionFloor must be", Assert.Throws<InvalidSettingsException>(() => new DkmOptions { Bits = 8, AttentionFloor = 0.01 }.Validate()).Message);
        using var clusterer = new DkmClusterer(new DkmOptions { GroupSize = 5 });
        var e = Assert.Throws<InvalidSettingsException>(() => clusterer.Soft(zeros(12, 4)));
        Assert.Contains("GroupSize 5 does not divide the 12 output channels", e.Message);
    }
}

public class DkmModelTests
{
    static DkmModelTests() => TorchThreads.Set(1);

    static Mlp NewMlp(long seed)
    {
        Seeding.Everything(seed);
        return new Mlp(TestModels.Small());
    }

    [Fact]
    public void A_clustered_training_step_gives_the_gradients_of_the_model_computed_with_soft_weights()
    {
        using var scope = NewDisposeScope();
        using var a = NewMlp(5);
        using var b = NewMlp(5);
        var x = DkmRuns.Weight(seed: 3, rows: 6, cols: 32, std: 1.0);
        var options = new DkmOptions { Bits = 2 };

        // Directly: the MLP with fc's weight replaced by W̃.
        using var direct = new DkmClusterer(options);
        var soft = direct.Soft(b.fc.weight!);
        var h = nn.functional.linear(x, soft, b.fc.bias);
        nn.functional.linear(b.Activate(h), b.proj.weight!, b.proj.bias).square().sum().backward();

        using var clustered = new ClusteredLayers(a, options, layers: new[] { "fc" });
        var loss = clustered.Step(() => a.forward(x).square().sum());

        Assert.True(loss.item<float>() > 0);
        foreach (var (pa, pb) in a.parameters().Zip(b.parameters()))
            Assert.True(DkmRuns.Relative(pa.grad!, pb.grad!) <= 1e-6, $"gradient differs by {DkmRuns.Relative(pa.grad!, pb.grad!):G3}");
        Assert.True(TestModels.Same(a.fc.weight!, b.fc.weight!), "the master weight must be restored after the step");
        Assert.True(TestModels.Same(clustered["fc"].Centroids!, direct.Centroids!), "the centroids moved differently");
        Assert.Equal(0, clustered.Store.Report.Current.Total);
    }

    [Fact]
    public void Hard_weights_are_used_inside_the_scope_and_the_masters_come_back_after()
    {
        using var scope = NewDisposeScope();
        using var model = TestModels.Random(TestModels.Small(layers: 1));
        var before = model.blocks[0].attn.q_proj.weight!.detach().clone();
        using var clustered = new ClusteredLayers(model, new DkmOptions { Bits = 3 });
        Assert.Equal(6, clustered.Names.Count);                                                // q, k, v, o, fc, proj (tied head)
        using (clustered.UseHardWeights())
            foreach (var (name, module) in model.named_modules().Where(m => clustered.Names.Contains(m.name)))
                Assert.InRange(unique(((TorchSharp.Modules.Linear)module).weight!).Item1.numel(), 2, 8);
        Assert.True(TestModels.Same(model.blocks[0].attn.q_proj.weight!, before));
    }

    [Fact]
    public void A_layer_name_that_does_not_exist_is_refused_with_the_names_that_do()
    {
        using var model = TestModels.Random(TestModels.Small(layers: 1));
        var e = Assert.Throws<InvalidSettingsException>(() => new ClusteredLayers(model, layers: new[] { "blocks.9.mlp.fc" }));
        Assert.Contains("No layer named 'blocks.9.mlp.fc'", e.Message);
        Assert.Contains("blocks.0.mlp.fc", e.Message);
        var norm = Assert.Throws<InvalidSettingsException>(() => new ClusteredLayers(model, layers: new[] { "ln_f" }));
        Assert.Contains("'ln_f' is a LayerNorm, not a linear layer", norm.Message);
    }
}
