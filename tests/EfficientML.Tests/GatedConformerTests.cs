using EfficientML.Core;
using EfficientML.GatedConformer;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EfficientML.Tests;

[Trait("Category", "Invariant")] // run under every ATen CPU capability in CI (.ci/run)
public class GatedConformerTests
{
    readonly ITestOutputHelper output;

    public GatedConformerTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchThreads.Set(1);
    }

    static readonly GatedConformerConfig Small = new() { Mels = 20, Width = 32, Heads = 4, Blocks = 2, FeedForwardWidth = 48, AttentionContext = 6, ConvKernel = 5, GateSteps = 3, Keywords = 3 };

    static ConformerSpotter Model(GatedConformerConfig config, long seed)
    {
        Seeding.Everything(seed);
        var model = new ConformerSpotter(config);
        using var features = randn(4, config.Mels, 200).mul(3).add(-5);
        model.SetFeatureStatistics(features);
        model.eval();
        return model;
    }

    /// <summary>
    /// Gives every gate a clear decision (logit far from 0), some running and some not, so rounding cannot flip one; with
    /// <paramref name="spread"/>, probabilities spread over 0.1 … 0.9 instead (biases drawn in ±2.2), still heeding the input
    /// a little, so that thresholds between them decide differently.
    /// </summary>
    static void MixGates(ConformerSpotter model, long seed, bool spread = false)
    {
        using var _ = no_grad();
        var rng = new Random((int)seed);
        foreach (var block in model.blocks)
            foreach (var gate in block.gates)
            {
                if (!spread) gate.hidden.weight!.mul_(0.01);
                gate.output.weight!.mul_(spread ? 0.2 : 0.01);
                gate.output.bias!.fill_(spread ? rng.NextDouble() * 4.4 - 2.2 : rng.Next(2) == 0 ? -4.0 : 4.0);
            }
    }

    static double MaxDifference(float[,] streamed, Tensor whole)
    {
        var w = whole.contiguous().data<float>().ToArray();
        int rows = streamed.GetLength(0), cols = streamed.GetLength(1);
        Assert.Equal(rows * cols, w.Length);
        double max = 0;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) max = Math.Max(max, Math.Abs(streamed[r, c] - w[r * cols + c]));
        return max;
    }

    /// <summary>
    /// Gates that decide from the earlier blocks only (the current block's weights zeroed, the rest scaled up so no logit
    /// sits near 0): a stream must carry each gate's past right for its decisions to match.
    /// </summary>
    static void ContextGates(ConformerSpotter model)
    {
        using var _ = no_grad();
        int width = model.Config.Width;
        foreach (var block in model.blocks)
            foreach (var gate in block.gates)
            {
                gate.hidden.weight!.narrow(1, 0, width).zero_();
                gate.output.weight!.mul_(20);
                gate.output.bias!.zero_();
            }
    }

    [Theory]
    [InlineData(false, 1, 0, 0.5)]
    [InlineData(true, 2, 0, 0.5)]
    [InlineData(true, 3, 0, 0.5)]
    [InlineData(true, 4, 2, 0.5)]
    [InlineData(true, 5, 0, 0.3)]
    [InlineData(true, 6, 2, 0.7)]
    public void Streaming_in_random_chunks_equals_the_whole_sequence(bool gated, int seed, int gateContext, double threshold)
    {
        var config = Small with { Gated = gated, GateContext = gateContext };
        using var model = Model(config, seed);
        if (threshold != 0.5) MixGates(model, seed, spread: true);
        else if (gateContext > 0) ContextGates(model);
        else if (gated) MixGates(model, seed);
        model.GateThreshold = threshold;
        using var features = randn(config.Mels, 37 * config.FramesPerGate + 5, generator: Seeding.Generator(seed)).mul(3).add(-5);
        ConformerOutput whole;
        using (no_grad()) whole = model.Forward(features.unsqueeze(0));
        using var posteriors = whole.Logits.softmax(-1).squeeze(0);
        using var bounds = whole.Bounds.squeeze(0);
        var ranWhole = whole.Ran.squeeze(0).data<float>().ToArray();
        var rng = new Random(seed);
        foreach (var chunk in new[] { 1, config.FramesPerGate, 1000 }.Concat(Enumerable.Range(0, 5).Select(_ => rng.Next(1, 60))))
        {
            var streamed = ConformerStream.Run(model, features, chunk);
            double dp = MaxDifference(streamed.Posteriors, posteriors), db = MaxDifference(streamed.Bounds, bounds);
            output.WriteLine($"chunk {chunk,4} frames: max |Δ| posteriors {dp:E2}, bounds {db:E2}, skipped {streamed.SkippedShare:P0}");
            Assert.True(dp <= 1e-5 && db <= 1e-5, $"chunks of {chunk} frames differ from the whole sequence by {Math.Max(dp, db):E2}");
            for (int m = 0; m < config.Modules; m++)
                for (int j = 0; j < streamed.Ran.GetLength(1); j++)
                    Assert.Equal(ranWhole[m * streamed.Ran.GetLength(1) + j] > 0.5, streamed.Ran[m, j]);
        }
        if (gated)
        {
            var ran = ConformerStream.Run(model, features, 7).SkippedShare;
            Assert.InRange(ran, 0.05, 0.95);       // the mixed gates really skip some modules and run others
        }
    }

    [Fact]
    public void A_lower_gate_threshold_runs_more_modules_and_one_above_every_probability_runs_none()
    {
        using var model = Model(Small, 8);
        MixGates(model, 8, spread: true);
        using var features = randn(1, Small.Mels, 30 * Small.FramesPerGate, generator: Seeding.Generator(8));
        using var _ = no_grad();
        var probability = model.Forward(features).RunProbability!;
        double RanShare(double threshold)
        {
            model.GateThreshold = threshold;
            return model.Forward(features).Ran.mean().item<float>();
        }
        var shares = new[] { 0.1, 0.3, 0.5, 0.7, 0.9 }.Select(RanShare).ToArray();
        output.WriteLine($"modules run at thresholds 0.1 … 0.9: {string.Join(", ", shares.Select(x => x.ToString("P0")))}");
        for (int i = 1; i < shares.Length; i++) Assert.True(shares[i] <= shares[i - 1], $"threshold {0.1 + 0.2 * i:0.0} ran more modules than the one below");
        Assert.True(shares[0] > shares[^1], "the mixed gates should decide differently at 0.1 and at 0.9");
        // By hand at 0.5: a gate runs its module exactly when its probability is above one half.
        Assert.Equal(probability.gt(0.5).to_type(ScalarType.Float32).mean().item<float>(), RanShare(0.5), 6);
        double highest = probability.max().item<float>();
        Assert.Equal(0.0, RanShare(Math.Min(0.999999, highest + 1e-4)));
        foreach (var bad in new[] { 0.0, 1.0, double.NaN })
            Assert.Contains("gate threshold", Assert.Throws<InvalidSettingsException>(() => model.GateThreshold = bad).Message);
    }

    [Fact]
    public void A_gate_held_at_skip_runs_nothing_and_leaves_the_identity_path()
    {
        var config = Small;
        using var model = Model(config, 4);
        model.Gating = GateMode.Skip;
        using var features = randn(config.Mels, 20 * config.FramesPerGate, generator: Seeding.Generator(4));
        foreach (var module in model.GatedModules) module.ResetCounts();
        var streamed = ConformerStream.Run(model, features, 11);
        Assert.All(model.GatedModules, m => Assert.Equal(0, m.Calls));
        Assert.Equal(1.0, streamed.SkippedShare);
        // Identity path: each block leaves only its final LayerNorm.
        using var _ = no_grad();
        var x = model.Steps(features.unsqueeze(0));
        foreach (var block in model.blocks) x = block.final.forward(x);
        using var expected = model.classifier.forward(x).softmax(-1).squeeze(0);
        Assert.True(MaxDifference(streamed.Posteriors, expected) <= 1e-6);

        model.Gating = GateMode.Keep;
        ConformerStream.Run(model, features, 11);
        Assert.All(model.GatedModules, m => Assert.Equal(20, m.Calls));      // one call per gate block once they run
    }

    [Fact]
    public void Gates_held_at_keep_equal_the_ungated_model_exactly()
    {
        using var plain = Model(Small with { Gated = false }, 5);
        using var gated = Model(Small, 6);
        GatedExperiment.CopyShared(plain, gated);
        gated.Gating = GateMode.Keep;
        using var features = randn(3, Small.Mels, 30 * Small.FramesPerGate, generator: Seeding.Generator(5));
        using var _ = no_grad();
        var a = plain.Forward(features);
        var b = gated.Forward(features);
        Assert.Equal(0.0, (a.Logits - b.Logits).abs().max().item<float>());
        Assert.Equal(0.0, (a.Bounds - b.Bounds).abs().max().item<float>());
        var sa = ConformerStream.Run(plain, features[0], 13);
        var sb = ConformerStream.Run(gated, features[0], 13);
        Assert.Equal(sa.Posteriors.Cast<float>(), sb.Posteriors.Cast<float>());
    }

    [Fact]
    public void Bad_sizes_get_one_clear_message()
    {
        using var model = Model(Small, 7);
        using var features = randn(Small.Mels, 100);
        Assert.Contains("at least one frame", Assert.Throws<InvalidSettingsException>(() => ConformerStream.Run(model, features, 0)).Message);
        using var tooShort = randn(Small.Mels, Small.FramesPerGate - 1);
        Assert.Contains("longer recording", Assert.Throws<InvalidSettingsException>(() => ConformerStream.Run(model, tooShort, 4)).Message);
        Assert.Contains("from 0 to 1", Assert.Throws<InvalidSettingsException>(() => new GatedTrainingOptions { CostTarget = 1.5 }.Validate(Small)).Message);
        Assert.Contains("multiple of Heads", Assert.Throws<InvalidSettingsException>(() => new GatedConformerConfig { Width = 30, Heads = 4 }.Validate()).Message);
        Assert.Contains("GateContext must be 0 to 64 (got -1)", Assert.Throws<InvalidSettingsException>(() => new GatedConformerConfig { GateContext = -1 }.Validate()).Message);
    }
}
