using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Speculative;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Tests;

[Trait("Category", "Invariant")] // run under every ATen CPU capability in CI (.ci/run)
public class SpeculativeDecodingTests
{
    static TinyGpt Target(long seed = 21, int layers = 4)
    {
        var model = TestModels.Random(TestModels.Small(layers: layers), seed);
        TestModels.Scramble(model, seed);
        return model;
    }

    /// <summary>Accelerators with random (non-zero) weights, so the fast stream really differs from the slow one.</summary>
    static AcceleratorAdapters RandomAdapters(TinyGpt model, long seed)
    {
        var adapters = AcceleratorAdapters.For(model, rank: 8, seed: seed);
        using var _ = no_grad();
        var g = new Generator((ulong)seed);
        foreach (var a in adapters.adapters) a.up.weight!.copy_(randn(a.up.weight.shape, generator: g) * 0.5);
        return adapters;
    }

    static int[] Prompt(long seed, int length) => TestModels.Tokens(seed, length).data<long>().Select(t => (int)t).ToArray();

    [Fact]
    public void Greedy_speculation_equals_plain_greedy_for_every_gamma_and_exit_layer_with_and_without_adapters()
    {
        using var target = Target();
        using var adapters = RandomAdapters(target, 3);
        int rejectedRounds = 0, acceptedDrafts = 0;
        for (int k = 1; k < target.Config.Layers; k++)
            for (int gamma = 1; gamma <= 8; gamma++)
                foreach (var withAdapters in new[] { false, true })
                {
                    // The prompt plus the new tokens exceed the 48-token context, so the window slides as well.
                    var prompt = Prompt(100 + gamma * 7 + k, 5 + gamma);
                    var plain = target.Generate(prompt, new GenerationOptions { MaxNewTokens = 60 });
                    var decoder = new SpeculativeDecoder(target, new SelfDrafter(k, withAdapters ? adapters : null));
                    var result = decoder.Generate(prompt, new SpeculationOptions { MaxNewTokens = 60, Gamma = gamma });
                    Assert.Equal(plain, result.Tokens);
                    rejectedRounds += result.Rounds.Count(r => r.Accepted < r.Drafted);
                    acceptedDrafts += result.Rounds.Sum(r => r.Accepted);
                }
        Assert.True(rejectedRounds > 100, $"only {rejectedRounds} rounds rolled back");
        Assert.True(acceptedDrafts > 0, "no draft was ever accepted");
    }

    [Fact]
    public void Greedy_speculation_on_the_pretrained_model_accepts_drafts_and_still_equals_plain_greedy()
    {
        var model = PretrainedModels.LoadTinyMoby();
        var prompt = new Text.ByteTokenizer().Encode("Call me Ishmael. Some years ago");
        var plain = model.Generate(prompt, new GenerationOptions { MaxNewTokens = 80 });
        foreach (var (k, gamma, adaptive) in new[] { (4, 3, false), (6, 2, false), (2, 4, true) })
        {
            var result = new SpeculativeDecoder(model, new SelfDrafter(k)).Generate(prompt,
                new SpeculationOptions { MaxNewTokens = 80, Gamma = gamma, AdaptiveGamma = adaptive });
            Assert.Equal(plain, result.Tokens);
            Assert.Contains(result.Rounds, r => r.Accepted == r.Drafted && r.Drafted > 0);
            Assert.Contains(result.Rounds, r => r.Accepted < r.Drafted);
            Assert.Equal(result.Stream.Count, result.Rounds.Sum(r => r.Emitted));
        }
    }

