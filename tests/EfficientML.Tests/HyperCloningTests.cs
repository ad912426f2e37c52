using EfficientML.Core;
using EfficientML.Cloning;
using EfficientML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Tests;

[Trait("Category", "Invariant")] // run under every ATen CPU capability in CI (.ci/run)
public class HyperCloningTests
{
    /// <summary>Random configurations: width factor 2-4, 1-4 key/value groups, grouped-query or not, tied or untied, with or without noise.</summary>
    public static IEnumerable<object[]> Configurations()
    {
        var random = new Random(2024);
        for (int i = 0; i < 14; i++)
        {
            int headDim = new[] { 4, 8 }[random.Next(2)];
            int kvHeads = random.Next(1, 4);
            int group = new[] { 1, 1, 2, 3 }[random.Next(4)];
            var config = new TinyGptConfig
            {
                VocabSize = 40 + random.Next(60), ContextLength = 24, Layers = random.Next(1, 4),
                Heads = kvHeads * group, KvHeads = kvHeads, Dim = kvHeads * group * headDim,
                MlpDim = 8 * random.Next(1, 9), TiedHead = random.Next(2) == 0,
            };
            int factor = 2 + i % 3;
            double? noise = i % 2 == 0 ? null : 5 + random.Next(15);
            yield return new object[] { config.ToJson(), factor, noise! };
        }
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Expanded_model_computes_the_same_logits(string configJson, int factor, double? noiseDb)
    {
        var config = TinyGptConfig.FromJson(configJson);
        using var model = TestModels.Random(config, seed: factor * 31 + config.Dim);
        TestModels.Scramble(model, seed: 5);
        var probe = TestModels.Tokens(3, 20, config.VocabSize);
        var (grown, report) = HyperCloning.Expand(model, factor, new HyperCloneOptions { NoiseSnrDb = noiseDb, Probe = probe });
        using (grown)
        {
            using var _ = no_grad();
            var expected = model.Forward(probe);
            var actual = grown.Forward(probe);
            double diff = TestModels.MaxAbsDiff(expected, actual);
            double scale = expected.abs().max().item<float>();
            Assert.True(scale > 1, $"the test model's logits are too small to test anything (max {scale})");
            Assert.True(diff <= 1e-4 && diff / scale <= 1e-5, $"max |Δ| {diff}, relative {diff / scale} for {config} ×{factor}, noise {noiseDb}");
            Assert.Equal(diff, report.MaxLogitDifference, 6);
            Assert.True(report.PreservesFunction);
            Assert.Equal(config.Dim * factor, grown.Config.Dim);
            Assert.Equal(config.Heads * factor, grown.Config.Heads);
            Assert.Equal(config.KvHeads * factor, grown.Config.KvHeads);
            Assert.Equal(config.HeadDim, grown.Config.HeadDim);
            Assert.Equal(config.MlpDim * factor, grown.Config.MlpDim);
            Assert.Equal(grown.Config.ParameterCount, report.ParametersAfter);
            Assert.Equal(config.Layers + 1, report.Layers.Count);
        }
    }

    [Fact]
    public void Noise_makes_the_copies_differ_at_the_requested_level_while_their_sum_is_kept()
    {
        using var model = TestModels.Random(TestModels.Small());
        TestModels.Scramble(model, seed: 9);
        var (grown, _) = HyperCloning.Expand(model, 2, new HyperCloneOptions { NoiseSnrDb = 10 });
        using (grown)
        {
            var w = model.blocks[0].mlp.fc.weight!;                  // (m, d)
            var g = grown.blocks[0].mlp.fc.weight!;                  // (2m, 2d)
            long m = w.shape[0], d = w.shape[1];
            var left = g.narrow(0, 0, m).narrow(1, 0, d);
            var right = g.narrow(0, 0, m).narrow(1, d, d);
            Assert.True(TestModels.MaxAbsDiff(left + right, w) < 1e-6, "the two input copies must still sum to the original weight");
            var noise = left - w / 2;
            double snr = 10 * Math.Log10((w / 2).square().mean().item<float>() / noise.square().mean().item<float>());
            Assert.InRange(snr, 9.0, 11.0);
        }
    }

    [Fact]
    public void Without_noise_every_block_of_a_weight_is_the_original_divided_by_the_factor()
    {
        using var model = TestModels.Random(TestModels.Small());
        var (grown, _) = HyperCloning.Expand(model, 3);
        using (grown)
        {
            var w = model.blocks[1].attn.o_proj.weight!;
            var g = grown.blocks[1].attn.o_proj.weight!;
            long r = w.shape[0], c = w.shape[1];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    Assert.True(TestModels.Same(g.narrow(0, i * r, r).narrow(1, j * c, c), w / 3));
            Assert.True(TestModels.Same(grown.wte.weight!.narrow(1, 2 * model.Config.Dim, model.Config.Dim), model.wte.weight!), "embeddings are tiled, not divided");
        }
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.0)]
    [InlineData(-2.0)]
    [InlineData(2.5)]
    [InlineData(double.NaN)]
    public void A_factor_that_is_not_an_integer_of_two_or_more_is_refused_with_the_reason(double factor)
    {
        using var model = TestModels.Random();
        var error = Assert.Throws<InvalidSettingsException>(() => HyperCloning.Expand(model, factor));
        Assert.Contains("integer width factor of 2 or more", error.Message);
    }

    [Fact]
    public void Growing_the_pretrained_model_keeps_its_validation_loss()
    {
        using var model = PretrainedModels.LoadTinyMoby();
        var corpus = EfficientML.Text.TextCorpus.MobyDick();
        double before = LanguageModelTraining.Evaluate(model, corpus, maxBatches: 1, batchSize: 4);
        var (grown, report) = HyperCloning.Expand(model, 2, new HyperCloneOptions { NoiseSnrDb = 10 });
        using (grown)
        {
            double after = LanguageModelTraining.Evaluate(grown, corpus, maxBatches: 1, batchSize: 4);
            Assert.Equal(before, after, 4);
            Assert.True(report.PreservesFunction, report.ToString());
        }
    }
}
