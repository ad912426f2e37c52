using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Prefill;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Tests;

/// <summary>KV-Runahead's invariant: the first-token logits and the KV cache equal single-process prefill.</summary>
[Trait("Category", "Invariant")] // run under every ATen CPU capability in CI (.ci/run)
public class PrefillTests
{
    static PrefillSummary Compare(TinyGpt model, int[] prompt, PrefillOptions options)
    {
        using var single = KvRunahead.Prefill(model, prompt, new PrefillOptions { Method = PrefillMethod.Single });
        using var run = KvRunahead.Prefill(model, prompt, options);
        Assert.Equal(prompt.Length, run.Cache!.Length);
        return PrefillSummary.Of(run, single);
    }

    public static TheoryData<int, int> Splits => new() { { 1, 1 }, { 2, 2 }, { 2, 3 }, { 3, 4 }, { 3, 5 } };

    [Theory]
    [MemberData(nameof(Splits))]
    public void Runahead_with_random_partitions_equals_single_process_prefill(int workers, int seed)
    {
        using var model = PretrainedModels.LoadTinyMoby();
        var prompt = PrefillModels.Prompt(model, 240);
        var random = new Random(seed);
        var shares = Enumerable.Range(0, workers).Select(_ => 0.2 + random.NextDouble()).ToArray();
        var chunks = Partitions.FromShares(shares, prompt.Length);
        var s = Compare(model, prompt, new PrefillOptions { Workers = workers, Partition = chunks });
        Assert.True(s.AgreesWithSingle(), $"[{string.Join(",", chunks)}]: logits differ by {s.MaxLogitDifference:E2}, cache by {s.MaxCacheDifference:E2} (scale {s.LogitScale:F1})");
        using var single = KvRunahead.Prefill(model, prompt, new PrefillOptions { Method = PrefillMethod.Single });
        Assert.Equal(single.FirstToken, s.FirstToken);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void All_gather_baseline_equals_single_process_prefill(int workers)
    {
        using var model = PretrainedModels.LoadTinyMoby();
        var s = Compare(model, PrefillModels.Prompt(model, 256), new PrefillOptions { Workers = workers, Method = PrefillMethod.AllGather });
        Assert.True(s.AgreesWithSingle(), $"logits differ by {s.MaxLogitDifference:E2}, cache by {s.MaxCacheDifference:E2}");
    }

    [Fact]
    public void In_float64_runahead_and_all_gather_equal_single_process_prefill_to_1e_10()
    {
        // In float64 rounding is 2^29 times finer: what is left of a difference is the algorithm's, and there is none.
        using var model = PretrainedModels.LoadTinyMoby();
        model.to(ScalarType.Float64);
        var prompt = PrefillModels.Prompt(model, 200);
        foreach (var options in new[]
                 {
                     new PrefillOptions { Workers = 3, Partition = [90, 70, 40] },
                     new PrefillOptions { Workers = 2, Method = PrefillMethod.AllGather },
                 })
        {
            var s = Compare(model, prompt, options);
            Assert.True(s.MaxLogitDifference <= 1e-10 && s.MaxCacheDifference <= 1e-10,
                $"{options.Method}: logits differ by {s.MaxLogitDifference:E2}, cache by {s.MaxCacheDifference:E2}");
        }
    }

    [Fact]
    public void Decoding_continues_from_the_last_workers_cache_exactly_as_from_the_prompt()
    {
        using var model = PretrainedModels.LoadTinyMoby();
        var prompt = PrefillModels.Prompt(model, 150);
        var options = new GenerationOptions { MaxNewTokens = 40 };
        var plain = model.Generate(prompt, options);
        using var run = KvRunahead.Prefill(model, prompt, new PrefillOptions { Workers = 2, Partition = [100, 50] });
        Assert.Equal(plain[0], run.FirstToken);
        Assert.Equal(plain, model.Generate(prompt, options, prefilled: run.Cache));
    }

    [Fact]
    public void Runahead_hands_on_the_prefix_and_its_chunk_at_every_layer()
    {
        using var model = PretrainedModels.LoadTinyMoby();
        var prompt = PrefillModels.Prompt(model, 120);
        using var run = KvRunahead.Prefill(model, prompt, new PrefillOptions { Workers = 3, Partition = [50, 40, 30] });
        long perPosition = 2L * model.Config.KvHeads * model.Config.HeadDim * sizeof(float);
        // Worker 0 sends 50 positions per layer, worker 1 sends 90; the last sends nothing.
        Assert.Equal(model.Config.Layers * (50 + 90) * perPosition, run.BytesSent);
        Assert.Equal(0, run.Workers[2].BytesSent);
        // Every later worker waited for its prefix at every layer, and everyone computed every layer.
        foreach (var w in run.Workers)
        {
            Assert.Equal(model.Config.Layers, w.Events.Count(e => e.Activity == Activity.Compute && e.Layer >= 0));
            Assert.Equal(w.Worker == 0 ? 0 : model.Config.Layers, w.Events.Count(e => e.Activity == Activity.Wait));
            Assert.All(w.Events, e => Assert.True(e.End >= e.Start));
        }
    }

    [Theory]
    [InlineData(0, null, 100, "1 to 64 workers")]
    [InlineData(2, new[] { 60, 30 }, 100, "sums to 90 tokens but the prompt has 100")]
    [InlineData(2, new[] { 100, 0 }, 100, "at least one token")]
    [InlineData(3, new[] { 50, 50 }, 100, "2 chunks for 3 workers")]
    [InlineData(2, null, 300, "context holds 256")]
    public void Bad_settings_get_one_clear_message(int workers, int[]? partition, int length, string expected)
    {
        using var model = PretrainedModels.LoadTinyMoby();
        var prompt = Enumerable.Repeat(65, length).ToArray();
        var e = Assert.Throws<InvalidSettingsException>(() => KvRunahead.Prefill(model, prompt, new PrefillOptions { Workers = workers, Partition = partition }));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void The_all_gather_baseline_refuses_a_partition()
    {
        using var model = PretrainedModels.LoadTinyMoby();
        var e = Assert.Throws<InvalidSettingsException>(() =>
            KvRunahead.Prefill(model, PrefillModels.Prompt(model, 100), new PrefillOptions { Method = PrefillMethod.AllGather, Partition = [70, 30] }));
        Assert.Contains("even chunks", e.Message);
    }
}
