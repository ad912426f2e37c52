using EfficientML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Tests;

/// <summary>
/// The lean cached decode step (fused q/k/v projection written straight into the cache, no mask for one token, grouped
/// heads folded instead of copied) against the plain full forward pass, which runs without a cache.
/// </summary>
[Trait("Category", "Invariant")] // run under every ATen CPU capability in CI (.ci/run)
public class CachedDecodingTests
{
    static TinyGpt Model(int kvHeads, bool tied, long seed = 31)
    {
        var model = TestModels.Random(TestModels.Small(kvHeads, tied), seed);
        TestModels.Scramble(model, seed);
        return model;
    }

    static int[] Prompt(long seed, int length) => TestModels.Tokens(seed, length).data<long>().Select(t => (int)t).ToArray();

    /// <summary>Full-forward logits (V) of the token after <paramref name="tokens"/>, with no cache.</summary>
    static Tensor FullLogits(TinyGpt model, IReadOnlyList<int> tokens)
    {
        using var _ = no_grad();
        return model.Forward(tensor(tokens.Select(t => (long)t).ToArray()).unsqueeze(0))[0, -1];
    }

    /// <summary>
    /// Greedy decoding one token at a time through <paramref name="cache"/> (the prompt fed as one piece first), as
    /// <see cref="TinyGpt.Generate"/> decodes; checks every step's logits against the full forward pass.
    /// </summary>
    static List<int> DecodeAndCompare(TinyGpt model, KvCache cache, int[] prompt, int newTokens)
    {
        var tokens = new List<int>(prompt);
        for (int i = 0; i < newTokens; i++)
        {
            using var scope = NewDisposeScope();
            Tensor cached;
            using (inference_mode())
            {
                var feed = tokens.Skip(cache.Length).Select(t => (long)t).ToArray();
                cached = model.Logits(model.Hidden(tensor(feed).unsqueeze(0), cache).select(1, -1))[0];
            }
            var full = FullLogits(model, tokens);
            double relative = TestModels.MaxRelativeDiff(full, cached);
            Assert.True(relative < 1e-5, $"step {i}: logits differ by {relative:E2} (relative)");
            long next = cached.argmax().item<long>();
            Assert.Equal(full.argmax().item<long>(), next);
            tokens.Add((int)next);
        }
        return tokens.Skip(prompt.Length).ToList();
    }

    [Theory]
    [InlineData(4, true)]
    [InlineData(4, false)]
    [InlineData(2, true)]   // grouped-query attention
    [InlineData(2, false)]
    [InlineData(1, false)]  // multi-query
    public void Cached_greedy_steps_give_the_tokens_and_logits_of_the_full_forward(int kvHeads, bool tied)
    {
        using var model = Model(kvHeads, tied);
        using var cache = model.CreateCache();
        var prompt = Prompt(3, 9);
        var decoded = DecodeAndCompare(model, cache, prompt, 30);
        Assert.Equal(decoded, model.Generate(prompt, new GenerationOptions { MaxNewTokens = 30 }));
        Assert.Equal(decoded, model.Generate(prompt, new GenerationOptions { MaxNewTokens = 30, UseCache = false }));
    }

    [Theory]
    [InlineData(4, true)]
    [InlineData(2, false)]
    public void Generation_past_the_context_window_equals_the_full_forward_of_the_window_the_cache_holds(int kvHeads, bool tied)
    {
        using var model = Model(kvHeads, tied, seed: 32);
        var prompt = Prompt(4, 12);
        var generated = model.Generate(prompt, new GenerationOptions { MaxNewTokens = 100 });
        // The cache's window rule: when it would overflow, it restarts from the newest half-window.
        int window = model.Config.ContextLength, cacheStart = 0;
        var tokens = new List<int>(prompt);
        for (int i = 0; i < 100; i++)
        {
            if (tokens.Count - cacheStart > window) cacheStart = tokens.Count - window / 2;
            tokens.Add((int)FullLogits(model, tokens.Skip(cacheStart).ToList()).argmax().item<long>());
        }
        Assert.True(cacheStart > 0, "the window never slid");
        Assert.Equal(tokens.Skip(prompt.Length), generated);
    }

    [Theory]
    [InlineData(4, true)]
    [InlineData(2, false)]
    public void A_reset_or_rolled_back_cache_decodes_as_a_fresh_one(int kvHeads, bool tied)
    {
        using var model = Model(kvHeads, tied, seed: 33);
        using var cache = model.CreateCache();
        var first = DecodeAndCompare(model, cache, Prompt(5, 6), 12);
        cache.Reset();
        var second = DecodeAndCompare(model, cache, Prompt(6, 4), 20);
        using (var fresh = model.CreateCache())
            Assert.Equal(second, DecodeAndCompare(model, fresh, Prompt(6, 4), 20));
        cache.Rollback(9);                                                     // keep the prompt and 5 decoded tokens; feed the 6th again
        var resumed = DecodeAndCompare(model, cache, Prompt(6, 4).Concat(second.Take(6)).ToArray(), 14);
        Assert.Equal(second.Skip(6), resumed);
        Assert.NotEqual(first, second.Take(12).ToList());
    }

