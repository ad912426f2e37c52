using EfficientML.Interactive;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive.Tests;

public class ExtensionLoadTests
{
    [Fact]
    public async Task Load_shows_one_output_with_version_device_threads_and_plotly_inline()
    {
        using var kernel = await TestKernel.StartAsync();
        var html = Assert.Single(TestKernel.Html(kernel.LoadResult));
        Assert.Contains("EfficientML", html);
        Assert.Contains("loaded", html);
        Assert.Contains($"device <code>{EfficientML.Core.Devices.Default}</code>", html);
        Assert.Contains("torch thread", html);
        Assert.Contains("plotly.js v" + ChartHtml.PlotlyVersion, html);
        Assert.True(html.Length > 3_000_000, "the whole plotly.js is inline");
        Assert.DoesNotContain("<script src", html); // nothing is fetched: no CDN, no require.js
    }

    [Fact]
    public async Task Loading_twice_is_harmless()
    {
        using var kernel = await TestKernel.StartAsync();
        int formatters = Formatter.RegisteredFormatters(includeDefaults: false).Count();
        int directives = kernel.Root.KernelInfo.SupportedDirectives.Count;

        var again = await kernel.SucceedAsync(TestKernel.LoadCode);

        Assert.Single(TestKernel.Html(again));
        Assert.Equal(formatters, Formatter.RegisteredFormatters(includeDefaults: false).Count());
        Assert.Equal(directives, kernel.Root.KernelInfo.SupportedDirectives.Count);
        await kernel.SucceedAsync("#!environment");
    }

    [Fact]
    public async Task The_magics_are_registered_with_descriptions()
    {
        using var kernel = await TestKernel.StartAsync();
        var magics = kernel.Root.KernelInfo.SupportedDirectives.OfType<KernelActionDirective>()
            .Where(d => d.Name is "#!environment" or "#!model" or "#!train" or "#!hyperclone" or "#!subclone" or "#!race" or "#!cluster" or "#!route" or "#!speculate").ToList();
        Assert.Equal(9, magics.Count);
        Assert.All(magics, d =>
        {
            Assert.False(string.IsNullOrWhiteSpace(d.Description), d.Name);
            Assert.All(d.Parameters, p => Assert.False(string.IsNullOrWhiteSpace(p.Description), $"{d.Name} {p.Name}"));
        });
    }

    [Fact]
    public async Task Csharp_cells_can_use_the_library_after_loading()
    {
        using var kernel = await TestKernel.StartAsync();
        var result = await kernel.SucceedAsync(
            "var m = new EfficientML.Models.TinyGpt(new EfficientML.Models.TinyGptConfig { Layers = 1, Dim = 16, Heads = 2, KvHeads = 2, MlpDim = 32, ContextLength = 32 }, seed: 1);\n" +
            "m.ParameterCount");
        Assert.Equal(TestKernel.TinyConfig.ParameterCount,
            Convert.ToInt64(TestKernel.ReturnValue(result)));
    }
}