    [Fact]
    public void Two_model_speculation_equals_plain_greedy()
    {
        using var target = Target(31);
        using var draft = Target(32, layers: 1);
        var drafter = new ModelDrafter(draft);
        var decoder = new SpeculativeDecoder(target, drafter);
        foreach (var gamma in new[] { 1, 3, 8 })
        {
            var prompt = Prompt(40 + gamma, 9);
            var plain = target.Generate(prompt, new GenerationOptions { MaxNewTokens = 70 });
            Assert.Equal(plain, decoder.Generate(prompt, new SpeculationOptions { MaxNewTokens = 70, Gamma = gamma }).Tokens);
        }
        // The target drafting for itself: every draft is accepted.
        var self = new SpeculativeDecoder(target, new ModelDrafter(target)).Generate(Prompt(5, 4), new SpeculationOptions { MaxNewTokens = 30, Gamma = 4 });
        Assert.Equal(1.0, self.AcceptanceRate);
    }

    [Fact]
    public void Kv_cache_after_speculation_equals_the_cache_of_plain_decoding()
    {
        using var target = Target(41);
        using var adapters = RandomAdapters(target, 4);
        var prompt = Prompt(7, 6);
        using var cache = target.CreateCache();
        var result = new SpeculativeDecoder(target, new SelfDrafter(2, adapters)).Generate(prompt,
            new SpeculationOptions { MaxNewTokens = 30, Gamma = 5 }, cache: cache);
        Assert.Contains(result.Rounds, r => r.Accepted < r.Drafted);
        var all = prompt.Concat(result.Tokens).ToArray();
        // The cache holds every token but the newest, as after plain decoding, which feeds one token at a time.
        using var plain = target.CreateCache();
        using (no_grad())
            for (int i = 0; i < all.Length - 1; i++)
                target.Forward(tensor(new long[] { all[i] }).unsqueeze(0), plain);
        Assert.Equal(all.Length - 1, cache.Length);
        for (int l = 0; l < target.Config.Layers; l++)
        {
            Assert.Equal(plain.LayerLength(l), cache.LayerLength(l));
            var (k1, v1) = cache.Layer(l);
            var (k2, v2) = plain.Layer(l);
            Assert.True(TestModels.MaxAbsDiff(k1, k2) < 1e-4, $"keys of layer {l} differ");
            Assert.True(TestModels.MaxAbsDiff(v1, v2) < 1e-4, $"values of layer {l} differ");
        }
    }

    [Fact]
    public void Zero_initialised_accelerators_draft_exactly_what_early_exit_drafts()
    {
        using var target = Target(51);
        using var adapters = AcceleratorAdapters.For(target);
        var prompt = Prompt(9, 7);
        var options = new SpeculationOptions { MaxNewTokens = 25, Gamma = 3 };
        var early = new SpeculativeDecoder(target, new SelfDrafter(2)).Generate(prompt, options);
        var m2r2 = new SpeculativeDecoder(target, new SelfDrafter(2, adapters)).Generate(prompt, options);
        Assert.Equal(early.Rounds.Select(r => r.Accepted), m2r2.Rounds.Select(r => r.Accepted));
    }

    [Fact]
    public void Sampling_acceptance_rule_emits_tokens_with_the_target_distribution()
    {
        // p and q differ a lot; whatever q proposes, the first emitted token must follow p exactly.
        var p = tensor(new float[] { 0.5f, 0.2f, 0.15f, 0.1f, 0.05f });
        var q = tensor(new float[] { 0.05f, 0.1f, 0.2f, 0.25f, 0.4f });
        var g = new Generator(11);
        var counts = new int[5];
        const int n = 20000;
        for (int i = 0; i < n; i++)
        {
            int draft = SpeculativeSampling.Draw(q, g);
            var (accepted, next) = SpeculativeSampling.AcceptSampled(new[] { draft }, stack(new[] { p, p }), q.unsqueeze(0), g);
            counts[accepted == 1 ? draft : next]++;
        }
        var expected = p.data<float>().Select(x => x * n).ToArray();
        double chi2 = counts.Select((c, i) => (c - expected[i]) * (c - expected[i]) / expected[i]).Sum();
        Assert.True(chi2 < 18.47, $"χ² = {chi2:F1} with 4 degrees of freedom (p < 0.001 above 18.47); counts {string.Join(",", counts)}");
    }

