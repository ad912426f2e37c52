using EfficientML.Core;
using EfficientML.Cloning;
using EfficientML.Models;
using EfficientML.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Tests;

[Trait("Category", "Invariant")] // run under every ATen CPU capability in CI (.ci/run)
public class SubcloningTests
{
    [Theory]
    [InlineData(4, true)]
    [InlineData(2, false)]
    [InlineData(1, true)]
    public void Keeping_everything_reproduces_the_original_exactly(int kvHeads, bool tied)
    {
        using var model = TestModels.Random(TestModels.Small(kvHeads, tied));
        TestModels.Scramble(model, seed: 4);
        var calibration = TestModels.Tokens(8, 40);
        var (small, report) = Subcloning.Shrink(model, new SubcloneOptions(), calibration);
        using (small)
        {
            using var _ = no_grad();
            Assert.Equal(model.Config, small.Config);
            Assert.True(TestModels.Same(model.Forward(calibration), small.Forward(calibration)));
            Assert.Equal(report.SourceLoss, report.LossBeforeTraining);
            Assert.Equal(Enumerable.Range(0, model.Config.Dim), report.KeptDims);
        }
    }

    [Fact]
    public void The_same_most_important_dimensions_are_kept_in_every_layer()
    {
        using var model = TestModels.Random(TestModels.Small(tied: false));
        TestModels.Scramble(model, seed: 11);
        var (small, report) = Subcloning.Shrink(model, new SubcloneOptions { Dim = 16, RescaleInputs = false }, TestModels.Tokens(2, 40));
        using (small)
        {
            var expected = report.Importance.Select((v, i) => (v, i)).OrderByDescending(p => p.v).Take(16).Select(p => p.i).Order();
            Assert.Equal(expected, report.KeptDims);
            var dims = tensor(report.KeptDims.Select(i => (long)i).ToArray());
            Assert.True(TestModels.Same(small.wte.weight!, model.wte.weight!.index_select(1, dims)));
            Assert.True(TestModels.Same(small.lm_head!.weight!, model.lm_head!.weight!.index_select(1, dims)));
            for (int l = 0; l < 3; l++)
            {
                Assert.True(TestModels.Same(small.blocks[l].ln_2.weight!, model.blocks[l].ln_2.weight!.index_select(0, dims)));
                Assert.True(TestModels.Same(small.blocks[l].mlp.proj.bias!, model.blocks[l].mlp.proj.bias!.index_select(0, dims)));
            }
            Assert.Equal(16, small.Config.Dim);
            Assert.Equal(2, small.Config.Heads);
            Assert.Equal(model.Config.HeadDim, small.Config.HeadDim);
            Assert.Equal(32, small.Config.MlpDim);
        }
    }

    [Fact]
    public void Pruning_mlp_neurons_equals_masking_the_dropped_ones_in_the_original()
    {
        using var model = TestModels.Random(TestModels.Small(layers: 2));
        TestModels.Scramble(model, seed: 12);
        var tokens = TestModels.Tokens(5, 30);
        var (small, report) = Subcloning.Shrink(model, new SubcloneOptions { MlpDim = 40, RescaleInputs = false }, tokens);
        using (small)
        {
            using var _ = no_grad();
            for (int l = 0; l < 2; l++)
            {
                var dropped = Enumerable.Range(0, 64).Except(report.KeptNeurons[l]).Select(i => (long)i).ToArray();
                Assert.Equal(24, dropped.Length);
                var rows = tensor(dropped);
                model.blocks[l].mlp.fc.weight!.index_fill_(0, rows, 0.0);           // GELU(0) = 0: the neuron is silent
                model.blocks[l].mlp.fc.bias!.index_fill_(0, rows, 0.0);
            }
            double diff = TestModels.MaxAbsDiff(model.Forward(tokens), small.Forward(tokens));
            Assert.True(diff < 1e-5, $"max |Δ| {diff}");
        }
    }

