using EfficientML.Cloning;
using EfficientML.Models;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Events;

namespace EfficientML.Interactive.Tests;

public class HypercloneMagicTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    [Fact]
    public async Task Hyperclone_shares_the_grown_model_and_the_report_and_shows_both_weights()
    {
        await Kernel.SucceedAsync($"#!model --name small {TestKernel.TinyModelOptions}");
        var result = await Kernel.SucceedAsync("#!hyperclone --model small --factor 2");

        var grown = Kernel.Model("small_x2");
        Assert.Equal(HyperCloning.GrownConfig(TestKernel.TinyConfig, 2), grown.Config);
        Assert.Same(grown, TestKernel.ReturnValue(await Kernel.SucceedAsync("small_x2")));
        Assert.Equal(32, TestKernel.ReturnValue(await Kernel.SucceedAsync("small_x2.Config.Dim")));
        var report = Assert.IsType<CloneReport>(TestKernel.ReturnValue(await Kernel.SucceedAsync("cloneReport")));
        Assert.True(report.PreservesFunction, report.ToString());
        Assert.Null(report.NoiseSnrDb);

        var html = TestKernel.Html(result);
        Assert.Equal(2, html.Count);
        Assert.Contains("✓ same function", html[0]);
        Assert.Contains("efml-weight-tiling", html[1]);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(html[1], "\"type\":\"heatmap\"").Count);
        Assert.Contains("<code>blocks.0.mlp.fc.weight</code>", html[1]);
        Assert.Contains("source [32×16]", html[1]);
        Assert.Contains("grown ×2 [64×32]", html[1]);
    }

    [Fact]
    public async Task Hyperclone_takes_noise_names_and_the_weight_to_show()
    {
        await Kernel.SucceedAsync($"#!model --name noisy {TestKernel.TinyModelOptions}");
        var result = await Kernel.SucceedAsync("#!hyperclone --model noisy --factor 3 --noise-db 10 --seed 5 --name wide --report wideReport --weight blocks.0.attn.q_proj.weight");
        Assert.Equal(48, Kernel.Model("wide").Config.Dim);
        var report = Assert.IsType<CloneReport>(TestKernel.ReturnValue(await Kernel.SucceedAsync("wideReport")));
        Assert.Equal(10, report.NoiseSnrDb);
        Assert.Equal(3, report.WidthFactor);
        Assert.True(report.PreservesFunction, report.ToString());
        Assert.Contains("<code>blocks.0.attn.q_proj.weight</code>", TestKernel.Html(result)[1]);
        Assert.Contains("grown ×3 [48×48]", TestKernel.Html(result)[1]);
    }

    [Theory]
    [InlineData("--factor 2.5", "--factor takes a whole number (2 to 64) (got '2.5')")]
    [InlineData("--factor 1", "--factor must be 2 to 64 (got 1): HyperCloning tiles whole copies")]
    [InlineData("--factor two", "--factor takes a whole number (2 to 64) (got 'two')")]
    [InlineData("--factor 2 --noise-db loud", "--noise-db takes a number (-100 to 200) (got 'loud')")]
    [InlineData("--factor 2 --name 2wide", "--name '2wide' is not a usable C# variable name")]
    [InlineData("--factor 2 --weight blocks.9.mlp.fc.weight", "no parameter named 'blocks.9.mlp.fc.weight'. Some that it has: wte.weight")]
    public async Task A_bad_hyperclone_option_gives_one_clear_error_and_the_kernel_keeps_working(string options, string expected)
    {
        await Kernel.SucceedAsync($"#!model --name origin {TestKernel.TinyModelOptions}");
        var message = TestKernel.SingleFailure(await Kernel.SubmitAsync($"#!hyperclone --model origin {options}"));
        Assert.Contains(expected, message);
        Assert.DoesNotContain("   at ", message);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
        Assert.Equal(16, Kernel.Model("origin").Config.Dim);
    }

    [Fact]
    public async Task Hyperclone_without_a_factor_says_it_needs_one()
    {
        await Kernel.SucceedAsync($"#!model --name nofactor {TestKernel.TinyModelOptions}");
        var message = TestKernel.SingleFailure(await Kernel.SubmitAsync("#!hyperclone --model nofactor"));
        Assert.Contains("#!hyperclone needs --factor N", message);
        Assert.Contains("e.g. --factor 2", message);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
    }

    [Fact]
    public async Task Model_names_complete_after_the_model_option_of_hyperclone()
    {
        await Kernel.SucceedAsync($"#!model --name growable {TestKernel.TinyModelOptions}");
        var code = "#!hyperclone --model ";
        var result = await Kernel.Root.SendAsync(new RequestCompletions(code, new LinePosition(0, code.Length)));
        var names = result.Events.OfType<CompletionsProduced>().Single().Completions.Select(c => c.DisplayText).ToList();
        Assert.Contains("growable", names);
    }
}
