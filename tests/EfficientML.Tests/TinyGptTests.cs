using EfficientML.Core;
using EfficientML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Tests;

public class TinyGptTests
{
    [Theory]
    [InlineData(4, true)]
    [InlineData(2, true)]   // grouped-query attention
    [InlineData(1, false)]  // multi-query, untied head
    public void Cached_forward_in_pieces_gives_the_same_logits_as_one_full_pass(int kvHeads, bool tied)
    {
        using var model = TestModels.Random(TestModels.Small(kvHeads, tied));
        using var _ = no_grad();
        var tokens = TestModels.Tokens(1, 40);
        var full = model.Forward(tokens);
        using var cache = model.CreateCache();
        var pieces = new[] { (0, 17), (17, 1), (18, 5), (23, 1), (24, 16) }
            .Select(p => model.Forward(tokens.narrow(1, p.Item1, p.Item2), cache)).ToList();
        var stitched = cat(pieces, 1);
        Assert.Equal(40, cache.Length);
        Assert.True(TestModels.MaxAbsDiff(full, stitched) < 1e-5, $"max |Δ| = {TestModels.MaxAbsDiff(full, stitched)}");
    }

    [Fact]
    public void Greedy_generation_with_the_cache_equals_generation_without_it()
    {
        using var model = TestModels.Random();
        var prompt = new[] { 67, 97, 108, 108, 32, 109, 101 };
        var cached = model.Generate(prompt, new GenerationOptions { MaxNewTokens = 30, UseCache = true });
        var uncached = model.Generate(prompt, new GenerationOptions { MaxNewTokens = 30, UseCache = false });
        Assert.Equal(uncached, cached);
        Assert.Equal(30, cached.Length);
    }