    [Fact]
    public void Grouped_query_heads_are_kept_or_dropped_with_their_group()
    {
        using var model = TestModels.Random(TestModels.Small(kvHeads: 2));
        TestModels.Scramble(model, seed: 13);
        var (small, report) = Subcloning.Shrink(model, new SubcloneOptions { Dim = 16 }, TestModels.Tokens(6, 40));
        using (small)
        {
            Assert.Equal(1, small.Config.KvHeads);
            foreach (var heads in report.KeptHeads)
            {
                Assert.Equal(2, heads.Length);
                Assert.Equal(heads[0] / 2, heads[1] / 2);
                Assert.Equal(2, report.HeadImportance[0].Length);
            }
        }
    }

    [Theory]
    [InlineData(8, 6, new[] { 0, 1, 2, 5, 6, 7 })]
    [InlineData(8, 3, new[] { 0, 1, 7 })]
    [InlineData(5, 1, new[] { 0 })]
    [InlineData(4, 4, new[] { 0, 1, 2, 3 })]
    public void By_default_the_first_and_last_blocks_are_kept_and_the_middle_dropped(int layers, int keep, int[] expected) =>
        Assert.Equal(expected, Subcloning.KeptLayers(layers, new SubcloneOptions { Layers = keep }));

    [Fact]
    public void Given_block_indices_are_the_ones_kept()
    {
        using var model = TestModels.Random(TestModels.Small(layers: 3));
        var (small, report) = Subcloning.Shrink(model, new SubcloneOptions { KeepLayers = new[] { 2, 0 } }, TestModels.Tokens(6, 20));
        using (small)
        {
            Assert.Equal(new[] { 0, 2 }, report.KeptLayers);
            Assert.True(TestModels.Same(small.blocks[1].mlp.fc.weight!, model.blocks[2].mlp.fc.weight!));
        }
    }

    [Theory]
    [InlineData(20, null, "not a multiple of the head width 8")]
    [InlineData(64, null, "between 1 and the model's 32")]
    [InlineData(null, 5, "Cannot keep 5 layers of a model that has 3")]
    [InlineData(null, 0, "Cannot keep 0 layers")]
    public void Impossible_sizes_are_refused_with_the_fix(int? dim, int? layers, string message)
    {
        using var model = TestModels.Random();
        var error = Assert.Throws<InvalidSettingsException>(() => Subcloning.Shrink(model, new SubcloneOptions { Dim = dim, Layers = layers }, TestModels.Tokens(1, 10)));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void A_block_index_the_model_does_not_have_is_named()
    {
        using var model = TestModels.Random();
        var error = Assert.Throws<InvalidSettingsException>(() => Subcloning.Shrink(model, new SubcloneOptions { KeepLayers = new[] { 0, 3 } }, TestModels.Tokens(1, 10)));
        Assert.Contains("block 3", error.Message);
    }

    [Fact]
    public void A_subcloned_pretrained_model_starts_far_below_a_random_one()
    {
        using var model = PretrainedModels.LoadTinyMoby();
        var corpus = TextCorpus.MobyDick();
        using var g = new Generator(3);
        var (calibration, _) = corpus.SampleBatch(Split.Train, 8, 128, g);
        var (held, _) = corpus.SampleBatch(Split.Validation, 8, 128, g);
        var (small, report) = Subcloning.Shrink(model, new SubcloneOptions { Dim = 64, Layers = 6 }, calibration, held);
        using (small)
        {
            Assert.Equal(new[] { 0, 1, 2, 5, 6, 7 }, report.KeptLayers);
            Assert.True(report.LossBeforeTraining < report.RandomInitLoss - 1.0, report.ToString());
            Assert.True(report.SourceLoss < report.LossBeforeTraining, report.ToString());
            Assert.True(report.LayerAgreement.Average() > 0.6, $"layers agree on {report.LayerAgreement.Average():P0} of the kept dimensions");
        }
    }
}
