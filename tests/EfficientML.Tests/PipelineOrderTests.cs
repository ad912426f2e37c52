using EfficientML.Core;
using EfficientML.Pipeline;

namespace EfficientML.Tests;

public sealed class PipelineOrderTests
{
    static DeploymentPipeline Tiny() => new(TestModels.Random(TestModels.Small(), seed: 3), ComposedTinyModel.Corpus.Value, PipelineOptions.For(quick: true));

    [Theory]
    [InlineData("cluster,grow", "Step 'grow' cannot come after 'cluster'")]
    [InlineData("route,train", "Step 'train' cannot come after 'route'")]
    [InlineData("decode,draft", "Step 'draft' cannot come after 'decode'")]
    [InlineData("export,decode", "export writes the finished model")]
    [InlineData("grow,grow", "is listed twice")]
    [InlineData("grow,shrink", "There is no pipeline step 'shrink'. The steps are grow, train, draft, route, cluster, decode, export.")]
    public void An_order_that_cannot_work_is_refused_with_one_message_before_any_work(string steps, string message)
    {
        using var pipeline = Tiny();
        var error = Assert.Throws<InvalidSettingsException>(() => pipeline.Run(steps.Split(',')));
        Assert.Contains(message, error.Message);
        Assert.Empty(pipeline.Measurements);
        Assert.Empty(pipeline.State.Done);
    }

    [Fact]
    public void A_pipeline_resumes_with_the_remaining_steps_and_refuses_to_repeat_one()
    {
        using var pipeline = Tiny();
        pipeline.Run(["grow", "draft"]);
        Assert.Equal(["start", "grow", "draft"], pipeline.Measurements.Select(m => m.Step));
        Assert.Equal(["train", "route", "cluster", "decode", "export"], pipeline.Remaining);
        var error = Assert.Throws<InvalidSettingsException>(() => pipeline.Run(["grow"]));
        Assert.Contains("has already run on this model", error.Message);
        pipeline.Run(["decode"]);
        Assert.Equal(4, pipeline.Measurements.Count);
        Assert.Throws<InvalidSettingsException>(() => pipeline.Run(["cluster"]));   // cluster cannot follow decode
    }

    [Fact]
    public void Your_own_function_can_be_a_step()
    {
        using var pipeline = Tiny();
        var halve = new PipelineStep("halve-lr", "a custom step", "none", (state, _) =>
            new StepWork("did nothing to the model", 0, [new InvariantCheck("target unchanged", state.Target.ParameterCount > 0, "yes")], []));
        var measured = pipeline.Run([halve]);
        Assert.Equal(["start", "halve-lr"], measured.Select(m => m.Step));
        Assert.Equal(measured[0].ValidationBits, measured[1].ValidationBits);
        Assert.Equal(measured[0].DiskBytes, measured[1].DiskBytes);
    }

    [Fact]
    public void A_one_layer_model_decodes_with_its_draft_model_and_says_why_there_is_no_m2r2()
    {
        using var pipeline = new DeploymentPipeline(TestModels.Random(TestModels.Small(layers: 1), seed: 4), ComposedTinyModel.Corpus.Value, PipelineOptions.For(quick: true));
        var decode = pipeline.Run(["draft", "decode"])[^1];
        Assert.Contains(decode.Notes, n => n.Contains("no M2R2"));
        Assert.Equal(["plain greedy (KV cache)", "draft model"], pipeline.Interactions.Race!.Select(l => l.Method));
        Assert.All(decode.Invariants, i => Assert.True(i.Passed, i.Detail));
        Assert.Null(pipeline.State.Adapters);
    }

    [Fact]
    public void The_cluster_step_compares_other_bit_widths_on_copies_and_keeps_its_own()
    {
        using var pipeline = new DeploymentPipeline(TestModels.Random(TestModels.Small(), seed: 8), ComposedTinyModel.Corpus.Value,
            PipelineOptions.For(quick: true) with { Bits = 4, CompareBits = [2] });
        pipeline.Run(["cluster"]);
        var widths = pipeline.Interactions.BitWidths;
        Assert.Equal([2, 4], widths.Select(v => v.Bits));
        Assert.True(widths[0].PaletteBytes < widths[1].PaletteBytes);
        Assert.True(widths[0].BitsPerClusteredWeight < widths[1].BitsPerClusteredWeight);
        Assert.Equal(4, pipeline.State.Palettized!.Palettes.Values.First().Bits);
        Assert.Equal(pipeline.Measurements[^1].DiskBytes, widths[1].PaletteBytes);
    }

    [Theory]
    [InlineData(0, 4, 0.02, "Bits must be 1 to 8")]
    [InlineData(2, 1, 0.02, "GrowFactor must be 2 to 8")]
    [InlineData(4, 2, 1.5, "LossBudget must lie in 0..1")]
    public void Bad_options_give_one_clear_message(int bits, int grow, double budget, string message)
    {
        var options = PipelineOptions.For(quick: true) with { Bits = bits, GrowFactor = grow, LossBudget = budget };
        var error = Assert.Throws<InvalidSettingsException>(() => new DeploymentPipeline(TestModels.Random(), ComposedTinyModel.Corpus.Value, options));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void The_card_needs_a_run_first()
    {
        using var pipeline = Tiny();
        Assert.Contains("Run at least one step", Assert.Throws<InvalidSettingsException>(() => pipeline.Card()).Message);
    }

    [Fact]
    public void Peak_resident_memory_sees_an_allocation_that_is_freed_before_the_work_returns()
    {
        var (_, baseline) = PeakResidentMemory.Measure(() => 0);
        var (sum, peak) = PeakResidentMemory.Measure(() =>
        {
            var block = GC.AllocateUninitializedArray<byte>(400_000_000);
            for (int i = 0; i < block.Length; i += 4096) block[i] = 1;              // touch every page
            long s = 0;
            for (int i = 0; i < block.Length; i += 4096) s += block[i];
            return s;
        });
        GC.Collect();
        Assert.Equal(400_000_000 / 4096 + 1, sum);
        Assert.True(peak >= baseline + 300_000_000, $"peak {peak:N0}, baseline {baseline:N0}");
    }
}