    [Fact]
    public void Sampled_generation_is_the_same_with_and_without_the_cache_for_the_same_seed()
    {
        using var model = TestModels.Random();
        var options = new GenerationOptions { MaxNewTokens = 25, Temperature = 1.0, TopK = 20, Seed = 99 };
        var a = model.Generate([1, 2, 3], options);
        var b = model.Generate([1, 2, 3], options with { UseCache = false });
        var c = model.Generate([1, 2, 3], options with { Seed = 100 });
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Top_k_of_one_is_greedy()
    {
        using var model = TestModels.Random();
        var greedy = model.Generate([5, 6, 7], new GenerationOptions { MaxNewTokens = 15 });
        var topOne = model.Generate([5, 6, 7], new GenerationOptions { MaxNewTokens = 15, Temperature = 0.7, TopK = 1 });
        Assert.Equal(greedy, topOne);
    }

    [Fact]
    public void Generation_beyond_the_context_slides_the_cache_window_and_keeps_going()
    {
        using var model = TestModels.Random();
        var produced = model.Generate([1, 2, 3], new GenerationOptions { MaxNewTokens = 120 }); // context is 48
        Assert.Equal(120, produced.Length);
    }

    [Fact]
    public void Generation_reports_each_token_and_stops_when_cancelled()
    {
        using var model = TestModels.Random();
        using var cts = new CancellationTokenSource();
        var seen = new List<int>();
        var produced = model.Generate([1, 2], new GenerationOptions { MaxNewTokens = 40 }, t =>
        {
            seen.Add(t);
            if (seen.Count == 4) cts.Cancel();
        }, cts.Token);
        Assert.Equal(4, produced.Length);
        Assert.Equal(produced, seen);
    }

    [Fact]
    public void Rolling_the_cache_back_and_feeding_other_tokens_matches_a_fresh_pass()
    {
        using var model = TestModels.Random();
        using var _ = no_grad();
        var a = TestModels.Tokens(2, 30);
        var b = TestModels.Tokens(3, 6);
        using var cache = model.CreateCache();
        model.Forward(a, cache);                       // 30 positions
        cache.Rollback(24);                            // forget the last 6 (a rejected draft)
        var resumed = model.Forward(b, cache);
        var fresh = model.Forward(cat([a.narrow(1, 0, 24), b], 1)).narrow(1, 24, 6);
        Assert.Equal(30, cache.Length);
        Assert.True(TestModels.MaxAbsDiff(fresh, resumed) < 1e-5);
    }

    [Fact]
    public void A_shallow_pass_leaves_deeper_layers_behind_and_a_full_pass_then_asks_for_a_rollback()
    {
        using var model = TestModels.Random();
        using var _ = no_grad();
        using var cache = model.CreateCache();
        model.Forward(TestModels.Tokens(4, 10), cache);
        model.Forward(TestModels.Tokens(5, 2), cache, exitAfter: 1);   // a one-layer draft of two tokens
        Assert.Equal(12, cache.Length);
        Assert.Equal(10, cache.LayerLength(2));
        var error = Assert.Throws<EfficientMLException>(() => model.Forward(TestModels.Tokens(6, 1), cache));
        Assert.Contains("Roll the cache back", error.Message);
        cache.Rollback(10);
        Assert.Equal(10, cache.LayerLength(0));
    }

    [Fact]
    public void Taps_see_the_embeddings_and_every_block_and_early_exit_uses_the_same_head()
    {
        using var model = TestModels.Random();
        using var _ = no_grad();
        var tokens = TestModels.Tokens(8, 12);
        var taps = new List<(int, Tensor)>();
        var full = model.Forward(tokens, tap: (i, h) => taps.Add((i, h)));
        Assert.Equal(new[] { 0, 1, 2, 3 }, taps.Select(t => t.Item1));
        Assert.True(TestModels.MaxAbsDiff(full, model.Logits(taps[^1].Item2)) < 1e-6);
        var early = model.Forward(tokens, exitAfter: 1);
        Assert.True(TestModels.MaxAbsDiff(early, model.Logits(taps[1].Item2)) < 1e-6);
        var states = model.HiddenStates(tokens);
        Assert.Equal(new long[] { 4, 1, 12, 32 }, states.shape);
    }

    [Theory]
    [InlineData(4, true)]
    [InlineData(2, false)]
    public void The_configuration_predicts_the_parameter_count(int kvHeads, bool tied)
    {
        var config = TestModels.Small(kvHeads, tied);
        using var model = new TinyGpt(config);
        Assert.Equal(config.ParameterCount, model.ParameterCount);
    }

    [Fact]
    public void The_same_seed_builds_the_same_weights()
    {
        using var a = TestModels.Random(seed: 11);
        using var b = TestModels.Random(seed: 11);
        using var c = TestModels.Random(seed: 12);
        var tokens = TestModels.Tokens(1, 8);
        using var _ = no_grad();
        Assert.Equal(0.0, TestModels.MaxAbsDiff(a.Forward(tokens), b.Forward(tokens)));
        Assert.NotEqual(0.0, TestModels.MaxAbsDiff(a.Forward(tokens), c.Forward(tokens)));
    }

    [Fact]
    public void A_tied_head_shares_the_embedding_matrix()
    {
        using var tied = TestModels.Random(TestModels.Small(tied: true));
        using var untied = TestModels.Random(TestModels.Small(tied: false));
        Assert.Null(tied.lm_head);
        Assert.NotNull(untied.lm_head);
        Assert.Equal(256L * 32, untied.ParameterCount - tied.ParameterCount);
    }

    [Theory]
    [InlineData(30, 4, 4, "multiple of Heads")]
    [InlineData(32, 4, 3, "multiple of KvHeads")]
    [InlineData(32, 0, 1, "Heads must be 1 to 32 (got 0)")]
    public void An_impossible_configuration_is_one_clear_error(int dim, int heads, int kvHeads, string expected)
    {
        var config = TestModels.Small() with { Dim = dim, Heads = heads, KvHeads = kvHeads };
        var error = Assert.Throws<InvalidSettingsException>(() => new TinyGpt(config));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Input_longer_than_the_context_is_a_clear_error()
    {
        using var model = TestModels.Random();
        var error = Assert.Throws<InvalidSettingsException>(() => model.Forward(TestModels.Tokens(1, 49)));
        Assert.Contains("context length 48", error.Message);
    }

    [Fact]
    public void Prompt_tokens_outside_the_vocabulary_are_rejected()
    {
        using var model = TestModels.Random();
        var error = Assert.Throws<InvalidSettingsException>(() => model.Generate([1, 300]));
        Assert.Contains("0..255", error.Message);
    }
}