    [Fact]
    public void Multi_token_pieces_after_a_prefix_match_the_full_forward_with_grouped_heads()
    {
        using var model = Model(2, false, seed: 34);
        var tokens = TestModels.Tokens(7, 40);
        Tensor full, stitched;
        using (no_grad()) full = model.Forward(tokens);
        using var cache = model.CreateCache();
        using (inference_mode())
            stitched = cat(new[] { (0, 1), (1, 12), (13, 1), (14, 4), (18, 22) }
                .Select(p => model.Forward(tokens.narrow(1, p.Item1, p.Item2), cache)).ToArray(), 1);
        Assert.True(TestModels.MaxRelativeDiff(full, stitched) < 1e-5, $"relative difference {TestModels.MaxRelativeDiff(full, stitched):E2}");
    }

    [Fact]
    public void A_cached_pass_with_gradients_on_stores_the_same_keys_and_values_as_the_lean_step()
    {
        using var model = Model(2, true, seed: 35);
        var tokens = TestModels.Tokens(8, 20);
        using var withGrad = model.CreateCache();
        using var lean = model.CreateCache();
        var a = model.Forward(tokens.narrow(1, 0, 15), withGrad);                 // the training-capable path
        var b = model.Forward(tokens.narrow(1, 15, 5), withGrad);
        using (no_grad())
        {
            var c = model.Forward(tokens.narrow(1, 0, 15), lean);
            var d = model.Forward(tokens.narrow(1, 15, 5), lean);
            Assert.True(TestModels.MaxRelativeDiff(cat([a, b], 1), cat([c, d], 1)) < 1e-5);
        }
        for (int l = 0; l < model.Config.Layers; l++)
        {
            var (k1, v1) = withGrad.Layer(l);
            var (k2, v2) = lean.Layer(l);
            Assert.True(TestModels.MaxRelativeDiff(k1, k2) < 1e-5 && TestModels.MaxRelativeDiff(v1, v2) < 1e-5, $"layer {l}");
        }
    }

    [Fact]
    public void Training_between_generations_updates_the_separate_projections_and_the_next_generation_uses_them()
    {
        using var model = Model(2, true, seed: 36);
        var prompt = Prompt(9, 8);
        var before = model.Generate(prompt, new GenerationOptions { MaxNewTokens = 20 });
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Equal(model.Config.TensorShapes().Keys.OrderBy(n => n), names.OrderBy(n => n));   // nothing fused was registered
        // One optimizer step on the attention's own parameters.
        var attention = model.blocks[0].attn;
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.5);
        var tokens = TestModels.Tokens(10, 24);
        model.train();
        var loss = model.Loss(tokens.narrow(1, 0, 23), tokens.narrow(1, 1, 23));
        loss.backward();
        Assert.NotNull(attention.q_proj.weight!.grad);
        Assert.NotNull(attention.k_proj.weight!.grad);
        Assert.NotNull(attention.v_proj.weight!.grad);
        optimizer.step();
        model.eval();
        var after = model.Generate(prompt, new GenerationOptions { MaxNewTokens = 20 });
        Assert.Equal(model.Generate(prompt, new GenerationOptions { MaxNewTokens = 20, UseCache = false }), after);
        Assert.NotEqual(before, after);
    }

    [Fact]
    public void Weights_changed_in_place_are_read_when_the_cache_starts_again()
    {
        using var model = Model(4, true, seed: 37);
        using var cache = model.CreateCache();
        DecodeAndCompare(model, cache, Prompt(11, 5), 8);
        TestModels.Scramble(model, 99);                                        // new values in the same parameter tensors
        cache.Reset();
        DecodeAndCompare(model, cache, Prompt(11, 5), 8);                     // compares with the new weights' full forward
    }

    [Fact]
    public void A_replaced_query_projection_is_read_by_the_next_cached_step()
    {
        using var model = Model(4, true, seed: 38);
        using var cache = model.CreateCache();
        var prompt = Prompt(12, 6);
        var decoded = DecodeAndCompare(model, cache, prompt, 4);
        // The last block's query projection changes no key or value (they come from its input), so the cache stays valid.
        var q = model.blocks[^1].attn.q_proj;
        using (no_grad()) q.weight = new TorchSharp.Modules.Parameter(q.weight!.detach().clone() * 1.7);
        DecodeAndCompare(model, cache, prompt.Concat(decoded).ToArray(), 6);
    }

    [Fact]
    public void A_cache_made_in_inference_mode_works_outside_it()
    {
        using var model = Model(2, true, seed: 39);
        KvCache cache;
        using (inference_mode()) cache = model.CreateCache();
        using (cache)
        using (no_grad())
        {
            var tokens = TestModels.Tokens(13, 10);
            var logits = model.Forward(tokens, cache);
            Assert.True(TestModels.MaxRelativeDiff(model.Forward(tokens), logits) < 1e-5);
        }
    }
}