    [Fact]
    public void Speculative_sampling_keeps_the_distribution_of_whole_continuations()
    {
        // A 4-token vocabulary, so every two-token continuation can be counted and its exact probability computed.
        var config = TestModels.Small(layers: 2) with { VocabSize = 4 };
        using var target = TestModels.Random(config, 61);
        TestModels.Scramble(target, 61);
        var prompt = new[] { 1, 2, 3 };
        var exact = new double[16];
        using (no_grad())
        {
            var first = target.Forward(tensor(new long[] { 1, 2, 3 }).unsqueeze(0))[0, -1].softmax(-1);
            for (int a = 0; a < 4; a++)
            {
                var second = target.Forward(tensor(new long[] { 1, 2, 3, a }).unsqueeze(0))[0, -1].softmax(-1);
                for (int b = 0; b < 4; b++) exact[a * 4 + b] = first[a].item<float>() * second[b].item<float>();
            }
        }
        var decoder = new SpeculativeDecoder(target, new SelfDrafter(1));
        var counts = new int[16];
        const int n = 3000;
        for (int s = 0; s < n; s++)
        {
            var t = decoder.Generate(prompt, new SpeculationOptions { MaxNewTokens = 2, Gamma = 2, Temperature = 1, Seed = s }).Tokens;
            counts[t[0] * 4 + t[1]]++;
        }
        double chi2 = 0;
        for (int i = 0; i < 16; i++) chi2 += (counts[i] - exact[i] * n) * (counts[i] - exact[i] * n) / (exact[i] * n);
        Assert.True(chi2 < 37.7, $"χ² = {chi2:F1} with 15 degrees of freedom (p < 0.001 above 37.7)");
    }

    [Fact]
    public void Bad_settings_each_get_one_clear_message()
    {
        using var target = Target(71);
        var decoder = new SpeculativeDecoder(target, new SelfDrafter(2));
        var gamma = Assert.Throws<InvalidSettingsException>(() => decoder.Generate(new[] { 1 }, new SpeculationOptions { Gamma = 0 }));
        Assert.Contains("at least 1", gamma.Message);
        foreach (var k in new[] { 0, 4, -1 })
        {
            var e = Assert.Throws<InvalidSettingsException>(() => new SpeculativeDecoder(target, new SelfDrafter(k)));
            Assert.Contains("1..3", e.Message);
        }
        var longPrompt = Assert.Throws<InvalidSettingsException>(() => decoder.Generate(Enumerable.Repeat(1, 49).ToArray()));
        Assert.Contains("at most 48", longPrompt.Message);
        Assert.Throws<InvalidSettingsException>(() => decoder.Generate(Array.Empty<int>()));
        using var narrow = new AcceleratorAdapters(16, 2, rank: 4);
        var width = Assert.Throws<InvalidSettingsException>(() => new SpeculativeDecoder(target, new SelfDrafter(2, narrow)));
        Assert.Contains("width", width.Message);
        using var otherVocab = TestModels.Random(TestModels.Small() with { VocabSize = 100 });
        Assert.Throws<InvalidSettingsException>(() => new SpeculativeDecoder(target, new ModelDrafter(otherVocab)));
    }
}

public class SpeculationMathTests
{
    [Fact]
    public void Expected_tokens_per_round_runs_from_one_to_gamma_plus_one()
    {
        Assert.Equal(1, SpeculationMath.ExpectedTokensPerRound(0, 4), 12);
        Assert.Equal(5, SpeculationMath.ExpectedTokensPerRound(1, 4), 12);
        Assert.Equal(1 + 0.5 + 0.25, SpeculationMath.ExpectedTokensPerRound(0.5, 2), 12);
        // Free drafts and a verification as cheap as one step: the speed-up is the yield itself.
        Assert.Equal(1.75, SpeculationMath.PredictedSpeedUp(0.5, 2, 0, 1), 12);
        Assert.Throws<InvalidSettingsException>(() => SpeculationMath.ExpectedTokensPerRound(1.5, 2));
    }
}
