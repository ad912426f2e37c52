using EfficientML.GatedConformer;

namespace EfficientML.Interactive.Tests;

public class GatedMagicTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    [Fact]
    public async Task Gated_trains_both_spotters_and_gates_draws_a_stream_through_either()
    {
        await Kernel.SucceedAsync("bool quick = true;");
        var trained = await Kernel.SucceedAsync("#!gated --model gm --baseline cm --report gr");
        var html = string.Join("\n", TestKernel.Html(trained));
        Assert.Contains("Quick mode", html);
        Assert.Contains("Gated vs ungated conformer", html);
        Assert.Contains("modules skipped on noise only", html);
        Assert.Contains("which modules ran", html);
        Assert.Contains("\"type\":\"heatmap\"", html);
        var report = Assert.IsType<GatedReport>(TestKernel.ReturnValue(await Kernel.SucceedAsync("gr")));
        Assert.Equal(0, report.Ungated.SkippedOnNoise);
        Assert.Same(report.GatedModel, TestKernel.ReturnValue(await Kernel.SucceedAsync("gm")));

        var streamed = await Kernel.SucceedAsync("#!gates --model gm --input noise --seconds 4 --gating skip --name skipRun");
        Assert.Contains("of module runs skipped", string.Join("\n", TestKernel.Html(streamed)));
        var run = Assert.IsType<GateRun>(TestKernel.ReturnValue(await Kernel.SucceedAsync("skipRun")));
        Assert.Equal(1.0, run.Output.SkippedShare);
        Assert.Equal(StreamKind.Noise, run.Kind);
        Assert.Equal(GateMode.Learned, report.GatedModel.Gating);          // the magic puts the model's gating back
        // A gate threshold for one recording: higher skips at least as much, lower at most as much; the model keeps its own.
        async Task<double> Skipped(string threshold) => Assert.IsType<GateRun>(TestKernel.ReturnValue(await Kernel.SucceedAsync(
            $"#!gates --model gm --input speech --seconds 4 --seed 3 {threshold} --name thresholdRun\nthresholdRun"))).Output.SkippedShare;
        double atDefault = await Skipped(""), high = await Skipped("--gate-threshold 0.999"), low = await Skipped("--gate-threshold 0.001");
        Assert.True(low <= atDefault && atDefault <= high, $"skipped {low:P0} at 0.001, {atDefault:P0} at the default, {high:P0} at 0.999");
        Assert.True(low < high, "quick-trained gates should not all be that sure");
        Assert.Equal(0.5, report.GatedModel.GateThreshold);
        var plain = Assert.IsType<GateRun>(TestKernel.ReturnValue(await Kernel.SucceedAsync(
            "#!gates --model cm --input speech --seconds 6 --chunk 30 --name plainRun\nplainRun")));
        Assert.Equal(0, plain.Output.SkippedShare);
        Assert.NotEmpty(plain.Events);

        foreach (var (line, message) in new[]
        {
            ("#!gates", "#!gates needs --model NAME"),
            ("#!gates --model nothing", "No conformer spotter named 'nothing'"),
            ("#!gates --model gm --input music", "--input is speech, noise or silence (got 'music')"),
            ("#!gates --model gm --gating sometimes", "--gating is learned, keep or skip"),
            ("#!gates --model gm --chunk 0", "--chunk must be 10 to 10,000"),
            ("#!gates --model gm --seconds 1", "--seconds must be 3 to 600"),
            ("#!gates --model gm --gate-threshold 1", "--gate-threshold must be 0.001 to 0.999"),
            ("#!gated --cost-target 1.5", "--cost-target must be 0 to 1 (got 1.5)"),
            ("#!gated --speech-pull -11", "--speech-pull must be -10 to 10"),
            ("#!gated --distill 2", "--distill must be 0 to 1"),
            ("#!gated --gate-decay -0.1", "--gate-decay must be 0 to 10"),
            ("#!gated --gate-context 9", "--gate-context must be 0 to 8"),
            ("#!gated --model same --baseline same", "three different names"),
        })
            Assert.Contains(message, TestKernel.SingleFailure(await Kernel.SubmitAsync(line)));
    }
}
