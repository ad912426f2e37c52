using EfficientML.Core;
using EfficientML.Reparam;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EfficientML.Tests;

[Trait("Category", "Invariant")] // run under every ATen CPU capability in CI (.ci/run)
public class RepCnnTests
{
    const double Tolerance = 1e-5; // relative to the logits' scale (ReparameterizationReport.Tolerance)
    readonly ITestOutputHelper output;

    public RepCnnTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchThreads.Set(1);
    }

    /// <summary>Sets every batch norm's running statistics and affine parameters to random values far from their defaults.</summary>
    internal static void RandomiseBatchNorms(nn.Module model, long seed)
    {
        using var _ = no_grad();
        var g = new Generator((ulong)seed);
        foreach (var (_, m) in model.named_modules())
            if (m is BatchNorm1d bn)
            {
                long n = bn.running_mean!.shape[0];
                using var mean = randn(n, generator: g) * 0.5;
                using var variance = (randn(n, generator: g) * 0.7).exp();      // 0.1 … 10
                using var gamma = randn(n, generator: g) * 0.6 + 1;
                using var beta = randn(n, generator: g) * 0.5;
                bn.running_mean!.copy_(mean);
                bn.running_var!.copy_(variance);
                bn.weight!.copy_(gamma);
                bn.bias!.copy_(beta);
            }
    }

    static Tensor Features(long seed, int batch, int channels, int frames) =>
        randn([batch, channels, frames], generator: new Generator((ulong)seed));

    [Theory]
    [InlineData(8, 8, 3, 1, 1, 1)]      // identity branch
    [InlineData(8, 16, 5, 1, 1, 1)]     // in ≠ out
    [InlineData(16, 16, 7, 2, 1, 1)]    // in == out but strided: no identity
    [InlineData(12, 12, 5, 1, 2, 1)]    // dilated, identity
    [InlineData(8, 8, 5, 1, 1, 8)]      // depthwise, identity
    [InlineData(12, 12, 3, 2, 2, 12)]   // depthwise, strided, dilated
    [InlineData(6, 12, 7, 1, 1, 3)]     // grouped, in ≠ out
    [InlineData(16, 16, 5, 1, 2, 4)]    // grouped, dilated, identity
    public void Folded_block_computes_the_same_outputs(int inChannels, int outChannels, int kernel, int stride, int dilation, int groups)
    {
        using var block = new RepBlock(inChannels, outChannels, kernel, stride, dilation, groups);
        RandomiseBatchNorms(block, seed: kernel * 100 + groups);
        block.eval();
        using var _ = no_grad();
        double gap = 0;
        var inputs = new[] { Features(1, 3, inChannels, 37), Features(2, 1, inChannels, 4) };
        var before = inputs.Select(x => block.forward(x)).ToArray();
        block.Reparameterize();
        Assert.True(block.IsReparameterized);
        for (int i = 0; i < inputs.Length; i++)
        {
            using var after = block.forward(inputs[i]);
            Assert.Equal(before[i].shape, after.shape);
            Assert.Equal(block.OutputFrames((int)inputs[i].shape[2]), (int)after.shape[2]);
            gap = Math.Max(gap, TestModels.MaxRelativeDiff(before[i], after));
        }
        output.WriteLine($"block {inChannels}→{outChannels} k{kernel} s{stride} d{dilation} g{groups}: max |Δ| / max |output| = {gap:E2}");
        Assert.True(gap <= Tolerance, $"max |Δ| / max |output| = {gap}");
    }

    [Fact]
    public void Folded_branches_sum_to_the_deploy_kernel()
    {
        using var block = new RepBlock(8, 8, 5, groups: 2);
        RandomiseBatchNorms(block, seed: 3);
        block.eval();
        var kernels = block.FoldedBranches();
        Assert.NotNull(kernels.Narrow);
        Assert.NotNull(kernels.Identity);
        Assert.Equal(3, kernels.Branches.Count);
        for (int o = 0; o < 8; o++)
            for (int i = 0; i < 4; i++)
                for (int tap = 0; tap < 5; tap++)
                {
                    if (tap != 2) Assert.Equal(0f, kernels.Narrow!.At(o, i, tap));            // only the centre tap
                    if (tap != 2 || i != o % 4) Assert.Equal(0f, kernels.Identity!.At(o, i, tap)); // one-hot: own channel, centre
                }
        var folded = kernels.Folded;
        block.Reparameterize();
        using var weight = block.FoldedConv!.weight!.detach();
        using var bias = block.FoldedConv.bias!.detach();
        var w = weight.data<float>().ToArray();
        var b = bias.data<float>().ToArray();
        Assert.Equal(w.Length, folded.Weight.Length);
        Assert.True(w.Zip(folded.Weight).Max(p => Math.Abs(p.First - p.Second)) <= 1e-6);
        Assert.True(b.Zip(folded.Bias).Max(p => Math.Abs(p.First - p.Second)) <= 1e-6);
        Assert.Contains("before Reparameterize", Assert.Throws<EfficientMLException>(() => block.FoldedBranches()).Message);
    }

    static RepCnnConfig Small(BranchSet branches = BranchSet.MultiBranch) => new()
    {
        Classes = 5, Channels = [16, 24, 24, 32], KernelSize = 5, Strides = [1, 2, 1, 2], Dilations = [1, 1, 2, 1], Branches = branches,
    };

    /// <summary>A few Adam steps on random features and labels: weights and batch-norm statistics move away from their start.</summary>
    internal static void TrainBriefly(nn.Module<Tensor, Tensor> model, int classes, int steps = 4, long seed = 5)
    {
        model.train();
        var g = new Generator((ulong)seed);
        using var optimizer = optim.Adam(model.parameters(), lr: 0.01);
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var x = randn([8, 40, 50], generator: g);
            var y = randint(0, classes, [8], generator: g, dtype: int64);
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.forward(x), y).backward();
            optimizer.step();
        }
    }

    [Fact]
    public void Folded_model_computes_the_same_logits_after_training()
    {
        using var model = new RepCnn(Small(), seed: 11);
        TrainBriefly(model, 5);
        model.eval();
        using var _ = no_grad();
        var inputs = new[] { Features(7, 4, 40, 98), Features(8, 1, 40, 23), Features(9, 2, 40, 1) };
        var before = inputs.Select(x => model.forward(x)).ToArray();
        long trainingParameters = model.ParameterCount;
        model.Reparameterize();
        double gap = inputs.Select((x, i) => { using var after = model.forward(x); return TestModels.MaxRelativeDiff(before[i], after); }).Max();
        output.WriteLine($"RepCnn after training: max |Δ| / max |logit| = {gap:E2}; parameters {trainingParameters} → {model.ParameterCount}");
        Assert.True(gap <= Tolerance, $"max |Δ| / max |logit| = {gap}");
        Assert.True(model.IsReparameterized);
        Assert.True(model.ParameterCount < trainingParameters);
    }

    [Fact]
    public void Reparameterize_refuses_in_training_mode()
    {
        using var model = new RepCnn(Small(), seed: 1);
        model.train();
        var e = Assert.Throws<EfficientMLException>(() => model.Reparameterize());
        Assert.Contains("call model.eval() first: folding uses the batch-norm running statistics", e.Message);
        Assert.False(model.IsReparameterized);
        var block = model.blocks[0];
        Assert.Equal(e.Message, Assert.Throws<EfficientMLException>(() => block.Reparameterize()).Message);
        Assert.Equal(e.Message, Assert.Throws<EfficientMLException>(() => block.FoldedBranches()).Message);
    }

    [Fact]
    public void Folding_is_all_or_nothing_when_one_block_is_still_training()
    {
        using var model = new RepCnn(Small(), seed: 1);
        model.eval();
        model.blocks[2].train(); // a half-evaluated model: every block before it would fold
        var e = Assert.Throws<EfficientMLException>(() => model.Reparameterize());
        Assert.Contains("(blocks.2 is)", e.Message);
        Assert.All(model.blocks, b => Assert.False(b.IsReparameterized));
    }

    [Fact]
    public void A_model_with_nan_statistics_is_neither_folded_nor_evaluated()
    {
        using var model = new RepCnn(Small(), seed: 1);
        model.eval();
        using (no_grad()) model.named_buffers().Single(b => b.name == "blocks.1.bn_k.running_var").buffer[3] = float.NaN;
        var fold = Assert.Throws<EfficientMLException>(() => model.Reparameterize());
        Assert.Contains("Cannot fold this model: its blocks.1.bn_k.running_var holds NaN", fold.Message);
        Assert.All(model.blocks, b => Assert.False(b.IsReparameterized));
        using var features = new Audio.KeywordFeatures(Features(3, 4, 40, 30), tensor(new long[] { 0, 1, 2, 3 }));
        var evaluate = Assert.Throws<EfficientMLException>(() => KeywordSpotting.KeywordSpotterTraining.Evaluate(model, features));
        Assert.Contains("Cannot evaluate this model", evaluate.Message);
    }

    [Fact]
    public void Folded_model_has_one_conv_per_block_and_fewer_parameters()
    {
        using var model = new RepCnn(Small(), seed: 2);
        long before = model.ParameterCount;
        Assert.Equal(KeywordSpotterCost.Of(model.Config).Parameters, before);
        model.eval();
        model.Reparameterize();
        foreach (var block in model.blocks)
        {
            var modules = block.named_modules().Select(m => m.module).ToList();
            Assert.Single(modules.OfType<Conv1d>());
            Assert.Empty(modules.OfType<BatchNorm1d>());
            Assert.Equal(2, block.named_parameters().Count());                 // reparam.weight, reparam.bias
        }
        Assert.True(model.ParameterCount < before);
        Assert.Equal(KeywordSpotterCost.Of(model.Config, reparameterized: true).Parameters, model.ParameterCount);
    }

    [Fact]
    public void Single_branch_model_folds_to_the_same_deploy_graph()
    {
        using var multi = new RepCnn(Small(BranchSet.MultiBranch), seed: 3);
        using var single = new RepCnn(Small(BranchSet.SingleBranch), seed: 3);
        Assert.True(single.ParameterCount < multi.ParameterCount);
        Assert.Equal(KeywordSpotterCost.Of(single.Config).Parameters, single.ParameterCount);
        multi.eval();
        single.eval();
        multi.Reparameterize();
        single.Reparameterize();
        var a = multi.named_parameters().Select(p => (p.name, string.Join("×", p.parameter.shape))).ToList();
        var b = single.named_parameters().Select(p => (p.name, string.Join("×", p.parameter.shape))).ToList();
        Assert.Equal(a, b);
        Assert.Equal(KeywordSpotterCost.Of(multi.Config, true), KeywordSpotterCost.Of(single.Config, true) with { Model = KeywordSpotterCost.Of(multi.Config, true).Model });
    }

    [Fact]
    public void Costs_follow_the_memory_model()
    {
        var config = new RepCnnConfig { Mels = 4, Classes = 2, Channels = [4], KernelSize = 3, Strides = [1] };
        var training = KeywordSpotterCost.Of(config, frames: 10);
        var deploy = KeywordSpotterCost.Of(config, reparameterized: true, frames: 10);
        Assert.Equal(4 * 4 * 3 * 10 + 4 * 4 * 10 + 4 * 2, training.Macs);           // k-wide + 1-wide + classifier
        Assert.Equal(4 * 4 * 3 * 10 + 4 * 2, deploy.Macs);
        Assert.Equal((40 + 3 * 40) * 4, training.PeakActivationBytes);              // input + three branch outputs
        Assert.Equal((40 + 40) * 4, deploy.PeakActivationBytes);
        var defaults = new RepCnnConfig();
        foreach (var cost in new[] { KeywordSpotterCost.Of(defaults), KeywordSpotterCost.Of(defaults with { Branches = BranchSet.SingleBranch }),
                     KeywordSpotterCost.Of(defaults, reparameterized: true) })
            output.WriteLine($"{cost.Model}: {cost.Parameters:N0} parameters, {cost.Macs:N0} MACs per second, peak {cost.PeakActivationBytes:N0} bytes");
    }

    [Fact]
    public void Bad_configuration_and_input_give_clear_errors()
    {
        Assert.Contains("odd", Assert.Throws<InvalidSettingsException>(() => new RepCnnConfig { KernelSize = 4 }.Validate()).Message);
        Assert.Contains("Strides has 2 entries", Assert.Throws<InvalidSettingsException>(() => new RepCnnConfig { Strides = [1, 2] }.Validate()).Message);
        Assert.Contains("groups", Assert.Throws<InvalidSettingsException>(() => new RepBlock(6, 8, 3, groups: 4)).Message);
        using var model = new RepCnn(Small(), seed: 4);
        Assert.Contains("(batch, 40, frames", Assert.Throws<InvalidSettingsException>(() => model.forward(zeros(2, 32, 50))).Message);
        Assert.Equal(Small(), RepCnnConfig.FromJson(Small().ToJson()));
    }
}
